"""Chat Completions: deterministic replies, usage, truncation, reasoning, tools, streams and validation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from ocigate.emulator import EmulatorConfig, EmulatorKey
from tests.support.emulator import COMPAT, OPENAI, PROJECT, auth, serve

LLAMA = "meta.llama-3.3-70b-instruct"
OSS = "openai.gpt-oss-120b"
WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
                "detailed": {"type": "boolean"},
                "note": {"type": "string"},
            },
            "required": ["city", "unit", "days", "detailed"],
        },
    },
}
TIME: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
}
CALL_ID = re.compile(r"^call_[0-9a-f]{24}$")


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def post(http: httpx.Client, body: dict[str, Any], base: str = COMPAT) -> httpx.Response:
    return http.post(base + "/chat/completions", json=body, headers=auth(project=PROJECT))


def sse_data(http: httpx.Client, body: dict[str, Any]) -> list[str]:
    with http.stream("POST", COMPAT + "/chat/completions", json=body, headers=auth()) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def chunks(data: list[str]) -> list[dict[str, Any]]:
    assert data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    return [json.loads(d) for d in data[:-1]]


@pytest.mark.parametrize("base", [COMPAT, OPENAI])
def test_reply_and_usage(emu_http: httpx.Client, base: str) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    response = post(emu_http, {"model": LLAMA, "messages": messages}, base)
    assert response.status_code == 200
    body = response.json()
    text = f"Hello from {LLAMA} in us-chicago-1. You said: Hi there"
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == LLAMA and body["system_fingerprint"] is None and isinstance(body["created"], int)
    assert body["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None, "finish_reason": "stop"}
    ]
    # 2 + 2 words, plus one per message.
    assert body["usage"] == {
        "prompt_tokens": 6,
        "completion_tokens": 9,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@pytest.mark.parametrize(
    ("prompt", "word"),
    [("Reply with the single word Pong.", "Pong"), ('please REPLY WITH THE SINGLE WORD "ok!"', "ok")],
)
def test_single_word_smoke_test(emu_client: openai.OpenAI, prompt: str, word: str) -> None:
    reply = emu_client.chat.completions.create(model="xai.grok-3", messages=user(prompt))
    assert reply.choices[0].message.content == word


def test_max_tokens_truncates(emu_http: httpx.Client) -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        body = post(emu_http, {"model": LLAMA, "messages": user("Hi"), field: 3}).json()
        assert body["choices"][0]["message"]["content"] == f"Hello from {LLAMA}"
        assert body["choices"][0]["finish_reason"] == "length"
        assert body["usage"]["completion_tokens"] == 3
    bad = post(emu_http, {"model": LLAMA, "messages": user("Hi"), "max_tokens": 0})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameter"


def test_json_formats(emu_client: openai.OpenAI) -> None:
    reply = emu_client.chat.completions.create(
        model=LLAMA, messages=user("Hi"), response_format={"type": "json_object"}
    )
    assert json.loads(reply.choices[0].message.content or "") == {
        "reply": f"Hello from {LLAMA} in us-chicago-1. You said: Hi"
    }
    schema = WEATHER["function"]["parameters"]
    reply = emu_client.chat.completions.create(
        model=LLAMA,
        messages=user("Hi"),
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content or "") == {
        "city": "sample",
        "unit": "celsius",
        "days": 1,
        "detailed": True,
    }


def test_stream_reconstructs_the_reply(emu_http: httpx.Client) -> None:
    whole = post(emu_http, {"model": LLAMA, "messages": user("tell me\nsomething  long")}).json()
    events = chunks(sse_data(emu_http, {"model": LLAMA, "messages": user("tell me\nsomething  long"), "stream": True}))
    assert len({e["id"] for e in events}) == 1 and events[0]["id"].startswith("chatcmpl-")
    assert all(e["object"] == "chat.completion.chunk" and e["model"] == LLAMA for e in events)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    deltas = [e["choices"][0]["delta"].get("content") or "" for e in events]
    assert "".join(deltas) == whole["choices"][0]["message"]["content"]
    assert len([d for d in deltas if d]) == whole["usage"]["completion_tokens"]  # one chunk per word
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(e["choices"][0]["finish_reason"] is None for e in events[:-1])
    assert all("usage" not in e for e in events)


def test_stream_usage_chunk_only_when_asked(emu_http: httpx.Client) -> None:
    body = {"model": LLAMA, "messages": user("Hi"), "stream": True, "stream_options": {"include_usage": True}}
    events = chunks(sse_data(emu_http, body))
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] == 8  # Hello from ... said: Hi
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


async def test_async_sdk_stream(emu_aclient: openai.AsyncOpenAI) -> None:
    stream = await emu_aclient.chat.completions.create(model=LLAMA, messages=user("Hi"), stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == f"Hello from {LLAMA} in us-chicago-1. You said: Hi"


def test_reasoning_counts_against_max_tokens(emu_http: httpx.Client) -> None:
    body = post(emu_http, {"model": OSS, "messages": user("Hi"), "max_tokens": 10}).json()
    message = body["choices"][0]["message"]
    assert message["content"] is None and len(message["reasoning_content"].split()) == 10
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 10
    assert body["usage"]["completion_tokens_details"] == {"reasoning_tokens": 10}
    events = chunks(sse_data(emu_http, {"model": OSS, "messages": user("Hi"), "max_tokens": 24, "stream": True}))
    deltas = [e["choices"][0]["delta"] for e in events]
    assert not any(d.get("content") for d in deltas)
    assert len([d for d in deltas if d.get("reasoning_content")]) == 24
    assert events[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(("effort", "words"), [("low", 8), (None, 24), ("high", 64)])
def test_reasoning_effort(emu_http: httpx.Client, effort: str | None, words: int) -> None:
    request: dict[str, Any] = {"model": "xai.grok-3-mini", "messages": user("Hi")}
    if effort:
        request["reasoning_effort"] = effort
    body = post(emu_http, request).json()
    assert len(body["choices"][0]["message"]["reasoning_content"].split()) == words
    assert body["usage"]["completion_tokens"] == words + 8
    assert body["choices"][0]["finish_reason"] == "stop"


def test_reasoning_stream_comes_before_content(emu_http: httpx.Client) -> None:
    events = chunks(sse_data(emu_http, {"model": OSS, "messages": user("Hi"), "stream": True}))
    deltas = [e["choices"][0]["delta"] for e in events]
    kinds = [key for d in deltas for key in ("reasoning_content", "content") if d.get(key)]
    assert kinds == ["reasoning_content"] * 24 + ["content"] * 8


def test_non_reasoning_model_has_no_reasoning(emu_http: httpx.Client) -> None:
    body = post(emu_http, {"model": LLAMA, "messages": user("Hi"), "reasoning_effort": "high"}).json()
    assert "reasoning_content" not in body["choices"][0]["message"]
    bad = post(emu_http, {"model": OSS, "messages": user("Hi"), "reasoning_effort": "extreme"})
    assert bad.status_code == 400 and "reasoningEffort" in bad.json()["message"]


def test_tool_call_over_two_turns(emu_client: openai.OpenAI) -> None:
    messages: list[Any] = user("What is the weather in Paris?")
    first = emu_client.chat.completions.create(model=LLAMA, messages=messages, tools=[WEATHER, TIME])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 1 and CALL_ID.match(calls[0].id)
    assert calls[0].type == "function" and calls[0].function.name == "get_weather"
    args = json.loads(calls[0].function.arguments)
    assert args == {"city": "sample", "unit": "celsius", "days": 1, "detailed": True}
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": "22C and sunny"})
    second = emu_client.chat.completions.create(model=LLAMA, messages=messages, tools=[WEATHER, TIME])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "The tool returned: 22C and sunny"


def test_tool_choice_and_parallel_calls(emu_http: httpx.Client) -> None:
    def calls(**extra: Any) -> list[str]:
        body = post(emu_http, {"model": "xai.grok-4", "messages": user("Check both in parallel"), **extra}).json()
        return [c["function"]["name"] for c in body["choices"][0]["message"].get("tool_calls", [])]

    assert calls(tools=[WEATHER, TIME]) == ["get_weather", "get_time"]
    assert calls(tools=[WEATHER, TIME], parallel_tool_calls=False) == ["get_weather"]
    assert calls(tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_time"}}) == [
        "get_time"
    ]
    assert calls(tools=[WEATHER, TIME], tool_choice="none") == []
    unknown = post(
        emu_http,
        {
            "model": LLAMA,
            "messages": user("x"),
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "function": {"name": "nope"}},
        },
    )
    assert unknown.status_code == 400


def test_streamed_tool_call(emu_http: httpx.Client, emu_client: openai.OpenAI) -> None:
    events = chunks(
        sse_data(emu_http, {"model": LLAMA, "messages": user("weather?"), "tools": [WEATHER], "stream": True})
    )
    tool_deltas = [
        e["choices"][0]["delta"]["tool_calls"][0] for e in events if "tool_calls" in e["choices"][0]["delta"]
    ]
    opening, fragments = tool_deltas[0], tool_deltas[1:]
    assert opening["index"] == 0 and CALL_ID.match(opening["id"]) and opening["type"] == "function"
    assert opening["function"] == {"name": "get_weather", "arguments": ""}
    assert 2 <= len(fragments) <= 3 and all(set(f) == {"index", "function"} for f in fragments)
    assert json.loads("".join(f["function"]["arguments"] for f in fragments))["city"] == "sample"
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"
    with emu_client.chat.completions.stream(model=LLAMA, messages=user("weather?"), tools=[WEATHER]) as stream:
        final = stream.get_final_completion()
    call = (final.choices[0].message.tool_calls or [])[0]
    assert call.type == "function" and json.loads(call.function.arguments)["days"] == 1


def test_tool_call_id_must_answer_the_previous_message(emu_http: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_b", "content": "sunny"},
    ]
    response = post(emu_http, {"model": LLAMA, "messages": messages})
    assert response.status_code == 400
    assert response.json() == {
        "code": "InvalidParameter",
        "message": "Invalid parameter: 'toolCallId' call_b not found in 'toolCalls' of previous message",
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": LLAMA, "messages": [{"role": "user", "content": ""}]}, 400, "InvalidParameter"),
        (
            {"model": LLAMA, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]},
            400,
            "InvalidParameter",
        ),
        ({"messages": user("Hi")}, 400, "MissingParameter"),
        ({"model": LLAMA}, 400, "MissingParameter"),
        ({"model": LLAMA, "messages": []}, 400, "InvalidParameter"),
        ({"model": LLAMA, "messages": [{"role": "robot", "content": "Hi"}]}, 400, "InvalidParameter"),
        ({"model": "xai.grok-99", "messages": user("Hi")}, 404, "NotAuthorizedOrNotFound"),
        ({"model": "cohere.command-a-03-2025", "messages": user("Hi")}, 404, "NotAuthorizedOrNotFound"),
        ({"model": "cohere.embed-v4.0", "messages": user("Hi")}, 400, "InvalidParameter"),
    ],
)
def test_validation(emu_http: httpx.Client, body: dict[str, Any], status: int, code: str) -> None:
    response = post(emu_http, body)
    assert response.status_code == status and response.json()["code"] == code
    assert "opc-request-id" in response.headers


def test_unknown_model_message(emu_http: httpx.Client) -> None:
    response = post(emu_http, {"model": "cohere.does-not-exist", "messages": user("Hi")})
    assert response.json()["message"] == "Entity with key cohere.does-not-exist not found"


def test_body_that_is_not_json(emu_http: httpx.Client) -> None:
    response = emu_http.post(COMPAT + "/chat/completions", content=b"{not json", headers=auth())
    assert response.status_code == 400 and response.json()["code"] == "CannotParseRequest"


@pytest.fixture(scope="module")
def frankfurt() -> Iterator[str]:
    keys = (EmulatorKey("sk-frankfurt", "eu-frankfurt-1"),)
    with serve(EmulatorConfig(region="eu-frankfurt-1", keys=keys, unknown_model_status=400)) as url:
        yield url


def test_region_and_unknown_model_status(frankfurt: str) -> None:
    with httpx.Client(base_url=frankfurt, headers=auth("sk-frankfurt")) as http:
        ok = http.post(COMPAT + "/chat/completions", json={"model": LLAMA, "messages": user("Hi")})
        assert ok.json()["choices"][0]["message"]["content"] == f"Hello from {LLAMA} in eu-frankfurt-1. You said: Hi"
        # Grok is served only in the US regions; this emulator answers unknown models with 400.
        grok = http.post(COMPAT + "/chat/completions", json={"model": "xai.grok-4", "messages": user("Hi")})
        assert grok.status_code == 400
        assert grok.json() == {"code": "InvalidParameter", "message": "Entity with key xai.grok-4 not found"}
