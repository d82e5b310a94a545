"""Fault rules: injected statuses, stalls, cut streams and dropped connections, reproducible by seed."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from ocigate.emulator import EmulatorConfig
from tests.support.emulator import COMPAT, auth, serve

GROK = "xai.grok-3"
CHAT = {"model": GROK, "messages": [{"role": "user", "content": "one two three four five"}]}


@pytest.fixture(autouse=True)
def clean(emu_http: httpx.Client) -> Iterator[None]:
    emu_http.delete("/_emulator/faults")
    emu_http.delete("/_emulator/stats")
    yield
    emu_http.delete("/_emulator/faults")


def fault(http: httpx.Client, **rule: Any) -> dict[str, Any]:
    response = http.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def chat(http: httpx.Client, path: str = "/chat/completions", **extra: Any) -> httpx.Response:
    return http.post(COMPAT + path, json={**CHAT, **extra}, headers=auth())


def test_status_with_retry_after(emu_http: httpx.Client, emu_client: openai.OpenAI) -> None:
    fault(emu_http, status=429, retry_after=2, count=1)
    with pytest.raises(openai.RateLimitError) as caught:
        emu_client.chat.completions.create(model=GROK, messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.body == {"code": "TooManyRequests", "message": "Too many requests for the user"}
    assert caught.value.response.headers["opc-request-id"]


def test_custom_code_and_message(emu_http: httpx.Client) -> None:
    fault(emu_http, status=503, code="ServiceUnavailable", message="down for tea", count=1)
    response = chat(emu_http)
    assert response.status_code == 503 and response.json() == {"code": "ServiceUnavailable", "message": "down for tea"}
    assert "retry-after" not in response.headers


def test_count_expires_the_rule(emu_http: httpx.Client) -> None:
    fault(emu_http, status=500, count=2)
    assert [chat(emu_http).status_code for _ in range(3)] == [500, 500, 200]
    assert emu_http.get("/_emulator/faults").json() == {"faults": []}


def test_rules_match_model_and_path(emu_http: httpx.Client) -> None:
    fault(emu_http, status=500, model="xai.grok-4")
    fault(emu_http, status=502, path="responses")
    assert chat(emu_http).status_code == 200
    assert chat(emu_http, model="xai.grok-4").status_code == 500
    assert chat(emu_http, "/responses", input="Hi").status_code == 502
    assert [rule["applied"] for rule in emu_http.get("/_emulator/faults").json()["faults"]] == [1, 1]


def test_delay_slows_the_first_byte(emu_http: httpx.Client) -> None:
    fault(emu_http, delay_ms=300, count=1)
    started = time.monotonic()
    response = chat(emu_http)
    assert response.status_code == 200 and time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert chat(emu_http).status_code == 200 and time.monotonic() - started < 0.3


def test_status_before_a_stream(emu_http: httpx.Client, emu_client: openai.OpenAI) -> None:
    fault(emu_http, status=429, count=1)
    with pytest.raises(openai.RateLimitError):
        list(emu_client.chat.completions.create(model=GROK, messages=[{"role": "user", "content": "x"}], stream=True))


def test_cut_stream(emu_http: httpx.Client, emu_client: openai.OpenAI) -> None:
    fault(emu_http, cut_after=3, count=2)
    # A cut rule leaves plain JSON answers alone and does not spend its count on them.
    assert chat(emu_http).status_code == 200
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with emu_http.stream("POST", COMPAT + "/chat/completions", json={**CHAT, "stream": True}, headers=auth()) as r:
            assert r.status_code == 200
            received.extend(line for line in r.iter_lines() if line.startswith("data: "))
    assert len(received) == 3 and "[DONE]" not in "".join(received)
    assert json.loads(received[0][6:])["choices"][0]["delta"]["role"] == "assistant"
    with pytest.raises(openai.APIConnectionError):
        list(emu_client.chat.completions.create(model=GROK, messages=[{"role": "user", "content": "x"}], stream=True))
    stats = emu_http.get("/_emulator/stats").json()
    assert stats["requests"][COMPAT + "/chat/completions"] == {"200": 3, "cut": 2}


def test_drop_closes_without_a_response(emu_http: httpx.Client) -> None:
    fault(emu_http, drop=True, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        chat(emu_http)
    assert chat(emu_http).status_code == 200
    stats = emu_http.get("/_emulator/stats").json()
    assert stats == {"total": 2, "requests": {COMPAT + "/chat/completions": {"dropped": 1, "200": 1}}}


def test_probability_is_reproducible_with_a_seed(emu_http: httpx.Client) -> None:
    def run() -> list[int]:
        emu_http.delete("/_emulator/faults")
        fault(emu_http, status=503, probability=0.5, seed=7)
        return [chat(emu_http).status_code for _ in range(16)]

    draws = random.Random(7)
    expected = [503 if draws.random() < 0.5 else 200 for _ in range(16)]
    assert run() == expected == run()
    assert {200, 503} == set(expected)


def test_config_seed_drives_rules_without_their_own() -> None:
    def run() -> list[int]:
        with serve(EmulatorConfig(seed=11)) as url, httpx.Client(base_url=url) as http:
            fault(http, status=500, probability=0.3)
            return [chat(http).status_code for _ in range(12)]

    draws = random.Random(11)
    assert run() == [500 if draws.random() < 0.3 else 200 for _ in range(12)]


@pytest.mark.parametrize(
    "rule",
    [{}, {"status": 42}, {"probability": 2}, {"count": 0}, {"drop": "yes"}, {"status": 500, "colour": "red"}, []],
)
def test_invalid_rules_are_refused(emu_http: httpx.Client, rule: Any) -> None:
    response = emu_http.post("/_emulator/faults", json=rule)
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter"


def test_list_and_clear(emu_http: httpx.Client) -> None:
    created = fault(emu_http, status=500, model="m", path="responses", retry_after=1.5)
    assert created["status"] == 500 and created["retry_after"] == 1.5 and created["count"] is None
    assert [r["id"] for r in emu_http.get("/_emulator/faults").json()["faults"]] == [created["id"]]
    assert emu_http.delete("/_emulator/faults").json() == {"cleared": 1}
    assert emu_http.get("/_emulator/faults").json() == {"faults": []}


def test_admin_requests_are_not_counted(emu_http: httpx.Client) -> None:
    chat(emu_http)
    chat(emu_http, model="xai.nope")
    emu_http.get("/_emulator/faults")
    assert emu_http.get("/_emulator/stats").json() == {
        "total": 2,
        "requests": {COMPAT + "/chat/completions": {"200": 1, "404": 1}},
    }


def test_stream_delay_paces_events() -> None:
    with serve(EmulatorConfig(stream_delay_s=0.05)) as url, httpx.Client(base_url=url) as http:
        arrivals: list[float] = []
        started = time.monotonic()
        with http.stream("POST", COMPAT + "/chat/completions", json={**CHAT, "stream": True}, headers=auth()) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    arrivals.append(time.monotonic() - started)
    # role, 12 words, finish and [DONE]: 15 events with 14 pauses between them.
    assert len(arrivals) == 15
    assert arrivals[-1] - arrivals[0] >= 14 * 0.05 * 0.9
