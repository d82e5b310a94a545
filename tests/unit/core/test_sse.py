from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ocigate.core.sse import SSEEvent, SSEFramer, SSEParser, encode_event, parse_events

STREAM = (
    'data: {"text":"h\u00e9llo \u4e16\u754c \U0001f600"}\n\n'
    ": keep-alive\n\n"
    "event: response.output_text.delta\ndata: line one\ndata: line two\nid: 7\n\n"
    "data: [DONE]\n\n"
).encode()
EXPECTED = [
    (None, '{"text":"h\u00e9llo \u4e16\u754c \U0001f600"}', None),
    ("response.output_text.delta", "line one\nline two", "7"),
    (None, "[DONE]", None),
]


def _parse(data: bytes, cuts: list[int]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    start = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        events += parser.feed(data[start:cut])
        start = cut
    last = parser.close()
    return events + ([last] if last else [])


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_events_survive_any_split_and_line_ending(cuts: list[int], newline: str) -> None:
    data = STREAM.replace(b"\n", newline.encode())
    events = _parse(data, [c for c in cuts if c <= len(data)])
    assert [(e.event, e.data, e.id) for e in events] == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_raw_bytes_are_the_received_event_bytes(cuts: list[int]) -> None:
    events = _parse(STREAM, cuts)
    assert b"".join(e.raw for e in events) == STREAM.replace(b": keep-alive\n\n", b"")


def test_multibyte_character_cut_in_half_is_decoded_whole() -> None:
    data = 'data: {"t":"\u4e16"}\n\n'.encode()
    cut = data.index("\u4e16".encode()) + 1
    parser = SSEParser()
    assert parser.feed(data[:cut]) == []
    (event,) = parser.feed(data[cut:])
    assert event.data == '{"t":"\u4e16"}'


def test_unterminated_last_event_is_returned_by_close() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"a":1}') == []
    last = parser.close()
    assert last is not None and last.data == '{"a":1}' and last.raw == b'data: {"a":1}\n\n'
    assert parser.close() is None


def test_done_marker_and_field_without_space() -> None:
    parser = SSEParser()
    events = parser.feed(b"data:[DONE]\n\n")
    assert events[0].is_done


def test_encode_event_splits_multiline_data() -> None:
    assert encode_event("a\nb", "x") == b"event: x\ndata: a\ndata: b\n\n"
    parser = SSEParser()
    (event,) = parser.feed(encode_event("a\nb", "x"))
    assert (event.event, event.data) == ("x", "a\nb")


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_framer_forwards_only_whole_events_whatever_the_split(cuts: list[int], newline: str) -> None:
    data = STREAM.replace(b"\n", newline.encode())
    framer = SSEFramer()
    blocks: list[bytes] = []
    start = 0
    for cut in sorted({c for c in cuts if c <= len(data)}) + [len(data)]:
        block = framer.feed(data[start:cut])
        start = cut
        if block:
            blocks.append(block)
            # Every block ends on an event boundary: nothing is forwarded half.
            assert block.endswith((b"\n\n", b"\r\r", b"\r\n\r\n"))
    blocks.append(framer.close())
    events = [e for block in blocks for e in parse_events(block)]
    assert [(e.event, e.data, e.id) for e in events] == EXPECTED


def test_framer_returns_unterminated_last_event_on_close() -> None:
    framer = SSEFramer()
    assert framer.feed(b'data: {"a":1}\n\ndata: {"b"') == b'data: {"a":1}\n\n'
    assert framer.feed(b":2}") == b""
    assert framer.close() == b'data: {"b":2}\n\n'
