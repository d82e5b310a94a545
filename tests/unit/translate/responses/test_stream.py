"""ResponsesStreamTranslator: the event sequence, its edge cases, and agreement with from_chat_response."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from ocigate.core.sse import parse_events
from ocigate.translate.responses.output import from_chat_response
from ocigate.translate.responses.stream import ResponsesStreamTranslator

JSON = dict[str, Any]
REQUEST: JSON = {"model": "meta.llama-3.3-70b-instruct", "input": "Hi", "stream": True}
EVENT = TypeAdapter(ResponseStreamEvent)


def chunk(delta: JSON, finish: str | None = None, index: int = 0) -> JSON:
    return {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def run(chunks: list[JSON], *, end: str | None = "finish") -> tuple[ResponsesStreamTranslator, list[JSON]]:
    translator = ResponsesStreamTranslator(REQUEST, "resp_s", 7)
    frames = translator.start()
    for item in chunks:
        frames += translator.feed(item)
    if end == "finish":
        frames += translator.finish()
    elif end is not None:
        frames += translator.fail(end)
    events = [orjson.loads(event.data) for event in parse_events(b"".join(frames))]
    for event in events:
        EVENT.validate_python(event)
    return translator, events


def types(events: list[JSON]) -> list[str]:
    return [event["type"] for event in events]


def test_sequence_numbers_increase_from_zero() -> None:
    _, events = run([chunk({"content": "a"}), chunk({"content": "b"}, "stop")])
    assert [event["sequence_number"] for event in events] == list(range(len(events)))


def test_start_is_sent_once_and_implied_by_feed() -> None:
    translator = ResponsesStreamTranslator(REQUEST, "resp_s", 7)
    first = translator.feed(chunk({"content": "a"}))
    assert [event.event for event in parse_events(b"".join(first))][:2] == ["response.created", "response.in_progress"]
    assert translator.start() == []


def test_nothing_after_the_end() -> None:
    translator, _ = run([chunk({"content": "a"}, "stop")])
    assert (
        translator.finish() == [] and translator.fail("late") == [] and translator.feed(chunk({"content": "x"})) == []
    )
    assert translator.final_response()["status"] == "completed"


def test_an_empty_stream_completes_with_no_output() -> None:
    translator, events = run([])
    assert types(events) == ["response.created", "response.in_progress", "response.completed"]
    assert translator.final_response()["output"] == []


def test_fail_closes_nothing_but_reports_what_was_said() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"a"'}}
    translator, events = run([chunk({"content": "Hal"}), chunk({"tool_calls": [call]})], end="upstream died")
    assert types(events)[-2:] == ["error", "response.failed"]
    assert events[-2]["message"] == "upstream died"
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": "upstream died"}
    assert [(item["type"], item["status"]) for item in failed["output"]] == [
        ("message", "completed"),
        ("function_call", "in_progress"),
    ]
    assert failed["output"][1]["arguments"] == '{"a"'
    assert translator.final_response() == failed


def test_fail_with_text_still_open_snapshots_it_in_progress() -> None:
    _, events = run([chunk({"reasoning_content": "hm"})], end="gone")
    assert events[-1]["response"]["output"] == [
        {"id": "rs_s_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}]}
    ]


def test_final_response_before_the_end_is_in_progress() -> None:
    translator = ResponsesStreamTranslator(REQUEST, "resp_s", 7)
    translator.feed(chunk({"content": "partial"}))
    snapshot = translator.final_response()
    assert snapshot["status"] == "in_progress"
    assert snapshot["output"][0]["status"] == "in_progress"


def test_a_call_waits_for_its_name_before_it_is_added() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"arguments": '{"x":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "1}"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": ""}}]}),  # repeats the name
        chunk({}, "tool_calls"),
    ]
    _, events = run(chunks)
    assert types(events)[2:4] == ["response.output_item.added", "response.function_call_arguments.delta"]
    assert events[3]["delta"] == '{"x":1}'
    assert events[-1]["response"]["output"][0]["name"] == "f"


def test_a_call_that_never_named_itself_is_still_closed() -> None:
    _, events = run([chunk({"content": "x"}), chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})])
    output = events[-1]["response"]["output"]
    assert [(item["type"], item["status"]) for item in output] == [
        ("message", "completed"),
        ("function_call", "completed"),
    ]
    assert output[1]["name"] == "" and output[1]["call_id"] == "call_s_1"


def test_calls_without_index_are_whole_calls_in_order() -> None:
    calls = [
        {"id": "a", "function": {"name": "f", "arguments": "{}"}},
        {"id": "b", "function": {"name": "g", "arguments": "[]"}},
    ]
    _, events = run([chunk({"tool_calls": calls}, "tool_calls")])
    output = events[-1]["response"]["output"]
    assert [(item["call_id"], item["name"], item["arguments"]) for item in output] == [
        ("a", "f", "{}"),
        ("b", "g", "[]"),
    ]


def test_other_choices_malformed_parts_and_usage_only_chunks_are_ignored() -> None:
    chunks = [
        chunk({"content": "other"}, index=1),
        {"choices": ["junk", {"index": 0, "delta": None}]},
        chunk({"tool_calls": ["junk"]}),
        chunk({"refusal": "No."}),
        {"choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 1}},
    ]
    translator, _ = run(chunks)
    final = translator.final_response()
    assert final["output"][0]["content"][0]["text"] == "No."
    assert final["usage"]["total_tokens"] == 3


def test_text_after_reasoning_after_text_makes_new_items() -> None:
    _, events = run([chunk({"content": "a"}), chunk({"reasoning": "b"}), chunk({"content": "c"}), chunk({}, "length")])
    output = events[-1]["response"]["output"]
    assert [(item["type"], item.get("status")) for item in output] == [
        ("message", "completed"),
        ("reasoning", None),
        ("message", "incomplete"),
    ]
    assert types(events)[-1] == "response.incomplete"


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
cut_lists = st.lists(st.integers(min_value=0, max_value=60), max_size=6)
calls = st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), texts, cut_lists), max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    reasoning=texts,
    content=texts,
    tool_calls=calls,
    reasoning_cuts=cut_lists,
    content_cuts=cut_lists,
    finish=st.sampled_from(["stop", "length", "tool_calls"]),
)
def test_streamed_answer_equals_the_whole_answer(
    reasoning: str,
    content: str,
    tool_calls: list[tuple[str, str, list[int]]],
    reasoning_cuts: list[int],
    content_cuts: list[int],
    finish: str,
) -> None:
    """However the upstream splits an answer, the stream ends with what from_chat_response builds for it whole."""
    chunks = [chunk({"role": "assistant"})]
    chunks += [chunk({"reasoning_content": piece}) for piece in split(reasoning, reasoning_cuts)]
    chunks += [chunk({"content": piece}) for piece in split(content, content_cuts)]
    message: JSON = {"role": "assistant", "content": content or None, "reasoning_content": reasoning or None}
    if tool_calls:
        message["tool_calls"] = []
    for index, (name, arguments, cuts) in enumerate(tool_calls):
        call_id = f"call_{index}"
        chunks.append(chunk({"tool_calls": [{"index": index, "id": call_id, "function": {"name": name}}]}))
        for piece in split(arguments, cuts):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        message["tool_calls"].append({"id": call_id, "function": {"name": name, "arguments": arguments}})
    chunks.append(chunk({}, finish))
    usage = {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    chunks.append({"choices": [], "usage": usage})
    translator, events = run(chunks)
    whole = {"choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}
    expected = from_chat_response(whole, REQUEST, response_id="resp_s", created_at=7)
    assert translator.final_response() == expected
    assert events[-1]["response"] == expected
    streamed = "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")
    assert streamed == content
