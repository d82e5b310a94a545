"""``POST /v1/chat/completions``: the request passed through, cleaned for the model's family on Oracle.

The hot path: one JSON parse of the request (re-serialised only when a deployment's model name or family needs
it), the upstream body returned as received, and stream events relayed as they arrive (``[DONE]`` added when an
upstream ends without it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import orjson

from ocigate.core.sse import DONE_EVENT
from ocigate.core.types import JSON
from ocigate.pipeline.endpoint import Call
from ocigate.pipeline.shaping import chat_for
from ocigate.routing.dispatch import DispatchedStream, Sent
from ocigate.routing.router import Deployment
from ocigate.schemas.chat import check_chat
from ocigate.translate.sanitize.profile import SanitizeProfile


class ChatEndpoint:
    kind = "chat"
    name = "chat"
    path = "/v1/chat/completions"
    streams = True

    def __init__(self, profiles: Mapping[str, SanitizeProfile] | None, recording: bool) -> None:
        self._profiles = profiles
        self._recording = recording

    def check(self, payload: JSON) -> None:
        check_chat(payload)

    async def plan(self, call: Call) -> ChatPlan:
        payload, body = call.payload, call.body
        unchanged: bytes | None = body
        if call.stream and self._recording:
            options = payload.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                # Usage is recorded for every stream: ask for it, and keep it from a client that did not.
                payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
                call.meter.strip_usage, unchanged = True, None
        return ChatPlan(payload, unchanged, self._profiles)


class ChatPlan:
    path = "chat/completions"
    closing: bytes | None = DONE_EVENT
    """Chat streams end with ``data: [DONE]``; some upstreams leave it out."""

    def __init__(self, payload: JSON, body: bytes | None, profiles: Mapping[str, SanitizeProfile] | None) -> None:
        self._payload = payload
        self._body = body
        self._profiles = profiles

    def body_for(self, deployment: Deployment) -> bytes:
        """The bytes as received when nothing changed for this deployment (``body`` None: the payload was
        changed, always serialise it)."""
        outgoing = chat_for(self._payload, deployment, self._profiles)
        return self._body if outgoing is self._payload and self._body is not None else orjson.dumps(outgoing)

    async def reply(self, sent: Sent) -> tuple[int, bytes]:
        return sent.reply.status, sent.reply.body

    def relay(self, stream: DispatchedStream, served: Deployment) -> AsyncIterator[bytes]:
        return stream  # relayed as received; the pipeline adds ``closing`` when the upstream left it out
