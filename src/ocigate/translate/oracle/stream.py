"""Oracle's native chat stream (doc §3.6) as OpenAI ``chat.completion.chunk`` dicts.

Usage::

    translator = OciStreamTranslator("GENERIC", model="meta.llama-3.3-70b-instruct", completion_id=cid,
                                     created=now, include_usage=True)
    for event in parser.feed(read):            # ocigate.core.sse.SSEParser
        for chunk in translator.feed(event.data):
            send(chunk)
    for chunk in translator.finish():          # at the end of the upstream stream
        send(chunk)
    # then the caller sends "data: [DONE]"; translator.usage holds the usage even when the client did not ask

What the translator copes with, per format:

- GENERIC: bare ChatChoice-like events with a random ``pad``, no ``apiFormat`` and no ``[DONE]``; tool-call
  arguments in fragments whose id comes only on the first; a last event with only ``finishReason`` (or with an
  empty message); usage at the top level of an event or inside its choice.
- COHERE: text deltas and tool-call events, then a terminal event that repeats the whole text (and the tool calls)
  with ``finishReason`` and ``chatHistory``: what was already sent is not sent again.
- COHEREV2: ``message.content`` TEXT and THINKING deltas, tool-call fragments, a ``finishReason`` event.
- Several JSON objects in one event's data, separated by newlines (LL saw events separated by a single newline,
  which an SSE parser joins into one event), and a stray ``[DONE]``.
"""

from __future__ import annotations

import json

import orjson

from ocigate.core.errors import UpstreamError
from ocigate.core.types import JSON
from ocigate.translate.oracle.chat_response import (
    as_object,
    as_text,
    finish_reason,
    synth_call_id,
    text_of,
    to_openai_usage,
)

_DECODER = json.JSONDecoder()


class OciStreamTranslator:
    def __init__(self, api_format: str, *, model: str, completion_id: str, created: int, include_usage: bool) -> None:
        self.api_format = api_format
        self.include_usage = include_usage
        self.usage: JSON | None = None
        self._head: JSON = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
        }
        self._role_sent = False
        self._text_sent = False
        self._call_ids: dict[str, int] = {}  # tool-call id → OpenAI index
        self._calls = 0  # tool calls opened
        self._finish: str | None = None

    def feed(self, event_data: str) -> list[JSON]:
        """The chunks for one SSE event's data (possibly several JSON objects)."""
        chunks: list[JSON] = []
        for event in parse_objects(event_data):
            raw_usage = event.get("usage")
            if raw_usage is not None:
                usage = to_openai_usage(raw_usage)
                if usage is not None:
                    self.usage = usage
            if self._finish is not None:
                continue  # after the finish only usage counts
            if self.api_format == "COHERE":
                chunks.extend(self._cohere(event))
            elif self.api_format == "COHEREV2":
                chunks.extend(self._cohere_v2(event))
            else:
                chunks.extend(self._generic(event))
        return chunks

    def finish(self) -> list[JSON]:
        """The finish chunk if the upstream sent no finishReason, and the usage chunk (``choices: []``) if asked."""
        chunks: list[JSON] = []
        if self._finish is None:
            chunks.append(self._end(None))
        if self.include_usage and self.usage is not None:
            chunks.append({**self._head, "choices": [], "usage": self.usage})
        return chunks

    def _chunk(self, delta: JSON, finish: str | None = None) -> JSON:
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", **delta}
            delta.setdefault("content", None if "tool_calls" in delta else "")
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**self._head, "choices": [choice]}

    def _end(self, raw_reason: object) -> JSON:
        self._finish = finish_reason(raw_reason, has_tool_calls=self._calls > 0)
        return self._chunk({}, self._finish)

    def _deltas(self, text: str, reasoning: str, calls: list[JSON]) -> list[JSON]:
        chunks: list[JSON] = []
        if reasoning:
            chunks.append(self._chunk({"reasoning_content": reasoning}))
        if text:
            self._text_sent = True
            chunks.append(self._chunk({"content": text}))
        if calls:
            chunks.append(self._chunk({"tool_calls": calls}))
        return chunks

    def _fragment(self, call_id: object, name: object, arguments: object) -> JSON | None:
        """The OpenAI tool-call delta for one fragment: a new call when it brings an id not seen before (or when
        no call is open yet), else more arguments for the call its id names, or for the last one."""
        args = arguments if isinstance(arguments, str) else ("" if arguments is None else json.dumps(arguments))
        has_id = isinstance(call_id, str) and bool(call_id)
        known = self._call_ids.get(call_id) if isinstance(call_id, str) and has_id else None
        if known is None and (has_id or not self._calls):
            index = self._calls
            self._calls += 1
            new_id = call_id if isinstance(call_id, str) and has_id else synth_call_id(str(name or ""), args, index)
            self._call_ids[new_id] = index
            function = {"name": name if isinstance(name, str) else "", "arguments": args}
            return {"index": index, "id": new_id, "type": "function", "function": function}
        if not args:
            return None
        return {"index": self._calls - 1 if known is None else known, "function": {"arguments": args}}

    def _generic(self, event: JSON) -> list[JSON]:
        listed = event.get("choices")
        choices = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else (event,)
        chunks: list[JSON] = []
        for choice in choices:
            raw_usage = choice.get("usage") if choice is not event else None  # feed() read the event's own
            if raw_usage is not None:
                usage = to_openai_usage(raw_usage)
                if usage is not None:
                    self.usage = usage
            message = choice.get("message")
            if type(message) is not dict:
                message = as_object(message)
            calls: list[JSON] = []
            fragments = message.get("toolCalls")
            if fragments:
                for call in fragments:
                    if isinstance(call, dict):
                        delta = self._fragment(call.get("id"), call.get("name"), call.get("arguments"))
                        if delta is not None:
                            calls.append(delta)
            reasoning = message.get("reasoningContent")
            if reasoning is None:
                text = text_of(message.get("content"))
                if text and not calls:  # the usual event: a piece of text
                    self._text_sent = True
                    chunks.append(self._chunk({"content": text}))
                else:
                    chunks.extend(self._deltas(text, "", calls))
            else:
                reasoning = reasoning if isinstance(reasoning, str) else ""
                chunks.extend(self._deltas(text_of(message.get("content")), reasoning, calls))
            if choice.get("finishReason") is not None:
                chunks.append(self._end(choice["finishReason"]))
                break
        return chunks

    def _cohere(self, event: JSON) -> list[JSON]:
        terminal = event.get("finishReason") is not None
        text = as_text(event.get("text"))
        if terminal and self._text_sent:
            text = ""  # the terminal event repeats the whole text (doc §3.6)
        listed = event.get("toolCalls")
        raw_calls = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
        if terminal:
            raw_calls = raw_calls[self._calls :]  # and the calls already streamed
        calls = []
        for call in raw_calls:
            name = str(call.get("name", ""))
            parameters = as_object(call.get("parameters"))
            index = self._calls
            self._calls += 1
            function = {"name": name, "arguments": json.dumps(parameters)}
            calls.append(
                {"index": index, "id": synth_call_id(name, parameters, index), "type": "function", "function": function}
            )
        chunks = self._deltas(text, "", calls)
        if terminal:
            chunks.append(self._end(event["finishReason"]))
        return chunks

    def _cohere_v2(self, event: JSON) -> list[JSON]:
        terminal = event.get("finishReason") is not None
        message = as_object(event.get("message"))
        content = message.get("content")
        text = "" if terminal and self._text_sent else text_of(content)
        reasoning = "" if terminal and self._text_sent else text_of(content, "THINKING", "thinking")
        calls: list[JSON] = []
        if not (terminal and self._calls):
            for call in message.get("toolCalls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict):
                    continue
                delta = self._fragment(call.get("id"), function.get("name"), function.get("arguments"))
                if delta is not None:
                    calls.append(delta)
        chunks = self._deltas(text, reasoning, calls)
        if terminal:
            chunks.append(self._end(event["finishReason"]))
        return chunks


def parse_objects(data: str) -> list[JSON]:
    """The JSON objects in one event's data: usually one, several when events were separated by a single newline.
    ``[DONE]`` (which Oracle does not send, but some relays add) is skipped. An error object mid-stream
    (``{"code", "message"}``) and data that is not JSON raise :class:`~ocigate.core.errors.UpstreamError`."""
    try:
        single = orjson.loads(data)  # the common case, at orjson's speed
    except orjson.JSONDecodeError:
        return _parse_several(data)
    if isinstance(single, dict):
        _raise_if_error(single)
        return [single]
    return []


def _parse_several(data: str) -> list[JSON]:
    objects: list[JSON] = []
    pos = 0
    size = len(data)
    while pos < size:
        while pos < size and data[pos] in " \t\r\n":
            pos += 1
        if pos >= size:
            break
        if data.startswith("[DONE]", pos):
            pos += 6
            continue
        if data.startswith("data:", pos):
            pos += 5
            continue
        try:
            value, pos = _DECODER.raw_decode(data, pos)
        except ValueError:
            raise _bad_event(f"Oracle sent a stream event that is not JSON: {data[:200]!r}") from None
        if isinstance(value, dict):
            _raise_if_error(value)
            objects.append(value)
    return objects


def _raise_if_error(value: JSON) -> None:
    if "code" in value and isinstance(value["code"], str | int) and "message" in value and len(value) <= 3:
        raise UpstreamError(
            f"Oracle ended the stream with an error: {value.get('message')}",
            status=502,
            type="api_error",
            code="upstream_error",
            upstream_code=str(value["code"]),
        )


def _bad_event(message: str) -> UpstreamError:
    return UpstreamError(message, status=502, type="api_error", code="bad_upstream_response")
