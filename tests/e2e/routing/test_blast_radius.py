"""One key's malformed requests must not take the gateway away from everyone (issue 11, finding 8).

Before: a body with ``"role": ["user"]`` crashed the emulator (500, where Oracle answers 400), the gateway retried
it, five of them opened the deployment's circuit and the master key then got ``503 circuit_open`` for 30 s; a
429 or 408 that one key's burst provokes counted towards the circuit too. Now no upstream 4xx counts
(``routing.breaker.counts_as_failure``), the emulator answers such shapes 400 as Oracle does, and validation
(``ocigate.schemas``) refuses them before dispatch.

- The breaker part runs on the routing unit fakes and holds on its own.
- The fuzz part sends a bounded, seeded run of malformed bodies from one team key through a real gateway to the
  emulator; every circuit stays closed, the master key still gets 200, no request reaches the upstream and every
  answer is a 400 naming the field.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ocigate.config.policies import BreakerPolicy, RetryPolicy
from ocigate.core.errors import GatewayError
from ocigate.emulator import EmulatorConfig
from ocigate.schemas.chat import check_chat
from ocigate.schemas.embeddings import check_embeddings
from ocigate.schemas.responses import check_responses
from tests.support.fakes import OK, FakeProvider, body_for, make, one, oracle, unreachable
from tests.support.servers import ServerThread, start_emulator, start_gateway

pytestmark = pytest.mark.e2e

MASTER = "gw-blast-radius-master"
CHAT_MODEL = "openai.gpt-oss-120b"
TRANSLATED_MODEL = "meta.llama-3.3-70b-instruct"  # Responses over Chat Completions: the gateway's own translation
EMBED_MODEL = "cohere.embed-v4.0"


# --- the breakers, on the routing fakes -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 408, 409, 413, 422, 429])
async def test_upstream_4xx_answers_never_open_a_circuit(status: int) -> None:
    """However many times one client provokes it, a 4xx leaves the circuit closed for the next client."""
    bad = FakeProvider("oracle-ord", [oracle(status)])
    s = make([one(bad)], breaker=BreakerPolicy(failure_threshold=2, cooldown_s=30), policy=RetryPolicy(jitter=False))
    route = s.router.route("gpt")
    assert route is not None
    for _ in range(20):
        with pytest.raises(GatewayError) as raised:
            await s.dispatcher.send(route, "chat/completions", body_for)
        assert raised.value.status == status
    assert s.breakers.state("oracle-ord/m") == "closed"
    assert s.breakers.snapshot()[0]["opened"] == 0
    bad.script = [OK]
    reply, served, _ = await s.dispatcher.send(route, "chat/completions", body_for)  # the next client is served
    assert reply is OK and served.name == "oracle-ord/m"


@pytest.mark.parametrize("failure", [oracle(500), oracle(503), unreachable()])
async def test_the_deployments_own_troubles_still_open_it(failure: GatewayError) -> None:
    s = make([one(FakeProvider("oracle-ord", [failure]))], breaker=BreakerPolicy(failure_threshold=2))
    route = s.router.route("gpt")
    assert route is not None
    with pytest.raises(GatewayError):
        await s.dispatcher.send(route, "chat/completions", body_for)
    assert s.breakers.state("oracle-ord/m") == "open"


# --- the emulator answers malformed shapes like Oracle: 400 -----------------------------------------------------


FINDING_7_CHAT = [
    [{"role": ["user"], "content": "hi"}],
    [{"role": {"a": 1}, "content": "hi"}],
    [{"role": "user", "content": [{"type": {"a": 1}, "text": "hi"}]}],
    [{"role": "user", "content": [{"type": ["text"], "text": "hi"}]}],
]
FINDING_7_RESPONSES = [
    [{"role": ["user"], "content": "hi"}],
    [{"role": "user", "content": [{"type": {"a": 1}}]}],
    [{"type": "function_call", "call_id": ["c"], "name": "f", "arguments": "{}"}],
    [{"type": "function_call_output", "call_id": {"c": 1}, "output": "x"}],
]


@pytest.fixture(scope="module")
def emulator_alone() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-chicago-1"))
    yield server
    server.stop()


def test_the_emulator_never_answers_500_to_malformed_shapes(emulator_alone: ServerThread) -> None:
    """It crashed (500) on a role or a call id that is a list or an object, where Oracle answers 400
    InvalidParameter (doc §4); a part whose type is not a string it skips as it skips any non-text part."""
    base = f"{emulator_alone.url}/20231130/actions/v1"
    headers = {"Authorization": "Bearer sk-emulator-chicago"}
    answers = [
        (
            messages,
            httpx.post(f"{base}/chat/completions", json={"model": CHAT_MODEL, "messages": messages}, headers=headers),
        )
        for messages in FINDING_7_CHAT
    ] + [
        (items, httpx.post(f"{base}/responses", json={"model": CHAT_MODEL, "input": items}, headers=headers))
        for items in FINDING_7_RESPONSES
    ]
    assert all(reply.status_code < 500 for _, reply in answers), [(sent, r.text) for sent, r in answers]
    roles_and_ids = [answers[0], answers[1], answers[4], answers[6], answers[7]]
    assert all(r.status_code == 400 and r.json()["code"] == "InvalidParameter" for _, r in roles_and_ids)


# --- a fuzz run from one team key through the real gateway --------------------------------------------------------


CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CHAT_BASE: dict[str, Any] = {
    "model": CHAT_MODEL,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "response_format": {"type": "json_object"},
    "max_tokens": 16,
    "temperature": 0.5,
    "stop": ["END"],
}
RESPONSES_BASE: dict[str, Any] = {
    "model": CHAT_MODEL,
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
    ],
    "instructions": "Be brief.",
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    "max_output_tokens": 16,
}
EMBED_BASE: dict[str, Any] = {"model": EMBED_MODEL, "input": ["a", "b"], "encoding_format": "float"}
WEIRD: list[object] = [["user"], {"a": 1}, {"type": {"a": 1}}, 5, -1, 1e300, "x", "", [], {}, True, [[1]], ["x"]]
FUZZ_BODIES = 160  # bounded: a few seconds against the emulator


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if prefix and prefix != ("model",):
        yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutated(base: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    out = copy.deepcopy(base)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _refused_by_schema(check: Any, body: dict[str, Any]) -> bool:
    try:
        check(body)
    except GatewayError:
        return True
    return False


def malformed_bodies() -> list[tuple[str, dict[str, Any]]]:
    """The shapes of finding 7, a deep body, then seeded mutations of valid bodies: one known field set to a value
    of the wrong type. Only bodies the schemas refuse are kept, so every one of them must be a 400."""
    bodies: list[tuple[str, dict[str, Any]]] = []
    bodies += [("/v1/chat/completions", {"model": CHAT_MODEL, "messages": m}) for m in FINDING_7_CHAT]
    bodies += [("/v1/chat/completions", {**CHAT_BASE, "messages": [{"role": "user", "content": 5}]})]
    bodies += [("/v1/chat/completions", {**CHAT_BASE, "messages": [{"role": "assistant", "tool_calls": "x"}]})]
    for model in (CHAT_MODEL, TRANSLATED_MODEL):
        bodies += [("/v1/responses", {"model": model, "input": items}) for items in FINDING_7_RESPONSES]
    deep: object = "hi"
    for _ in range(300):
        deep = [deep]
    bodies += [("/v1/chat/completions", {**CHAT_BASE, "stream": True, "metadata": {"deep": deep}})]
    rng = random.Random(20231130)
    kinds = [
        ("/v1/chat/completions", CHAT_BASE, check_chat),
        ("/v1/responses", RESPONSES_BASE, check_responses),
        ("/v1/responses", {**RESPONSES_BASE, "model": TRANSLATED_MODEL}, check_responses),
        ("/v1/embeddings", EMBED_BASE, check_embeddings),
    ]
    while len(bodies) < FUZZ_BODIES:
        path_, base, check = rng.choice(kinds)
        body = _mutated(base, rng.choice(list(_paths(base))), rng.choice(WEIRD))
        if _refused_by_schema(check, body):
            bodies.append((path_, {**body, "stream": rng.random() < 0.3} if path_ != "/v1/embeddings" else body))
    return bodies


class Fuzzed:
    def __init__(self, gateway: ServerThread, emulator: ServerThread, answers: list[httpx.Response], upstream: int):
        self.gateway = gateway
        self.emulator = emulator
        self.answers = answers
        self.upstream_calls = upstream


@pytest.fixture(scope="module")
def fuzzed(emulator_alone: ServerThread) -> Iterator[Fuzzed]:
    env = {
        "ORACLE_BASE_URL": f"{emulator_alone.url}/20231130/actions/v1",
        "ORACLE_API_KEY": "sk-emulator-chicago",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": f"{CHAT_MODEL},{TRANSLATED_MODEL},{EMBED_MODEL}",
        "OCIGATE_MASTER_KEY": MASTER,
        "OCIGATE_DISCOVERY_INTERVAL": "0",
    }
    server, _ = start_gateway(env)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            created = http.post("/admin/keys", json={"name": "fuzzer"}, headers={"Authorization": f"Bearer {MASTER}"})
            assert created.status_code == 201, created.text
            team = {"Authorization": f"Bearer {created.json()['secret']}"}
            httpx.delete(f"{emulator_alone.url}/_emulator/stats")
            answers = [http.post(path, json=body, headers=team) for path, body in malformed_bodies()]
            upstream = httpx.get(f"{emulator_alone.url}/_emulator/stats").json()["total"]
        yield Fuzzed(server, emulator_alone, answers, upstream)
    finally:
        server.stop()


def test_a_fuzz_run_from_one_key_leaves_every_circuit_closed_and_the_master_key_served(fuzzed: Fuzzed) -> None:
    assert len(fuzzed.answers) == FUZZ_BODIES
    master = {"Authorization": f"Bearer {MASTER}"}
    reply = httpx.post(
        f"{fuzzed.gateway.url}/v1/chat/completions",
        json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16},
        headers=master,
        timeout=30,
    )
    assert reply.status_code == 200, reply.text  # before: 503 circuit_open for 30 s
    circuits = httpx.get(f"{fuzzed.gateway.url}/admin/deployments", headers=master).json()["data"]
    assert circuits and all(c["state"] == "closed" and c["opened"] == 0 for c in circuits), circuits


def test_a_fuzz_run_never_reaches_the_upstream_and_every_answer_is_a_400_naming_the_field(fuzzed: Fuzzed) -> None:
    statuses = [answer.status_code for answer in fuzzed.answers]
    assert all(status == 400 for status in statuses), sorted(set(statuses))
    errors = [answer.json()["error"] for answer in fuzzed.answers]
    assert all(error["type"] == "invalid_request_error" for error in errors)
    named = [error for error in errors if error["param"]]
    assert len(named) >= len(errors) - 1, [e for e in errors if not e["param"]]  # only the deep body names none
    assert fuzzed.upstream_calls == 0
