"""A bounded Schemathesis run against a real gateway (master key, the bundled emulator behind it), driven by the
document the gateway serves at /openapi.json.

Every operation gets positive and negative examples; stored responses and team keys are also walked statefully
through the document's links (create, then read, list input items, delete; create, then read, change, rotate,
revoke). Every answer below 500 must conform to the document (status, content type, headers, body); a separate
test asks for no 5xx at all, expected to fail (not strictly) on the operations with a known 5xx until they are
fixed.
"""

from __future__ import annotations

import copy
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

from conftest import GatewayFactory
from servers import ServerThread

pytestmark = pytest.mark.e2e
KEY = "gw-master-key"
EXAMPLES = 12
"""Examples per operation and test; with both modes and the stateful walks, about 1,000 requests in all."""
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
# The 5xx the issue reported (deep JSON on chat, Responses and POST /admin/keys, a list as a Responses item's
# role, `by=key,key` on /admin/usage): their fixes are under way.
KNOWN_5XX = ("createChatCompletion", "createResponse", "createKey", "listKeys", "usageReport")
# Served by the bundled emulator, by kind: generation aims its `model` at these (and negative examples elsewhere).
MODELS = {
    "ChatCompletionRequest": ["openai.gpt-oss-120b", "meta.llama-3.3-70b-instruct", "xai.grok-3"],
    "ResponseRequest": ["openai.gpt-oss-120b", "meta.llama-3.3-70b-instruct", "xai.grok-3"],
    "EmbeddingRequest": ["cohere.embed-v4.0", "cohere.embed-english-light-v3.0"],
    "RerankRequest": ["cohere.rerank-v3.5"],
}


@pytest.fixture(scope="module")
def fuzzed(gateway_factory: GatewayFactory) -> ServerThread:
    # A short request budget bounds what one odd request can cost in upstream retries.
    server, _ = gateway_factory({"OCIGATE_MASTER_KEY": KEY, "OCIGATE_REQUEST_BUDGET": "5"})
    return server


def _steered(document: dict[str, Any]) -> dict[str, Any]:
    steered = copy.deepcopy(document)
    schemas = steered["components"]["schemas"]
    for name, models in MODELS.items():
        schemas[name]["properties"]["model"] = {"type": "string", "enum": models}
    return steered


# Loaded at collection, when no gateway runs yet: each test sends to the fixture's gateway, and the first test
# checks that the gateway serves this very document.
api = schemathesis.openapi.from_dict(_steered(openapi_document()))
api.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
AUTH = {"Authorization": f"Bearer {KEY}"}


def test_the_gateway_serves_the_document(fuzzed: ServerThread) -> None:
    answer = httpx.get(f"{fuzzed.url}/openapi.json", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json() == openapi_document()


@api.parametrize()
@BOUNDED
def test_every_answer_below_500_conforms_to_the_document(case: schemathesis.Case, fuzzed: ServerThread) -> None:
    response = case.call(base_url=fuzzed.url, headers=AUTH, timeout=30)
    if response.status_code >= 500:
        return  # the tests below report these
    case.validate_response(response, checks=CONFORMANCE)


@api.exclude(operation_id=list(KNOWN_5XX)).parametrize()
@BOUNDED
def test_no_operation_answers_5xx(case: schemathesis.Case, fuzzed: ServerThread) -> None:
    case.call_and_validate(base_url=fuzzed.url, headers=AUTH, checks=[not_a_server_error], timeout=30)


@pytest.mark.xfail(strict=False, reason="known 5xx of issue 11 (deep JSON, Responses item roles, by=key,key)")
@api.include(operation_id=list(KNOWN_5XX)).parametrize()
@BOUNDED
def test_the_operations_with_known_5xx_answer_no_5xx(case: schemathesis.Case, fuzzed: ServerThread) -> None:
    case.call_and_validate(base_url=fuzzed.url, headers=AUTH, checks=[not_a_server_error], timeout=30)


def test_stored_responses_and_keys_statefully(gateway_factory: GatewayFactory) -> None:
    """Walks the document's links on a gateway of its own (no circuit opened by the tests above): a response
    created, then read, its input items listed, deleted; a key created, then read, changed, rotated, revoked.
    Every answer below 500 conforms; a 5xx fails the test unless it is one of the known ones."""
    server, _ = gateway_factory({"OCIGATE_MASTER_KEY": KEY, "OCIGATE_REQUEST_BUDGET": "5"})
    walked = schemathesis.openapi.from_dict(_steered(openapi_document()))
    walked.config.generation.update(modes=[GenerationMode.POSITIVE])
    server_errors: list[str] = []

    class Walk(walked.include(path_regex="^/(v1/responses|admin/keys)").as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": server.url, "headers": AUTH, "timeout": 30}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            if response.status_code >= 500:
                server_errors.append(f"{case.operation.definition.raw.get('operationId')}: {response.status_code}")
                return
            case.validate_response(response, checks=CONFORMANCE)

    Walk.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    unknown = [error for error in server_errors if error.split(":")[0] not in KNOWN_5XX]
    assert unknown == []
    if server_errors:
        pytest.xfail(f"known 5xx of issue 11: {sorted(set(server_errors))}")
