"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API on every chat model, so
that Claude Code and the Anthropic SDKs work on Oracle's models.

A Messages request is translated once to Chat Completions (``translate/anthropic/request.py``) and then takes the
chat route's way: the same per-deployment shaping (``pipeline/shaping.chat_for``: upstream model name, the family's
clean-up), so Oracle's OpenAI-compatible API and its native GENERIC and COHERE formats (through the native
provider's own translation) serve it with no provider code of its own, and keys, limits, budgets, usage, audit,
routing, retries, failover and metrics apply unchanged. The answer is translated back: a ``message``, or the chat
stream as Anthropic's event sequence (``translate/anthropic/stream.py``). Every error, authentication's included, is
in Anthropic's envelope and statuses (``anthropic_error``, given to the router for both paths), and a stream that
fails after its first byte ends with Anthropic's ``error`` event (``error_event``).

The ``anthropic-version`` and ``anthropic-beta`` headers are accepted and not needed: the translation is the same
for every version. ``count_tokens`` asks no upstream (Oracle has no counting endpoint): it checks the key may use
the model and answers the estimate of ``translate/anthropic/tokens.py``; it is not metered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import orjson

from ocigate.core.asgi import Request, Response, json_response
from ocigate.core.errors import GatewayError
from ocigate.core.sse import parse_events
from ocigate.core.types import JSON
from ocigate.governance.keys import KeyRecord, model_allowed, model_refused
from ocigate.pipeline.endpoint import Call
from ocigate.pipeline.run import Pipeline
from ocigate.pipeline.shaping import chat_for
from ocigate.routing.dispatch import DispatchedStream, Sent
from ocigate.routing.router import Deployment
from ocigate.schemas.json import parse_object
from ocigate.schemas.messages import check_messages
from ocigate.translate.anthropic.request import to_chat_request
from ocigate.translate.anthropic.response import (
    error_object,
    error_status,
    error_type,
    from_chat_response,
    new_message_id,
)
from ocigate.translate.anthropic.stream import MessagesStreamTranslator, event
from ocigate.translate.anthropic.tokens import estimate_input_tokens
from ocigate.translate.sanitize.profile import SanitizeProfile


def anthropic_error(err: GatewayError, request_id: str | None) -> tuple[int, bytes]:
    """The router's error format for the Messages paths: Anthropic's envelope and status."""
    return error_status(err), orjson.dumps(error_object(err, request_id))


class MessagesEndpoint:
    kind = "chat"
    name = "messages"
    path = "/v1/messages"
    streams = True

    def __init__(self, profiles: Mapping[str, SanitizeProfile] | None) -> None:
        self._profiles = profiles

    def check(self, payload: JSON) -> None:
        check_messages(payload)

    async def plan(self, call: Call) -> MessagesPlan:
        chat = to_chat_request(call.payload)
        return MessagesPlan(call.payload, chat, self._profiles, estimate_input_tokens(chat))

    def error_event(self, err: GatewayError, request_id: str) -> bytes:
        """A stream's last event when it fails after its first byte: Anthropic's ``error`` event."""
        return event("error", error_object(err, request_id))


class MessagesPlan:
    path = "chat/completions"
    closing: bytes | None = None

    def __init__(
        self, payload: JSON, chat: JSON, profiles: Mapping[str, SanitizeProfile] | None, estimate: int
    ) -> None:
        self._payload = payload
        self._chat = chat
        self._profiles = profiles
        self._estimate = estimate

    def body_for(self, deployment: Deployment) -> bytes:
        return orjson.dumps(chat_for(self._chat, deployment, self._profiles))

    async def reply(self, sent: Sent) -> tuple[int, bytes]:
        answer = from_chat_response(orjson.loads(sent.reply.body), self._payload, new_message_id())
        return 200, orjson.dumps(answer)

    def relay(self, stream: DispatchedStream, served: Deployment) -> AsyncIterator[bytes]:
        return self._translated(stream)

    async def _translated(self, stream: DispatchedStream) -> AsyncIterator[bytes]:
        translator = MessagesStreamTranslator(self._payload, new_message_id(), self._estimate)
        yield b"".join(translator.start())
        async for block in stream:
            out: list[bytes] = []
            for data in event_data(block):
                chunk = orjson.loads(data)
                if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                    out += translator.fail(error_type(500), str(chunk["error"].get("message", "upstream error")))
                elif isinstance(chunk, dict):
                    out += translator.feed(chunk)
            if out:
                yield b"".join(out)
        yield b"".join(translator.finish())


def event_data(block: bytes) -> list[bytes | str]:
    """The data of each event of a block of complete SSE events, ``[DONE]`` left out. Chat streams send one
    ``data: {...}`` line per event, read here without the general parser (a third of a stream's translation
    cost); any other form (``event:`` or comment lines, data over several lines, CRLF) goes to ``parse_events``."""
    found: list[bytes | str] = []
    for raw in block.split(b"\n\n"):
        if not raw:
            continue
        if not raw.startswith(b"data: ") or b"\n" in raw or b"\r" in raw:
            return [sse.data for sse in parse_events(block) if sse.data and not sse.is_done]
        if raw != b"data: [DONE]":
            found.append(raw[6:])
    return found


class CountTokens:
    """``POST /v1/messages/count_tokens``: the estimate, for a model the key may use; no upstream is asked."""

    def __init__(self, pipeline: Pipeline, endpoint: MessagesEndpoint) -> None:
        self._pipeline = pipeline
        self._endpoint = endpoint

    async def __call__(self, request: Request) -> Response:
        payload = parse_object(await request.body())
        check_messages(payload, counting=True)
        model = payload["model"]
        routed = self._pipeline.resolve(request, model, self._endpoint)
        key: KeyRecord | None = request.state.get("key")
        if key is not None and not model_allowed(key, routed.model or model):
            raise model_refused(key, model)
        return json_response({"input_tokens": estimate_input_tokens(to_chat_request(payload))})
