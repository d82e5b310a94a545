"""The Responses API's stream: the typed event sequence the OpenAI SDK's ``responses.stream()`` accumulates.

Every event is ``event: <type>`` plus ``data: {"type": <type>, "sequence_number": n, ...}``; the stream ends
with ``response.completed`` (or ``response.incomplete``) and no ``[DONE]``, as OpenAI's does.
"""

from __future__ import annotations

from typing import Any

import orjson

from ocigate.core.types import JSON
from ocigate.emulator.generation import Generation, chunk_words, split_arguments


class _Sequence:
    def __init__(self) -> None:
        self.events: list[bytes] = []

    def add(self, kind: str, **fields: Any) -> None:
        data = {"type": kind, "sequence_number": len(self.events), **fields}
        self.events.append(b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n")


def _reasoning(seq: _Sequence, index: int, item: JSON) -> None:
    item_id = item["id"]
    text = item["summary"][0]["text"]
    seq.add("response.output_item.added", output_index=index, item={**item, "summary": []})
    where: JSON = {"item_id": item_id, "output_index": index, "summary_index": 0}
    seq.add("response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""})
    for word in chunk_words(text):
        seq.add("response.reasoning_summary_text.delta", **where, delta=word)
    seq.add("response.reasoning_summary_text.done", **where, text=text)
    seq.add("response.reasoning_summary_part.done", **where, part={"type": "summary_text", "text": text})
    seq.add("response.output_item.done", output_index=index, item=item)


def _message(seq: _Sequence, index: int, item: JSON) -> None:
    part = item["content"][0]
    text = part["text"]
    seq.add("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
    where: JSON = {"item_id": item["id"], "output_index": index, "content_index": 0}
    seq.add("response.content_part.added", **where, part={**part, "text": ""})
    for word in chunk_words(text):
        seq.add("response.output_text.delta", **where, delta=word, logprobs=[])
    seq.add("response.output_text.done", **where, text=text, logprobs=[])
    seq.add("response.content_part.done", **where, part=part)
    seq.add("response.output_item.done", output_index=index, item=item)


def _function_call(seq: _Sequence, index: int, item: JSON) -> None:
    arguments = item["arguments"]
    opening = {**item, "arguments": "", "status": "in_progress"}
    seq.add("response.output_item.added", output_index=index, item=opening)
    where: JSON = {"item_id": item["id"], "output_index": index}
    for fragment in split_arguments(arguments):
        seq.add("response.function_call_arguments.delta", **where, delta=fragment)
    seq.add("response.function_call_arguments.done", **where, name=item["name"], arguments=arguments)
    seq.add("response.output_item.done", output_index=index, item=item)


_ITEMS = {"reasoning": _reasoning, "message": _message, "function_call": _function_call}


def stream_events(final: JSON, gen: Generation) -> list[bytes]:
    seq = _Sequence()
    # The lifecycle snapshots before the end carry no output, usage or output_text yet.
    started = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    del started["output_text"]
    seq.add("response.created", response=started)
    seq.add("response.in_progress", response=started)
    for index, item in enumerate(final["output"]):
        _ITEMS[item["type"]](seq, index, item)
    ending = {key: value for key, value in final.items() if key != "output_text"}
    seq.add("response.incomplete" if gen.finish_reason == "length" else "response.completed", response=ending)
    return seq.events
