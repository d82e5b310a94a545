"""``POST /v1/responses``: the Responses API on every model.

It goes to the upstream's own ``/responses`` where the model has one, and otherwise is translated to Chat
Completions and back (Meta models on Oracle, upstreams without it), streaming and not. Either way the gateway
keeps the conversation itself: ``previous_response_id`` is expanded from the gateway's store into the input, the
upstream is asked not to store, and ``GET``/``DELETE /v1/responses/{id}`` and ``/input_items`` are answered from
the store (``api/stored_responses.py``). Conversations so survive a restart and can move between models and
regions, which Oracle's per-region storage could not offer.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import orjson

from ocigate.catalog.models import find_model
from ocigate.core.asgi import Request
from ocigate.core.errors import GatewayError, NotFound
from ocigate.core.sse import parse_events
from ocigate.core.types import JSON
from ocigate.governance.keys import KeyRecord
from ocigate.pipeline.endpoint import Call
from ocigate.pipeline.shaping import chat_for
from ocigate.routing.dispatch import DispatchedStream, Sent
from ocigate.routing.router import Deployment
from ocigate.schemas.responses import check_responses
from ocigate.store.records import MASTER, StoredResponse
from ocigate.translate.responses.items import input_items
from ocigate.translate.responses.output import from_chat_response
from ocigate.translate.responses.request import to_chat_request
from ocigate.translate.responses.stream import ResponsesStreamTranslator
from ocigate.translate.sanitize.profile import SanitizeProfile

if TYPE_CHECKING:
    from ocigate.store.responses import ResponseStore

log = logging.getLogger("ocigate.responses")
_DROPPED_UPSTREAM = ("previous_response_id",)


def owner_of(request: Request) -> str:
    """Who owns what this request stores: its virtual key, or the master key."""
    key: KeyRecord | None = request.state.get("key")
    return key.id if key is not None else MASTER


def visible_to(request: Request) -> str | None:
    """Whose stored responses this request may see: its virtual key's own; None (all) for the master key."""
    key: KeyRecord | None = request.state.get("key")
    return key.id if key is not None else None


def has_native_responses(deployment: Deployment) -> bool:
    """Whether to send a Responses request to the upstream as is: an OpenAI-compatible upstream, and a model
    that Oracle serves on ``/responses`` (not Meta or Cohere)."""
    if not getattr(deployment.provider, "serves_responses", True):
        return False
    info = find_model(deployment.upstream_model)
    return info is None or info.supports_responses


def _path(deployment: Deployment) -> str:
    return "responses" if has_native_responses(deployment) else "chat/completions"


class ResponsesEndpoint:
    kind = "chat"
    name = "responses"
    path = "/v1/responses"
    streams = True

    def __init__(
        self, store: Callable[[], Awaitable[ResponseStore]], profiles: Mapping[str, SanitizeProfile] | None
    ) -> None:
        self._store = store
        self._profiles = profiles

    def check(self, payload: JSON) -> None:
        check_responses(payload)

    async def plan(self, call: Call) -> ResponsesPlan:
        store = await self._store()
        history: list[JSON] = []
        previous = call.payload.get("previous_response_id")
        owner = owner_of(call.request)
        if isinstance(previous, str):
            # Another key's conversation is as absent as one that never existed: never sent upstream, never billed.
            chain = await store.chain(previous, visible_to(call.request))
            if chain is None:
                raise NotFound(
                    f"Previous response '{previous}' is not stored in this gateway (it expired, was deleted, or "
                    "was created with store: false).",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            for record in chain:
                history += record.input_items
                history += [item for item in record.response.get("output") or [] if isinstance(item, dict)]
        keep = store if call.payload.get("store") is not False else None
        return ResponsesPlan(call.payload, history, keep, self._profiles, owner)


class ResponsesPlan:
    path: Callable[[Deployment], str] = staticmethod(_path)
    closing: bytes | None = None

    def __init__(
        self,
        payload: JSON,
        history: list[JSON],
        keep: ResponseStore | None,
        profiles: Mapping[str, SanitizeProfile] | None,
        owner: str,
    ) -> None:
        self._payload = payload
        self._history = history
        self._keep = keep
        self._profiles = profiles
        self._owner = owner

    def body_for(self, deployment: Deployment) -> bytes:
        """The native Responses request or the translated Chat Completions request."""
        payload, history = self._payload, self._history
        if has_native_responses(deployment):
            upstream: JSON = {k: v for k, v in payload.items() if k not in _DROPPED_UPSTREAM}
            upstream["model"] = deployment.upstream_model
            upstream["store"] = False  # the gateway stores; Oracle's storage is bound to one region and key
            if history:
                upstream["input"] = [*history, *input_items(payload)]
            return orjson.dumps(upstream)
        return orjson.dumps(chat_for(to_chat_request(payload, history), deployment, self._profiles))

    async def reply(self, sent: Sent) -> tuple[int, bytes]:
        served, reply = sent.deployment, sent.reply
        if has_native_responses(served):
            if self._keep is not None:
                await _save(self._keep, self._owner, self._payload, orjson.loads(reply.body))
            return reply.status, reply.body
        created = from_chat_response(
            orjson.loads(reply.body), self._payload, response_id=_new_id(), created_at=int(time.time())
        )
        created["model"] = self._payload["model"]
        if self._keep is not None:
            await _save(self._keep, self._owner, self._payload, created)
        return 200, orjson.dumps(created)

    def relay(self, stream: DispatchedStream, served: Deployment) -> AsyncIterator[bytes]:
        if has_native_responses(served):
            return self._native(stream)
        return self._translated(stream)

    async def _native(self, stream: DispatchedStream) -> AsyncIterator[bytes]:
        final: JSON | None = None
        async for block in stream:
            if b"response.completed" in block or b"response.incomplete" in block:
                final = _final_from(block) or final
            yield block
        if final is not None and self._keep is not None:
            await _save(self._keep, self._owner, self._payload, final)

    async def _translated(self, stream: DispatchedStream) -> AsyncIterator[bytes]:
        translator = ResponsesStreamTranslator({**self._payload}, _new_id(), int(time.time()))
        try:
            yield b"".join(translator.start())
            async for block in stream:
                out: list[bytes] = []
                for event in parse_events(block):
                    if event.is_done or not event.data:
                        continue
                    chunk = orjson.loads(event.data)
                    if isinstance(chunk, dict) and "error" in chunk:
                        out += translator.fail(str(chunk["error"].get("message", "upstream error")))
                    elif isinstance(chunk, dict):
                        out += translator.feed(chunk)
                if out:
                    yield b"".join(out)
            yield b"".join(translator.finish())
        except GatewayError as err:
            yield b"".join(translator.fail(err.message))
            return
        if self._keep is not None:
            await _save(self._keep, self._owner, self._payload, translator.final_response())


def _final_from(block: bytes) -> JSON | None:
    for event in parse_events(block):
        if event.event in ("response.completed", "response.incomplete") or '"response.completed"' in event.data:
            data = orjson.loads(event.data)
            response = data.get("response") if isinstance(data, dict) else None
            if isinstance(response, dict):
                return response
    return None


def _new_id() -> str:
    return "resp_" + secrets.token_hex(24)


async def _save(store: ResponseStore, owner: str, payload: JSON, response: JSON) -> None:
    response_id = str(response.get("id") or "")
    if not response_id:
        return
    record = StoredResponse(
        id=response_id,
        created_at=int(response.get("created_at") or time.time()),
        model=str(payload.get("model")),
        previous_response_id=payload.get("previous_response_id"),
        input_items=input_items(payload, response_id=response_id),
        response=response,
        owner=owner,
    )
    try:
        await store.save(record)
    except Exception:  # noqa: BLE001 - the client has its answer; a failed save must not turn it into an error
        log.exception("could not store response %s", response_id)
