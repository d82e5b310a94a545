"""A Chat Completions stream as Anthropic's Messages stream: a small state machine.

Usage::

    translator = MessagesStreamTranslator(request, message_id="msg_abc", input_estimate=120)
    yield from translator.start()        # message_start, ping
    for chunk in chat_chunks:            # parsed chat.completion.chunk objects
        yield from translator.feed(chunk)
    yield from translator.finish()       # content_block_stop of the open block, message_delta, message_stop
    # or, when the upstream fails after the first byte:
    yield from translator.fail("overloaded_error", "...")   # an ``error`` event, as Anthropic's API sends

The events are exactly Anthropic's: ``message_start`` (the message with empty content), then for each content
block ``content_block_start``, its deltas (``thinking_delta``, ``text_delta`` or ``input_json_delta``) and
``content_block_stop``, one block open at a time and indexed from 0; then ``message_delta`` with the stop reason
and the usage, and ``message_stop``. A change of kind (reasoning to text, text to a tool call) closes the open block
and opens the next; each chat tool call (by its ``index``) is its own ``tool_use`` block, opened once its name is
known. Tool calls are taken in the order OpenAI's streams send them, one after the other: a new call closes the one
before it.

``message_start`` is sent before Oracle has counted the prompt, so its ``input_tokens`` is the gateway's estimate
(``tokens.py``); ``message_delta`` carries the counts Oracle reported (input included, as Anthropic's API does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from ocigate.core.types import JSON
from ocigate.translate.anthropic.response import message_object, new_tool_id, stop_reason, usage_of
from ocigate.translate.responses.output import reasoning_text


def event(kind: str, data: JSON) -> bytes:
    """One SSE event as Anthropic sends it: ``event: <type>`` and the data, whose ``type`` is the same."""
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


@dataclass(slots=True)
class _Call:
    id: str | None = None
    name: str | None = None
    block: int | None = None  # its content block's index, once opened
    pending: list[str] = field(default_factory=list)  # argument fragments waiting for the block to open


class MessagesStreamTranslator:
    def __init__(self, request: JSON, message_id: str, input_estimate: int = 0) -> None:
        self._request = request
        self._id = message_id
        self._estimate = input_estimate
        self._next = 0  # the next block's index
        self._open: str | None = None  # "thinking", "text" or "tool"
        self._calls: dict[int, _Call] = {}
        self._open_call: _Call | None = None
        self._finish: object = None
        self._choice: JSON = {}
        self._usage: object = None
        self._started = False
        self._ended = False

    def start(self) -> list[bytes]:
        """``message_start`` and a ``ping``; nothing once started."""
        if self._started:
            return []
        self._started = True
        message = message_object(self._id, str(self._request.get("model")), [], (None, None))
        message["usage"] = usage_of(None, self._estimate)
        return [event("message_start", {"message": message}), event("ping", {})]

    def feed(self, chunk: JSON) -> list[bytes]:
        """The events for one ``chat.completion.chunk`` (often none: a role-only or usage-only chunk)."""
        out = self.start()
        if self._ended:
            return out
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1: a message has a single answer
            delta = choice.get("delta")
            delta = delta if isinstance(delta, dict) else {}
            reasoning = reasoning_text(delta)
            if reasoning:
                out += self._text("thinking", reasoning)
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str) and delta[key]:
                    out += self._text("text", delta[key])
            for position, call in enumerate(delta.get("tool_calls") or []):
                if isinstance(call, dict):
                    out += self._call(call, position)
            if choice.get("finish_reason") is not None:
                self._finish, self._choice = choice["finish_reason"], choice
        return out

    def finish(self) -> list[bytes]:
        """Close the open block (and any tool call still waiting for its name), then ``message_delta`` and
        ``message_stop``."""
        out = self.start()
        if self._ended:
            return out
        for call in self._calls.values():
            if call.block is None:  # never named: opened now, so that its arguments are not lost
                call.name = call.name or ""
                out += self._open_tool(call)
        out += self._close()
        self._ended = True
        stop = stop_reason(self._finish, self._choice, self._request.get("stop_sequences"))
        if self._calls and stop[0] == "end_turn":
            stop = ("tool_use", None)
        delta = {"stop_reason": stop[0], "stop_sequence": stop[1]}
        out.append(event("message_delta", {"delta": delta, "usage": usage_of(self._usage, self._estimate)}))
        out.append(event("message_stop", {}))
        return out

    def fail(self, kind: str, message: str) -> list[bytes]:
        """Anthropic's ``error`` event; the stream ends with it."""
        out = self.start()
        if self._ended:
            return out
        self._ended = True
        return [*out, event("error", {"error": {"type": kind, "message": message}})]

    def _text(self, kind: str, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self._open != kind:
            out += self._close()
            block: JSON = {"type": "text", "text": ""}
            if kind == "thinking":
                block = {"type": "thinking", "thinking": "", "signature": ""}
            out.append(event("content_block_start", {"index": self._next, "content_block": block}))
            self._open = kind
        delta = (
            {"type": "thinking_delta", "thinking": text} if kind == "thinking" else {"type": "text_delta", "text": text}
        )
        out.append(event("content_block_delta", {"index": self._next, "delta": delta}))
        return out

    def _call(self, given: JSON, position: int) -> list[bytes]:
        index = given.get("index", position)
        index = index if isinstance(index, int) else position
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _Call()
        function = given.get("function")
        function = function if isinstance(function, dict) else {}
        if isinstance(given.get("id"), str) and given["id"] and call.id is None:
            call.id = given["id"]
        if isinstance(function.get("name"), str) and function["name"]:
            call.name = (call.name or "") + function["name"] if call.block is None else call.name
        fragment = function.get("arguments")
        if isinstance(fragment, dict):
            fragment = orjson.dumps(fragment).decode()
        if isinstance(fragment, str) and fragment:
            call.pending.append(fragment)
        out: list[bytes] = []
        if call.block is None and call.name:
            out += self._open_tool(call)
        elif call is self._open_call and call.pending:
            out += self._arguments(call)
        return out

    def _open_tool(self, call: _Call) -> list[bytes]:
        out = self._close()
        call.block = self._next
        call.id = call.id or new_tool_id()
        block: JSON = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        out.append(event("content_block_start", {"index": call.block, "content_block": block}))
        self._open, self._open_call = "tool", call
        return out + self._arguments(call)

    def _arguments(self, call: _Call) -> list[bytes]:
        fragments, call.pending = call.pending, []
        if not fragments:
            return []
        delta = {"type": "input_json_delta", "partial_json": "".join(fragments)}
        return [event("content_block_delta", {"index": call.block, "delta": delta})]

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        closed = self._next
        self._open, self._open_call = None, None
        self._next += 1
        return [event("content_block_stop", {"index": closed})]
