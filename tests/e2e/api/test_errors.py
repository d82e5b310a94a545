"""Every error is OpenAI's envelope, and Oracle's errors read as a fix."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.support.servers import ASHBURN_KEY, NOPOLICY_KEY, GatewayFactory, ServerThread

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def _client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def _gateway_with_key(factory: GatewayFactory, emulator: ServerThread, key: str, **extra: str) -> ServerThread:
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": key,
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": "xai.grok-3",
        **extra,
    }
    return factory(env)[0]


def test_master_key_required_on_v1(gateway: ServerThread) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"x-api-key": "wrong"}):
        response = httpx.get(f"{gateway.url}/v1/models", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    assert httpx.get(f"{gateway.url}/v1/models", headers={"x-api-key": "gw-master-key"}).status_code == 200
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="nope", max_retries=0).models.list()


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"[1, 2]", None, "JSON object"),
        (b"", None, "empty"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model", "'model' is required"),
        (b'{"model": "xai.grok-3", "messages": []}', "messages", "non-empty array"),
        (b'{"model": "xai.grok-3", "messages": "hi"}', "messages", "non-empty array"),
    ],
)
def test_bad_requests_get_clear_400s(gateway: ServerThread, body: bytes, param: str | None, fragment: str) -> None:
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=body,
        headers={"Authorization": "Bearer gw-master-key", "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param and fragment in error["message"]


def test_missing_policy_404_prints_the_policy_statement(
    emulator: ServerThread, gateway_factory: GatewayFactory
) -> None:
    server = _gateway_with_key(gateway_factory, emulator, NOPOLICY_KEY)
    with pytest.raises(openai.NotFoundError) as caught:
        _client(server).chat.completions.create(model="xai.grok-3", messages=HI)
    message = caught.value.message
    assert "allow any-user to use generative-ai-family" in message and "generativeaiapikey" in message
    assert "us-chicago-1" in message and "xai.grok-3" in message and "opc-request-id" in message


def test_key_from_another_region_404_names_the_region(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    server = _gateway_with_key(gateway_factory, emulator, ASHBURN_KEY)
    with pytest.raises(openai.NotFoundError) as caught:
        _client(server).chat.completions.create(model="xai.grok-3", messages=HI)
    assert "another region than us-chicago-1" in caught.value.message


def test_wrong_secret_401_says_use_the_sk_secret(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    server = _gateway_with_key(gateway_factory, emulator, "sk-not-a-real-secret")
    with pytest.raises(openai.AuthenticationError) as caught:
        _client(server).chat.completions.create(model="xai.grok-3", messages=HI)
    assert "sk-" in caught.value.message and "OCID" in caught.value.message


def test_client_key_is_never_forwarded(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    # The client presents a valid Oracle secret as its own key; the gateway must use its configured one.
    server = _gateway_with_key(gateway_factory, emulator, NOPOLICY_KEY)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-emulator-chicago", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="xai.grok-3", messages=HI)


def test_ocid_as_key_keeps_provider_out_of_service(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    server = _gateway_with_key(gateway_factory, emulator, "ocid1.generativeaiapikey.oc1.us-chicago-1.aaaa")
    with pytest.raises(openai.InternalServerError) as caught:
        _client(server).chat.completions.create(model="xai.grok-3", messages=HI)
    assert caught.value.status_code == 503 and "is an OCID" in caught.value.message
    assert httpx.get(f"{server.url}/readyz").status_code == 503


def _fault(emulator: ServerThread, **rule: object) -> None:
    httpx.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()


def test_throttling_429_passes_retry_after(emulator: ServerThread, client: openai.OpenAI) -> None:
    # A Retry-After past the request's budget (5 s here) is not waited out: the client gets it.
    _fault(emulator, status=429, code="TooManyRequests", message="Too many requests for the user", retry_after=7)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="xai.grok-3", messages=HI)
    assert caught.value.response.headers["retry-after"] == "7"
    assert "throttling" in caught.value.message and "7 s" in caught.value.message


def test_oracle_5xx_says_oracle_is_failing(emulator: ServerThread, client: openai.OpenAI) -> None:
    _fault(emulator, status=503, code="ServiceUnavailable", message="busy", retry_after=20)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="xai.grok-3", messages=HI)
    assert caught.value.status_code == 503 and "Oracle failed" in caught.value.message
    assert caught.value.response.headers["retry-after"] == "20"
    assert caught.value.response.headers["x-ocigate-attempts"] == "1"


def test_error_before_the_first_byte_of_a_stream_is_a_normal_error(
    emulator: ServerThread, client: openai.OpenAI
) -> None:
    _fault(emulator, status=429, retry_after=20)
    with pytest.raises(openai.RateLimitError):
        list(client.chat.completions.create(model="xai.grok-3", messages=HI, stream=True))


def test_stream_cut_short_ends_with_an_error_event(emulator: ServerThread, gateway: ServerThread) -> None:
    _fault(emulator, cut_after=3, count=1)
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        headers={"Authorization": "Bearer gw-master-key"},
        json={"model": "xai.grok-3", "messages": [{"role": "user", "content": "a long enough prompt"}], "stream": True},
    ) as response:
        body = response.read().decode()
    events = [block for block in body.split("\n\n") if block]
    assert events[-1].startswith('data: {"error"') and "broke off" in events[-1]
    assert "[DONE]" not in body


def test_unreachable_upstream_is_a_502_that_says_so(gateway_factory: GatewayFactory) -> None:
    env = {"ORACLE_BASE_URL": "http://127.0.0.1:9/20231130/actions/v1", "ORACLE_API_KEY": "sk-x", "ORACLE_MODELS": "m"}
    server, _ = gateway_factory(env)
    with pytest.raises(openai.InternalServerError) as caught:
        _client(server).chat.completions.create(model="m", messages=HI)
    assert caught.value.status_code == 502 and "Could not reach Oracle" in caught.value.message
