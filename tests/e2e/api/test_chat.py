"""Chat completions through a real gateway, with the official OpenAI SDK as the client."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from ocigate.emulator import EmulatorConfig
from tests.support.servers import GatewayFactory, ServerThread, start_emulator


def test_chat_non_streaming(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="openai.gpt-oss-120b", messages=[{"role": "user", "content": "Say hello in one sentence."}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert raw.headers["opc-request-id"]  # Oracle's request id reaches the client
    assert raw.headers["x-request-id"]


def test_reply_with_single_word_smoke_test(client: openai.OpenAI) -> None:
    # The GoModel guide's smoke test.
    completion = client.chat.completions.create(
        model="xai.grok-3", messages=[{"role": "user", "content": "Reply with the single word ok."}], max_tokens=80
    )
    assert completion.choices[0].message.content == "ok"


def test_provider_qualified_model_name_is_resolved(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="oracle/meta.llama-3.3-70b-instruct", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.model == "meta.llama-3.3-70b-instruct"


def test_streaming_relays_chunks_usage_and_done(gateway: ServerThread, client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="openai.gpt-oss-120b",
        messages=[{"role": "user", "content": "Tell me about Oracle Cloud regions please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    assert "Tell me about Oracle Cloud regions please" in text and reasoning
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    # On the wire: SSE as received, [DONE] forwarded last.
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        headers={"Authorization": "Bearer gw-master-key"},
        json={"model": "xai.grok-3", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["opc-request-id"]
        body = response.read().decode()
    assert body.rstrip().endswith("data: [DONE]") and body.count("data: [DONE]") == 1


def test_reasoning_model_can_spend_small_max_tokens_on_reasoning(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="openai.gpt-oss-20b", messages=[{"role": "user", "content": "Reply with a long story"}], max_tokens=5
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "length" and not choice.message.content


def test_tool_calls_over_two_turns(client: openai.OpenAI) -> None:
    tools: list[ChatCompletionFunctionToolParam] = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    messages: list[Any] = [{"role": "user", "content": "Weather in Chicago?"}]
    first = client.chat.completions.create(model="xai.grok-4", messages=messages, tools=tools)
    tool_calls = first.choices[0].message.tool_calls
    assert tool_calls
    call = tool_calls[0]
    assert call.type == "function"
    assert first.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "21 C and sunny"},
    ]
    second = client.chat.completions.create(model="xai.grok-4", messages=messages, tools=tools)
    assert "21 C and sunny" in (second.choices[0].message.content or "")


async def test_burst_of_concurrent_requests(aclient: openai.AsyncOpenAI) -> None:
    async def one(i: int) -> str:
        if i % 2:
            stream = await aclient.chat.completions.create(
                model="xai.grok-3", messages=[{"role": "user", "content": f"number {i}"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        completion = await aclient.chat.completions.create(
            model="meta.llama-3.3-70b-instruct", messages=[{"role": "user", "content": f"number {i}"}]
        )
        return completion.choices[0].message.content or ""

    replies = await asyncio.gather(*(one(i) for i in range(200)))
    assert all(f"number {i}" in reply for i, reply in enumerate(replies))


def test_oracle_rejection_passes_through_with_its_message(emulator: ServerThread, client: openai.OpenAI) -> None:
    rule = {"status": 400, "code": "InvalidParameter", "message": "temperature must be at most 1", "count": 1}
    httpx.post(f"{emulator.url}/_emulator/faults", json=rule).raise_for_status()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="xai.grok-3", messages=[{"role": "user", "content": "hi"}])
    message = caught.value.message
    assert "Oracle rejected the request" in message and "temperature must be at most 1" in message


def test_empty_content_that_oracle_rejects_is_mended(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="openai.gpt-oss-120b",
        messages=[
            {"role": "system", "content": ""},
            {"role": "user", "content": "Reply with the single word ok."},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": ""},
        ],
    )
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_client_disconnect_mid_stream_closes_the_upstream(gateway_factory: GatewayFactory) -> None:
    slow = start_emulator(EmulatorConfig(stream_delay_s=0.2))
    try:
        env = {
            "ORACLE_BASE_URL": f"{slow.url}/20231130/actions/v1",
            "ORACLE_API_KEY": "sk-emulator-chicago",
            "ORACLE_MODELS": "xai.grok-3",
        }
        server, app = gateway_factory(env)
        body = {"model": "xai.grok-3", "stream": True, "messages": [{"role": "user", "content": "word " * 40}]}
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
            first = next(response.iter_raw())
            assert first.startswith(b"data: ")
        # The relay notices the disconnect and records it, instead of reading the upstream to its end.
        lines: list[str] = []
        for _ in range(100):
            lines = [line for line in app.runtime.access_log.recent if "stream=yes" in line]
            if lines:
                break
            time.sleep(0.05)
        (line,) = lines
        assert "status=499" in line
    finally:
        slow.stop()
