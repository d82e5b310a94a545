"""MessagesStreamTranslator: Anthropic's exact event sequence, checked through the Anthropic SDK's own SSE decoder
and accumulator, and a property: whatever the answer and however Oracle's chunks and the bytes are cut, the SDK
accumulates the message that the non-streaming translation gives for the same answer."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from ocigate.translate.anthropic.response import from_chat_response
from ocigate.translate.anthropic.stream import MessagesStreamTranslator

JSON = dict[str, Any]
REQUEST: JSON = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [], "stream": True}
EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)


def chunk(delta: JSON, finish: str | None = None) -> JSON:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def translate(chunks: list[JSON], fail: str | None = None) -> bytes:
    translator = MessagesStreamTranslator(REQUEST, "msg_test", input_estimate=5)
    out = translator.start()
    for item in chunks:
        out += translator.feed(item)
    out += translator.fail("api_error", fail) if fail is not None else translator.finish()
    return b"".join(out)


def decode(data: bytes, cuts: list[int] | None = None) -> list[JSON]:
    """The events as the SDK's SSE decoder reads them from ``data`` cut at ``cuts``; each event's name is its
    data's type, and each validates as the SDK's typed event."""
    points = sorted({0, *(cut for cut in cuts or [] if 0 < cut < len(data)), len(data)})
    pieces = [data[a:b] for a, b in zip(points, points[1:], strict=False)]
    events = []
    for sse in SSEDecoder().iter_bytes(iter(pieces)):
        body = orjson.loads(sse.data)
        assert sse.event == body["type"]
        if body["type"] not in ("error", "ping"):  # the SDK's stream handles these two itself
            EVENT.validate_python(body)
        events.append(body)
    return events


def accumulate(events: list[JSON]) -> JSON:
    snapshot = None
    buffers: dict[int, bytes] = {}
    for body in events:
        if body["type"] in ("ping", "error"):
            continue
        snapshot = accumulate_event(event=EVENT.validate_python(body), current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    result: JSON = snapshot.to_dict()
    return result


def check_sequence(events: list[JSON]) -> None:
    """message_start, ping, then blocks one at a time with indices 0, 1, …, then message_delta, message_stop."""
    kinds = [event["type"] for event in events]
    assert kinds[:2] == ["message_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    open_index: int | None = None
    expected = 0
    for event in events[2:-2]:
        if event["type"] == "content_block_start":
            assert open_index is None and event["index"] == expected
            open_index = expected
        elif event["type"] == "content_block_delta":
            assert event["index"] == open_index
        else:
            assert event["type"] == "content_block_stop" and event["index"] == open_index
            open_index, expected = None, expected + 1
    assert open_index is None


def test_text_reasoning_and_parallel_tool_calls() -> None:
    chunks = [
        chunk({"role": "assistant", "reasoning_content": "Think"}),
        chunk({"reasoning_content": "ing."}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "read", "arguments": '{"pa'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'th": "a.py"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "ls", "arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 9}},
    ]
    events = decode(translate(chunks))
    check_sequence(events)
    starts = [event["content_block"]["type"] for event in events if event["type"] == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use", "tool_use"]
    message = accumulate(events)
    assert [block["type"] for block in message["content"]] == starts
    assert message["content"][0]["thinking"] == "Thinking."
    assert message["content"][1]["text"] == "Hello"
    assert message["content"][2] == {"type": "tool_use", "id": "call_a", "name": "read", "input": {"path": "a.py"}}
    assert message["content"][3]["input"] == {}
    assert message["stop_reason"] == "tool_use"
    delta = events[-2]
    assert delta["usage"] == {
        "input_tokens": 40,
        "output_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


@pytest.mark.parametrize(("finish", "reason"), [("stop", "end_turn"), ("length", "max_tokens"), (None, "end_turn")])
def test_stop_reasons(finish: str | None, reason: str) -> None:
    events = decode(translate([chunk({"content": "x"}, finish)]))
    assert events[-2]["delta"] == {"stop_reason": reason, "stop_sequence": None}


def test_an_upstream_that_names_the_stop_sequence_met() -> None:
    request = {**REQUEST, "stop_sequences": ["END"]}
    translator = MessagesStreamTranslator(request, "msg_x")
    out = translator.feed(
        {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop", "stop_reason": "END"}]}
    )
    events = decode(b"".join(out + translator.finish()))
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}


def test_a_failure_mid_stream_is_an_error_event_and_the_end() -> None:
    events = decode(translate([chunk({"content": "partial"})], fail="Oracle went away"))
    assert events[-1] == {"type": "error", "error": {"type": "api_error", "message": "Oracle went away"}}
    assert [event["type"] for event in events].count("message_stop") == 0


def test_a_tool_call_whose_name_never_came_is_still_a_block() -> None:
    events = decode(translate([chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]})]))
    check_sequence(events)
    assert accumulate(events)["content"][0]["input"] == {"a": 1}


def test_nothing_but_a_finish_is_an_empty_message() -> None:
    events = decode(translate([chunk({}, "stop")]))
    check_sequence(events)
    assert accumulate(events)["content"] == []


# The property: any answer, any chunking of Oracle's stream, any cutting of the bytes.
_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
_args = st.dictionaries(
    st.text(min_size=1, max_size=8), st.one_of(st.integers(-(2**53), 2**53), _text, st.booleans()), max_size=4
)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, *(cut % (len(text) + 1) for cut in cuts), len(text)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False)] or [""]


@settings(max_examples=100, deadline=None)
@given(
    reasoning=_text,
    text=_text,
    calls=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), _args), max_size=4),
    finish=st.sampled_from(["stop", "length", "tool_calls", None]),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
    byte_cuts=st.lists(st.integers(0, 100_000), max_size=30),
)
def test_every_translated_stream_accumulates_to_the_non_streaming_message(
    reasoning: str,
    text: str,
    calls: list[tuple[str, JSON]],
    finish: str | None,
    cuts: list[int],
    byte_cuts: list[int],
) -> None:
    chunks = [chunk({"reasoning_content": piece}) for piece in _split(reasoning, cuts) if piece]
    chunks += [chunk({"content": piece}) for piece in _split(text, cuts) if piece]
    for index, (name, arguments) in enumerate(calls):
        fragments = _split(orjson.dumps(arguments).decode(), cuts)
        first = {"index": index, "id": f"call_{index}", "function": {"name": name, "arguments": fragments[0]}}
        chunks.append(chunk({"tool_calls": [first]}))
        chunks += [chunk({"tool_calls": [{"index": index, "function": {"arguments": f}}]}) for f in fragments[1:]]
    chunks.append(chunk({}, finish))
    chunks.append({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7}})
    events = decode(translate(chunks), byte_cuts)
    check_sequence(events)
    streamed = accumulate(events)
    message: JSON = {"content": text or None, "tool_calls": []}
    if reasoning:
        message["reasoning_content"] = reasoning
    for index, (name, arguments) in enumerate(calls):
        function = {"name": name, "arguments": orjson.dumps(arguments).decode()}
        message["tool_calls"].append({"id": f"call_{index}", "type": "function", "function": function})
    whole = {
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7},
    }
    expected = from_chat_response(whole, REQUEST, "msg_test")
    assert streamed["content"] == expected["content"]
    assert streamed["stop_reason"] == expected["stop_reason"]
    assert streamed["usage"]["output_tokens"] == expected["usage"]["output_tokens"] == 7
    assert streamed["usage"]["input_tokens"] == 11
