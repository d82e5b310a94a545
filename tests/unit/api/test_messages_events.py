"""The Messages relay's reader of chat stream blocks: the fast path for ``data: {...}`` events gives exactly what the
general SSE parser gives, whatever form the events take."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ocigate.api.messages import event_data
from ocigate.core.sse import parse_events

_chunk = st.dictionaries(st.text(max_size=5), st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=8)), max_size=3)
_form = st.sampled_from(
    ["data: {}\n\n", "data:{}\n\n", "event: x\ndata: {}\n\n", "data: {}\r\n\r\n", ": c\n\ndata: {}\n\n"]
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_chunk, _form), min_size=1, max_size=5), st.booleans())
def test_the_fast_path_agrees_with_the_parser(events: list[tuple[dict[str, object], str]], done: bool) -> None:
    block = "".join(form.replace("{}", orjson.dumps(chunk).decode()) for chunk, form in events)
    raw = (block + ("data: [DONE]\n\n" if done else "")).encode()
    expected = [orjson.loads(e.data) for e in parse_events(raw) if e.data and not e.is_done]
    assert [orjson.loads(data) for data in event_data(raw)] == expected
