"""The translators' output parsed by the real OpenAI SDK, as clients will parse it.

An ``httpx.MockTransport`` stands where the gateway stands and answers with what the translators produce, so
``client.responses.create(...)`` and ``client.responses.stream(...)`` run unchanged: if the SDK's stream
accumulator accepts the events and its final response matches, the event sequence is right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai.types.responses import (
    FunctionToolParam,
    Response,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseStreamEvent,
)
from pydantic import TypeAdapter

from ocigate.core.sse import parse_events
from ocigate.translate.responses.output import from_chat_response
from ocigate.translate.responses.request import to_chat_request
from ocigate.translate.responses.stream import ResponsesStreamTranslator

JSON = dict[str, Any]
LLAMA = "meta.llama-3.3-70b-instruct"
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
EVENT = TypeAdapter(ResponseStreamEvent)


def chunk(delta: JSON, finish: str | None = None) -> JSON:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": LLAMA, "choices": [choice]}


def usage_chunk(prompt: int, completion: int) -> JSON:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": LLAMA, "choices": [], "usage": usage}


TOOL_CHUNKS = [
    chunk({"role": "assistant", "content": None}),
    chunk({"reasoning_content": "Paris, "}),
    chunk({"reasoning_content": "then Oslo."}),
    chunk({"content": "Looking "}),
    chunk({"content": "them up."}),
    chunk({"tool_calls": [{"index": 0, "id": "call_p", "type": "function", "function": {"name": "get_weather"}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "call_o", "function": {"name": "get_weather", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"city":"Oslo"}'}}]}),
    chunk({}, "tool_calls"),
    usage_chunk(20, 9),
]


def stream_body(request: JSON, chunks: list[JSON], *, fail: str | None = None) -> bytes:
    translator = ResponsesStreamTranslator(request, "resp_sdk", 1_700_000_000)
    frames = translator.start()
    for item in chunks:
        frames += translator.feed(item)
    frames += translator.fail(fail) if fail else translator.finish()
    return b"".join(frames)


def client_for(answer: Callable[[JSON], httpx.Response]) -> openai.OpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses"
        return answer(orjson.loads(request.content))

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    # openai 3.x types http_client as its vendored httpx2 client and accepts an httpx one at runtime.
    return openai.OpenAI(api_key="sk-test", base_url="http://gateway/v1", http_client=http_client)  # type: ignore[arg-type]


def streaming(chunks: list[JSON], *, fail: str | None = None) -> openai.OpenAI:
    """A client whose /responses streams ``chunks`` translated for the request the SDK sent."""

    def answer(request: JSON) -> httpx.Response:
        assert request["stream"] is True
        assert to_chat_request(request)["stream_options"] == {"include_usage": True}
        body = stream_body(request, chunks, fail=fail)
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return client_for(answer)


def test_stream_helper_accumulates_text_reasoning_and_two_calls() -> None:
    client = streaming(TOOL_CHUNKS)
    with client.responses.stream(model=LLAMA, input="Weather in Paris and Oslo?", tools=[WEATHER]) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["Looking ", "them up."]
    assert final.status == "completed"
    assert final.output_text == "Looking them up."
    kinds = [item.type for item in final.output]
    assert kinds == ["reasoning", "message", "function_call", "function_call"]
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        ("call_p", "get_weather", '{"city":"Paris"}'),
        ("call_o", "get_weather", '{"city":"Oslo"}'),
    ]
    # strict tools: the SDK parses the arguments against the tool it was given
    assert [c.parsed_arguments for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) == (20, 9)


def test_create_stream_yields_every_event_in_order() -> None:
    client = streaming(TOOL_CHUNKS)
    events = list(client.responses.create(model=LLAMA, input="Weather?", tools=[WEATHER], stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    arguments = "".join(e.delta for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent))
    assert arguments == '{"city":"Paris"}{"city":"Oslo"}'
    summary = "".join(e.delta for e in events if isinstance(e, ResponseReasoningSummaryTextDeltaEvent))
    assert summary == "Paris, then Oslo."


def test_truncated_stream_ends_incomplete() -> None:
    client = streaming([chunk({"content": "Roses are"}), chunk({}, "length")])
    events = list(client.responses.create(model=LLAMA, input="A poem", max_output_tokens=2, stream=True))
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.output_text == "Roses are"


def test_failed_stream_reports_the_error() -> None:
    client = streaming([chunk({"content": "Half an ans"})], fail="Oracle closed the stream.")
    events = list(client.responses.create(model=LLAMA, input="Hi", stream=True))
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.error is not None and failed.response.error.message == "Oracle closed the stream."
    assert failed.response.output_text == "Half an ans"
    with client.responses.stream(model=LLAMA, input="Hi") as stream, pytest.raises(RuntimeError, match="completed"):
        stream.get_final_response()


def test_non_streaming_create_parses_the_translated_response() -> None:
    chat: JSON = {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "model": LLAMA,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Sunny.", "reasoning_content": "Check Paris."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    }

    def answer(request: JSON) -> httpx.Response:
        response = from_chat_response(chat, request, response_id="resp_x", created_at=1)
        return httpx.Response(200, content=orjson.dumps(response), headers={"content-type": "application/json"})

    response = client_for(answer).responses.create(model=LLAMA, input="Weather?", instructions="Be brief.")
    assert response.output_text == "Sunny."
    assert response.instructions == "Be brief."
    assert response.output[0].type == "reasoning"


def test_every_event_validates_strictly_against_the_sdk_types() -> None:
    """Pydantic validation, not the SDK's lenient construction: every required field present and typed."""
    request = {"model": LLAMA, "input": "Weather?", "tools": [WEATHER], "stream": True}
    events = parse_events(stream_body(request, TOOL_CHUNKS))
    for event in events:
        parsed = EVENT.validate_json(event.data)
        assert parsed.type == event.event
    final = EVENT.validate_json(events[-1].data)
    assert final.type == "response.completed"
    Response.model_validate(final.response.model_dump())
