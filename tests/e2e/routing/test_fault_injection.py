"""One region throttling, failing, dropping connections and answering slowly; the other healthy: clients see
nothing of it. Plus the circuit breaker, a 400 that is not retried, and a stream that breaks after its first byte."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionStreamOptionsParam

from tests.support.regions import IAD, ORD, clear_faults, fault, two_region_config
from tests.support.servers import GatewayFactory, ServerThread

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say something short."}]
FAST_RETRIES = {
    "retries": {"max_attempts": 3, "base_delay": 0.01, "max_delay": 0.2, "jitter": True},
    "budget": 20,
    "timeouts": {"connect": 2, "first_byte": 5, "idle": 10, "reply": 10},
}


def _client(server: ServerThread) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0, timeout=30)


async def _one(client: openai.AsyncOpenAI, index: int) -> tuple[int, int] | None:
    """One request; the (prompt, completion) tokens the client was told, None for a stream that did not ask."""
    if index % 2:
        # Every other stream asks for usage; the others are recorded by the gateway all the same.
        options: ChatCompletionStreamOptionsParam | None = {"include_usage": True} if index % 4 == 1 else None
        stream = await client.chat.completions.create(
            model="gpt-oss", messages=HI, stream=True, max_tokens=64, stream_options=options or openai.omit
        )
        finish, told = None, None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
            if chunk.usage is not None:
                told = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        assert finish is not None, "the stream ended without a finish_reason"
        assert (told is not None) == (options is not None), "usage reached a client that did not ask for it"
        return told
    reply = await client.chat.completions.create(model="gpt-oss", messages=HI, max_tokens=64)
    assert reply.choices[0].finish_reason is not None
    assert reply.choices[0].message.content or reply.choices[0].message.model_extra
    assert reply.usage is not None
    return reply.usage.prompt_tokens, reply.usage.completion_tokens


def _usage_rows(data_dir: str) -> list[tuple[int, int, int, bool]]:
    with sqlite3.connect(Path(data_dir) / "ocigate.db") as db:
        return list(db.execute("SELECT status, prompt_tokens, completion_tokens, stream FROM usage"))


def test_2000_requests_through_a_failing_region_see_no_error(
    tmp_path: Path, region_a: ServerThread, region_b: ServerThread, gateway_factory: GatewayFactory
) -> None:
    clear_faults(region_a, region_b)
    routing = {**FAST_RETRIES, "breaker": {"failure_threshold": 5, "cooldown": 1}}
    server, app = gateway_factory({}, two_region_config(tmp_path / "ocigate.yaml", region_a, region_b, routing=routing))
    fault(region_a, status=503, probability=0.05)
    fault(region_a, status=429, retry_after=1, probability=0.03)
    fault(region_a, drop=True, probability=0.02)
    fault(region_a, delay_ms=200, probability=0.05)

    async def run() -> list[tuple[int, int] | None]:
        client = _client(server)
        gate = asyncio.Semaphore(32)

        async def bounded(index: int) -> tuple[int, int] | None:
            async with gate:
                return await _one(client, index)

        told = await asyncio.gather(*(bounded(i) for i in range(2000)))
        await client.close()
        return told

    started = time.monotonic()
    told = asyncio.run(run())
    assert time.monotonic() - started < 55
    counts = httpx.get(f"{region_a.url}/_emulator/faults").json()["faults"]
    assert sum(rule["applied"] for rule in counts) > 50, "region A's faults were not exercised"
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "ocigate_retries_total" in metrics and 'kind="server_error"' in metrics
    clear_faults(region_a)

    # Usage equals what was served: after a graceful stop, one record per request, every one a success, with
    # the tokens each client was told (retried and failed-over attempts are not counted twice).
    server.stop()
    rows = _usage_rows(app.runtime.settings.data_dir)
    assert len(rows) == 2000
    assert {status for status, *_ in rows} == {200}
    assert sum(1 for *_, stream in rows if stream) == 1000
    seen = [t for t in told if t is not None]
    assert len(seen) == 1500
    assert all(prompt > 0 and completion > 0 for _, prompt, completion, _ in rows)
    recorded_told = sorted((p, c) for _, p, c, stream in rows)
    # The 500 streams that did not ask for usage were told nothing; all the others match one for one.
    assert sum(p for p, _ in recorded_told) >= sum(p for p, _ in seen)
    told_counter = Counter(seen)
    recorded_counter = Counter(recorded_told)
    assert not told_counter - recorded_counter, "a client was told usage that was not recorded"


def test_breaker_opens_on_a_failing_region_and_routing_skips_it(
    tmp_path: Path, region_a: ServerThread, region_b: ServerThread, gateway_factory: GatewayFactory
) -> None:
    clear_faults(region_a, region_b)
    routing = {**FAST_RETRIES, "breaker": {"failure_threshold": 3, "cooldown": 60}}
    # Round robin puts region A first on every other request, so its circuit meets its failures for sure.
    config = two_region_config(tmp_path / "ocigate.yaml", region_a, region_b, routing=routing, strategy="round_robin")
    server, _ = gateway_factory({"OCIGATE_MASTER_KEY": "gw-admin"}, config)
    fault(region_a, status=500)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="gw-admin", max_retries=0)
    for _ in range(12):
        raw = client.chat.completions.with_raw_response.create(model="gpt-oss", messages=HI, max_tokens=16)
        assert raw.headers["x-ocigate-deployment"] == IAD
    ready = httpx.get(f"{server.url}/readyz", headers={"Authorization": "Bearer gw-admin"})
    assert ready.status_code == 200, "an open circuit must not make the gateway unready"
    states = {row["deployment"]: row["state"] for row in ready.json()["deployments"]}
    assert states == {ORD: "open", IAD: "closed"}
    raw = client.chat.completions.with_raw_response.create(model="gpt-oss", messages=HI, max_tokens=16)
    assert raw.headers["x-ocigate-attempts"] == "1" and raw.headers["x-ocigate-deployment"] == IAD
    master = {"Authorization": "Bearer gw-admin"}
    admin = httpx.get(f"{server.url}/admin/deployments", headers=master).json()
    assert {row["deployment"]: row["state"] for row in admin["data"]} == {ORD: "open", IAD: "closed"}
    metrics = httpx.get(f"{server.url}/metrics", headers=master).text
    assert f'ocigate_circuit_state{{deployment="{ORD}"}} 2.0' in metrics
    assert f'ocigate_circuit_state{{deployment="{IAD}"}} 0.0' in metrics
    clear_faults(region_a)


def test_a_400_is_not_retried(
    tmp_path: Path, region_a: ServerThread, region_b: ServerThread, gateway_factory: GatewayFactory
) -> None:
    clear_faults(region_a, region_b)
    server, _ = gateway_factory(
        {}, two_region_config(tmp_path / "ocigate.yaml", region_a, region_b, routing=FAST_RETRIES)
    )
    fault(region_a, status=400, code="InvalidParameter", message="bad field")
    fault(region_b, status=400, code="InvalidParameter", message="bad field")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-oss", messages=HI)
    assert caught.value.response.headers["x-ocigate-attempts"] == "1"
    applied = [
        r["applied"] for e in (region_a, region_b) for r in httpx.get(f"{e.url}/_emulator/faults").json()["faults"]
    ]
    assert sum(applied) == 1
    clear_faults(region_a, region_b)


def test_a_stream_broken_after_its_first_byte_ends_with_an_error_event(
    tmp_path: Path, region_a: ServerThread, region_b: ServerThread, gateway_factory: GatewayFactory
) -> None:
    clear_faults(region_a, region_b)
    server, app = gateway_factory(
        {}, two_region_config(tmp_path / "ocigate.yaml", region_a, region_b, routing=FAST_RETRIES)
    )
    fault(region_a, cut_after=2)
    body = {"model": ORD, "messages": HI, "stream": True}  # pinned: region A only
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200 and response.headers["x-ocigate-deployment"] == ORD
        text = response.read().decode()
    events = [line for line in text.split("\n\n") if line.strip()]
    assert len(events) >= 3 and '"error"' in events[-1]
    clear_faults(region_a)
    # Usage records what was delivered: the failure's status, and one completion token per delta relayed.
    delivered = sum(1 for event in events if '"delta"' in event)
    server.stop()
    rows = _usage_rows(app.runtime.settings.data_dir)
    assert len(rows) == 1
    status, prompt, completion, stream = rows[0]
    assert stream and status >= 500
    assert completion == delivered > 0 and prompt > 0
