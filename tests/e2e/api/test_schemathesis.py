"""A bounded Schemathesis run against a real gateway (master key, the bundled emulator behind it), driven by the
OpenAPI document the gateway serves at /openapi.json.

Every operation gets positive and negative examples (and the document's own examples); stored responses and
team keys are also walked statefully through the document's links (a response created, read, its input items
listed, deleted; a key created, read, changed, rotated, revoked). Every answer below 500 must conform to the
document: status, content type, headers, body, stream events; and no operation answers a 5xx.

Bounded: a dozen examples per operation and test, about 1,000 requests, derandomized so that every run sends the
same requests; and a time limit for the whole module, past which the remaining examples are skipped (and say so).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ocigate.api.openapi import openapi_document
from tests.support.servers import GatewayFactory, ServerThread

pytestmark = pytest.mark.e2e
KEY = "gw-master-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES = 12
TIME_LIMIT_S = 600.0
"""For the module; a run takes about 2 minutes on two cores."""
REQUEST_TIMEOUT_S = 15.0
GATEWAY_ENV = {"OCIGATE_MASTER_KEY": KEY, "OCIGATE_REQUEST_BUDGET": "5"}  # bounds one request's upstream retries
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure here is the code's, not the dice's
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
CONFORMANCE = [status_code_conformance, content_type_conformance, response_headers_conformance]
CONFORMANCE.append(response_schema_conformance)
# Served by the bundled emulator, by kind: positive examples aim their `model` at these.
MODELS = {
    "ChatCompletionRequest": ["openai.gpt-oss-120b", "meta.llama-3.3-70b-instruct", "xai.grok-3"],
    "ResponseRequest": ["openai.gpt-oss-120b", "meta.llama-3.3-70b-instruct", "xai.grok-3"],
    "EmbeddingRequest": ["cohere.embed-v4.0", "cohere.embed-english-light-v3.0"],
    "RerankRequest": ["cohere.rerank-v3.5"],
    "MessagesRequest": ["openai.gpt-oss-120b", "meta.llama-3.3-70b-instruct", "xai.grok-3"],
    "MessagesCountRequest": ["openai.gpt-oss-120b", "meta.llama-3.3-70b-instruct"],
}
_ends = [float("inf")]
"""When the module's time limit runs out: set as its first test starts."""


def _steered(document: dict[str, Any], *, kept: bool = False) -> dict[str, Any]:
    """The document with the models this gateway serves; ``kept``: every created response stored and answered as
    JSON, so that the walks' links (an id from the body) lead somewhere whatever the dice chose."""
    steered = copy.deepcopy(document)
    schemas = steered["components"]["schemas"]
    for name, models in MODELS.items():
        schemas[name]["properties"]["model"] = {"type": "string", "enum": models}
    if kept:
        schemas["ResponseRequest"]["properties"]["store"] = {"type": "boolean", "enum": [True]}
        schemas["ResponseRequest"]["properties"]["stream"] = {"type": "boolean", "enum": [False]}
    return steered


@pytest.fixture(scope="module", autouse=True)
def _time_limit() -> None:
    _ends[0] = time.monotonic() + TIME_LIMIT_S


def _within_time_limit() -> None:
    if time.monotonic() > _ends[0]:
        pytest.skip(f"the run's time limit ({TIME_LIMIT_S:.0f} s) was reached")


# Loaded at collection, when no gateway runs yet: each test sends to the fixture's gateway, and the first test
# checks that the gateway serves this very document.
api = schemathesis.openapi.from_dict(_steered(openapi_document()))
api.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(scope="module")
def fuzzed(gateway_factory: GatewayFactory) -> ServerThread:
    server, _ = gateway_factory(GATEWAY_ENV)
    return server


def _call(case: schemathesis.Case, gateway: ServerThread) -> schemathesis.Response:
    _within_time_limit()
    return case.call(base_url=gateway.url, headers=AUTH, timeout=REQUEST_TIMEOUT_S)


def test_the_gateway_serves_the_document(fuzzed: ServerThread) -> None:
    answer = httpx.get(f"{fuzzed.url}/openapi.json", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == openapi_document()


@api.parametrize()
@BOUNDED
def test_every_answer_below_500_conforms_to_the_document(case: schemathesis.Case, fuzzed: ServerThread) -> None:
    response = _call(case, fuzzed)
    if response.status_code < 500:  # 5xx: the tests below
        case.validate_response(response, checks=CONFORMANCE)


@api.parametrize()
@BOUNDED
def test_no_operation_answers_5xx(case: schemathesis.Case, fuzzed: ServerThread) -> None:
    case.validate_response(_call(case, fuzzed), checks=[not_a_server_error])


@pytest.fixture(scope="module")
def walked(gateway_factory: GatewayFactory) -> ServerThread:
    """A gateway of its own for the stateful walks: no circuit opened by the tests above."""
    server, _ = gateway_factory(GATEWAY_ENV)
    return server


WALKS = {
    "stored responses": ("^/v1/responses", {"createResponse", "getResponse", "listInputItems", "deleteResponse"}),
    "team keys": ("^/admin/keys", {"createKey", "getKey", "updateKey", "rotateKey", "revokeKey"}),
}


@pytest.mark.parametrize("walk", WALKS)
def test_statefully(walk: str, walked: ServerThread) -> None:
    """Positive examples, chained by the document's links: the walks must reach every linked operation with a
    success, every answer below 500 conforms, and a 5xx fails the test."""
    paths, linked = WALKS[walk]
    schema = schemathesis.openapi.from_dict(_steered(openapi_document(), kept=True))
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    answered: Counter[tuple[str, int]] = Counter()

    class Walk(schema.include(path_regex=paths).as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            _within_time_limit()
            return {"base_url": walked.url, "headers": AUTH, "timeout": REQUEST_TIMEOUT_S}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            answered[(case.operation.definition.raw["operationId"], response.status_code)] += 1
            if response.status_code < 500:
                case.validate_response(response, checks=CONFORMANCE)

    Walk.run(settings=settings(BOUNDED, stateful_step_count=6))
    succeeded = {operation for (operation, status) in answered if status < 300}
    assert linked <= succeeded, f"never reached with a success: {sorted(linked - succeeded)}; {dict(answered)}"
    server_errors = sorted({f"{op} {status}" for (op, status) in answered if status >= 500})
    assert server_errors == []
