"""A Chat Completions stream as the Responses API's typed event stream.

Usage::

    translator = ResponsesStreamTranslator(request, response_id="resp_abc", created_at=now)
    yield from translator.start()                # response.created, response.in_progress
    for chunk in chat_chunks:                    # parsed chat.completion.chunk objects
        yield from translator.feed(chunk)
    yield from translator.finish()               # closes open items; response.completed (or .incomplete)
    store(translator.final_response())

Every event is ``event: <type>`` plus ``data: {"type": <type>, "sequence_number": n, ...}``, in the order the
OpenAI SDK's ``responses.stream()`` accumulates: an item is added before its parts and deltas, and every item
added is done before ``response.completed``, whose response is the one :func:`from_chat_response` would build.
Reasoning is streamed as a reasoning summary, text as an ``output_text`` part, and each chat tool call (by its
``index``) as a ``function_call`` item whose arguments arrive as deltas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from ocigate.core.sse import encode_event
from ocigate.core.types import JSON
from ocigate.translate.responses.output import (
    function_call_item,
    incomplete_reason,
    item_id,
    message_item,
    output_text_part,
    reasoning_item,
    reasoning_text,
    response_object,
    usage_from_chat,
)


@dataclass(slots=True)
class _Text:
    """The reasoning or message item being streamed; its text is joined once, when it closes."""

    kind: str  # "reasoning" or "message"
    index: int
    id: str
    deltas: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Call:
    """One chat tool call. It becomes an output item once its name is known; arguments wait until then."""

    call_id: str | None = None
    name: str | None = None
    index: int | None = None  # output index, once added
    arguments: list[str] = field(default_factory=list)
    sent: int = 0  # how many argument fragments have been emitted


class ResponsesStreamTranslator:
    def __init__(self, request: JSON, response_id: str, created_at: int) -> None:
        self._id = response_id
        # The envelope of every snapshot: the request it echoes, its id and its creation time never change.
        self._response = partial(response_object, request, response_id=response_id, created_at=created_at)
        self._sequence = 0
        self._items: list[JSON | None] = []  # by output index; None while the item is still open
        self._text: _Text | None = None
        self._calls: dict[int, _Call] = {}  # by the chat tool call's index
        self._finish_reason: str | None = None
        self._usage: JSON | None = None
        self._error: JSON | None = None
        self._started = False
        self._ended = False

    def start(self) -> list[bytes]:
        """``response.created`` and ``response.in_progress``; nothing if already started."""
        if self._started:
            return []
        self._started = True
        snapshot = self._response(status="in_progress", output=[], usage=None)
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def feed(self, chunk: JSON) -> list[bytes]:
        """The events for one ``chat.completion.chunk`` (often none: a role-only or usage-only chunk)."""
        events = self.start()
        if self._ended:
            return events
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1: the Responses API has a single output
            delta = choice.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            reasoning = reasoning_text(delta)
            if reasoning:
                events += self._text_delta("reasoning", reasoning)
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str) and delta[key]:
                    events += self._text_delta("message", delta[key])
            for position, call in enumerate(delta.get("tool_calls") or []):
                if isinstance(call, dict):
                    events += self._call_delta(call, position)
            if isinstance(choice.get("finish_reason"), str):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[bytes]:
        """Close what is open and end with ``response.completed``, or ``response.incomplete`` when cut short."""
        events = self.start()
        if self._ended:
            return events
        status = "incomplete" if incomplete_reason(self._finish_reason) else "completed"
        # Only the last item is cut short; a call still waiting for its name will be added after the text.
        last = all(call.index is not None for call in self._calls.values())
        events += self._close_text(status if last else "completed")
        for chat_index in sorted(self._calls):
            events += self._close_call(self._calls[chat_index], status)
        self._ended = True
        final = self.final_response()
        kind = "response.incomplete" if status == "incomplete" else "response.completed"
        return [*events, self._event(kind, response=final)]

    def fail(self, message: str) -> list[bytes]:
        """An ``error`` event and ``response.failed``: the upstream broke off. Nothing once the stream has ended."""
        events = self.start()
        if self._ended:
            return events
        self._ended = True
        self._error = {"code": "server_error", "message": message}
        return [
            *events,
            self._event("error", code="server_error", message=message, param=None),
            self._event("response.failed", response=self.final_response()),
        ]

    def final_response(self) -> JSON:
        """The response as it stands: after :meth:`finish` the object ``response.completed`` carried, after
        :meth:`fail` the failed one."""
        usage = usage_from_chat(self._usage)
        if self._error is not None:
            return self._response(status="failed", output=self._snapshot(), usage=usage, error=self._error)
        reason = incomplete_reason(self._finish_reason)
        status = "incomplete" if reason else "completed" if self._ended else "in_progress"
        return self._response(status=status, output=self._snapshot(), usage=usage, incomplete=reason)

    def _snapshot(self) -> list[JSON]:
        """Every item: closed ones as they closed, open ones as they stand (``in_progress``)."""
        output = list(self._items)
        if self._text is not None:
            output[self._text.index] = self._text_item(self._text, "in_progress")
        for call in self._calls.values():
            if call.index is not None and output[call.index] is None:
                output[call.index] = self._call_item(call, call.index, "in_progress")
        return [item for item in output if item is not None]

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return encode_event(orjson.dumps(data), kind)

    def _add(self, prefix: str) -> tuple[int, str]:
        index = len(self._items)
        self._items.append(None)
        return index, item_id(prefix, self._id, index)

    def _text_delta(self, kind: str, delta: str) -> list[bytes]:
        events: list[bytes] = []
        text = self._text
        if text is None or text.kind != kind:
            events += self._close_text("completed")
            index, id = self._add("rs" if kind == "reasoning" else "msg")
            text = self._text = _Text(kind, index, id)
            events.append(self._event("response.output_item.added", output_index=index, item=_opening(text)))
            if kind == "reasoning":
                part = {"type": "summary_text", "text": ""}
                events.append(self._event("response.reasoning_summary_part.added", **_at(text), part=part))
            else:
                events.append(self._event("response.content_part.added", **_at(text), part=output_text_part("")))
        text.deltas.append(delta)
        if kind == "reasoning":
            return [*events, self._event("response.reasoning_summary_text.delta", **_at(text), delta=delta)]
        return [*events, self._event("response.output_text.delta", **_at(text), delta=delta, logprobs=[])]

    def _close_text(self, status: str) -> list[bytes]:
        text, self._text = self._text, None
        if text is None:
            return []
        item = self._items[text.index] = self._text_item(text, status)
        if text.kind == "reasoning":
            part = item["summary"][0]
            events = [
                self._event("response.reasoning_summary_text.done", **_at(text), text=part["text"]),
                self._event("response.reasoning_summary_part.done", **_at(text), part=part),
            ]
        else:
            part = item["content"][0]
            events = [
                self._event("response.output_text.done", **_at(text), text=part["text"], logprobs=[]),
                self._event("response.content_part.done", **_at(text), part=part),
            ]
        return [*events, self._event("response.output_item.done", output_index=text.index, item=item)]

    @staticmethod
    def _text_item(text: _Text, status: str) -> JSON:
        joined = "".join(text.deltas)
        if text.kind == "reasoning":
            return reasoning_item(text.id, joined)
        return message_item(text.id, joined, status)

    def _call_delta(self, delta: JSON, position: int) -> list[bytes]:
        chat_index = delta.get("index")
        if not isinstance(chat_index, int):
            chat_index = position  # upstreams that omit the index send each call whole, in order
        call = self._calls.setdefault(chat_index, _Call())
        if call.call_id is None and isinstance(delta.get("id"), str) and delta["id"]:
            call.call_id = delta["id"]
        function = delta.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        if call.name is None and isinstance(name, str) and name:
            call.name = name  # set once: some upstreams repeat the name in every fragment
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments.append(arguments)
        if call.index is None and call.name is None:
            return []
        return self._send_arguments(call)

    def _send_arguments(self, call: _Call) -> list[bytes]:
        events: list[bytes] = []
        if call.index is None:
            events += self._close_text("completed")
            call.index, _ = self._add("fc")
            opening = self._call_item(call, call.index, None)
            events.append(self._event("response.output_item.added", output_index=call.index, item=opening))
        where: JSON = {"item_id": item_id("fc", self._id, call.index), "output_index": call.index}
        if call.sent < len(call.arguments):
            delta = "".join(call.arguments[call.sent :])
            call.sent = len(call.arguments)
            events.append(self._event("response.function_call_arguments.delta", **where, delta=delta))
        return events

    def _close_call(self, call: _Call, status: str) -> list[bytes]:
        events = self._send_arguments(call)
        assert call.index is not None  # _send_arguments added it
        item = self._items[call.index] = self._call_item(call, call.index, status)
        where: JSON = {"item_id": item["id"], "output_index": call.index}
        done = {"name": item["name"], "arguments": item["arguments"]}
        return [
            *events,
            self._event("response.function_call_arguments.done", **where, **done),
            self._event("response.output_item.done", output_index=call.index, item=item),
        ]

    def _call_item(self, call: _Call, index: int, status: str | None) -> JSON:
        """The item; ``status`` None is the opening form: in progress, arguments still empty."""
        return function_call_item(
            item_id("fc", self._id, index),
            call.call_id or item_id("call", self._id, index),
            call.name or "",
            "" if status is None else "".join(call.arguments),
            status or "in_progress",
        )


def _opening(text: _Text) -> JSON:
    if text.kind == "reasoning":
        return {"id": text.id, "type": "reasoning", "summary": []}
    return {"id": text.id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}


def _at(text: _Text) -> JSON:
    """Where a text event points: the item, and its one summary part or content part."""
    where: JSON = {"item_id": text.id, "output_index": text.index}
    where["summary_index" if text.kind == "reasoning" else "content_index"] = 0
    return where
