"""Every answer of a real gateway, whatever its route or status, gets one access line naming its id, and every
model route answers through the same pipeline (the same headers on chat, Responses and embeddings)."""

from __future__ import annotations

import httpx
import openai
import pytest

from ocigate.app.runtime import Gateway
from tests.support.servers import GatewayFactory, ServerThread, access_lines

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def logged(emulator: ServerThread, gateway_factory: GatewayFactory) -> tuple[ServerThread, Gateway]:
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": "sk-emulator-chicago",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": "xai.grok-3,meta.llama-3.3-70b-instruct",
        "OCIGATE_MASTER_KEY": "gw-master-key",
    }
    return gateway_factory(env)


def _lines(app: Gateway, request_id: str) -> list[str]:
    return access_lines(app, f"request_id={request_id} ")


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    [
        ("GET", "/healthz", {}, None, 200),
        ("GET", "/v1/models", {"Authorization": "Bearer gw-master-key"}, None, 200),
        ("GET", "/v1/models", {}, None, 401),
        ("GET", "/v1/models", {"Authorization": "Bearer wrong"}, None, 401),
        ("GET", "/v1/nowhere", {"Authorization": "Bearer gw-master-key"}, None, 404),
        ("POST", "/v1/chat/completions", {"Authorization": "Bearer gw-master-key"}, b"{oops", 400),
        ("POST", "/v1/chat/completions", {"Authorization": "Bearer gw-master-key"}, b'{"model": "nope"}', 400),
        ("GET", "/v1/responses/resp_unknown", {"Authorization": "Bearer gw-master-key"}, None, 404),
    ],
)
def test_every_answer_has_one_access_line(
    logged: tuple[ServerThread, Gateway],
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
) -> None:
    server, app = logged
    response = httpx.request(method, f"{server.url}{path}", headers=headers, content=body)
    assert response.status_code == status
    request_id = response.headers["x-request-id"]
    lines = _lines(app, request_id)
    assert len(lines) == 1, lines
    assert f"method={method} path={path} " in lines[0] and f" status={status} " in lines[0]
    assert "gw-master-key" not in lines[0] and "wrong" not in lines[0]


def test_model_routes_answer_alike(logged: tuple[ServerThread, Gateway]) -> None:
    server, app = logged
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-master-key", max_retries=0)
    chat = client.chat.completions.with_raw_response.create(
        model="xai.grok-3", messages=[{"role": "user", "content": "hi"}], max_tokens=20
    )
    responses = client.responses.with_raw_response.create(model="meta.llama-3.3-70b-instruct", input="hi")
    for raw, path in ((chat, "/v1/chat/completions"), (responses, "/v1/responses")):
        assert raw.headers["x-ocigate-provider"] == "oracle"
        assert raw.headers["x-ocigate-attempts"] == "1" and raw.headers["opc-request-id"]
        (line,) = _lines(app, raw.headers["x-request-id"])
        assert f"path={path} " in line and "status=200" in line
        assert f"opc-request-id={raw.headers['opc-request-id']}" in line


def test_a_stream_the_client_leaves_is_logged_as_499(logged: tuple[ServerThread, Gateway]) -> None:
    server, app = logged
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        headers={"Authorization": "Bearer gw-master-key"},
        json={"model": "xai.grok-3", "stream": True, "messages": [{"role": "user", "content": "long " * 50}]},
    ) as response:
        request_id = response.headers["x-request-id"]
        next(response.iter_raw())
    (line,) = _lines(app, request_id)
    assert "stream=yes" in line and ("status=499" in line or "status=200" in line)


def test_an_upstream_error_names_oracles_request_id(
    emulator: ServerThread, logged: tuple[ServerThread, Gateway]
) -> None:
    server, app = logged
    httpx.post(f"{emulator.url}/_emulator/faults", json={"status": 400, "count": 1}).raise_for_status()
    try:
        answer = httpx.post(
            f"{server.url}/v1/chat/completions",
            headers={"Authorization": "Bearer gw-master-key"},
            json={"model": "xai.grok-3", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8},
        )
    finally:
        httpx.delete(f"{emulator.url}/_emulator/faults").raise_for_status()
    assert answer.status_code == 400
    opc = answer.headers["opc-request-id"]
    assert opc in answer.json()["error"]["message"]
    (line,) = _lines(app, answer.headers["x-request-id"])
    assert f"opc-request-id={opc}" in line and "status=400" in line
