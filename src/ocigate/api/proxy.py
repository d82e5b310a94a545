"""``POST /v1/chat/completions`` and ``POST /v1/responses``: validate, resolve the model, forward, relay.

The hot path: one JSON parse of the request (re-serialised only when the model name must change), the upstream
body returned as received, and stream events relayed as they arrive.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from ocigate.access import AccessLog
from ocigate.asgi import JSON_HEADERS, SSE_HEADERS, Headers, Request, Response, StreamingResponse
from ocigate.catalog import find_model
from ocigate.errors import GatewayError, InvalidRequest
from ocigate.providers.base import UpstreamStream
from ocigate.registry import Registry, Target
from ocigate.sse import DONE_EVENT, encode_event
from ocigate.translate.sanitize import profile_for, sanitize_chat_request
from ocigate.translate.sanitize_profile import SanitizeProfile


def parse_object(body: bytes) -> dict[str, Any]:
    if not body:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return payload


def _check_chat(payload: dict[str, Any]) -> None:
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array of messages.", param="messages")


_ROUTE_OF_KIND = {
    "chat": "/v1/chat/completions (or /v1/responses)",
    "embeddings": "/v1/embeddings",
    "rerank": "/v1/rerank",
}


def require_kind(target: Target, kind: str, route: str) -> None:
    """A clear 400 for a model sent to the wrong endpoint (an embedding model to chat, a chat model to rerank)."""
    found = target.entry.kind
    if found != kind:
        raise InvalidRequest(
            f"Model '{target.entry.id}' is {'an' if found == 'embeddings' else 'a'} {found} model, which {route} "
            f"cannot use: send it to {_ROUTE_OF_KIND.get(found, 'its own endpoint')}.",
            param="model",
        )


def stream_error_event(exc: BaseException) -> bytes:
    err = exc if isinstance(exc, GatewayError) else GatewayError("The gateway failed while streaming.")
    return encode_event(err.to_json())


class ProxyRoutes:
    def __init__(
        self, registry: Registry, access_log: AccessLog, profiles: Mapping[str, SanitizeProfile] | None = None
    ) -> None:
        self._registry = registry
        self._access = access_log
        self._access_log = access_log.enabled
        self._profiles = profiles

    async def chat(self, request: Request) -> Response | StreamingResponse:
        return await self._forward(request, "chat/completions", _check_chat)

    async def _forward(self, request: Request, path: str, check: Any) -> Response | StreamingResponse:
        started = time.perf_counter()
        body = await request.body()
        payload = parse_object(body)
        model = payload.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("'model' is required: the name of a model this gateway serves.", param="model")
        check(payload)
        target = self._registry.resolve(model)
        require_kind(target, "chat", f"/v1/{path}")
        outgoing = payload
        if target.upstream_model != model:
            outgoing = {**payload, "model": target.upstream_model}
        if target.entry.provider_type == "oracle":
            # Oracle answers 400 to what OpenAI ignores: clean the request for the model's family.
            info = find_model(target.upstream_model)
            outgoing = sanitize_chat_request(outgoing, info, profile_for(info, self._profiles))
        if outgoing is not payload:
            body = orjson.dumps(outgoing)
        request_id = secrets.token_hex(8)
        provider = target.provider
        try:
            if outgoing.get("stream") is True:
                upstream = await provider.open_stream(path, body, model=target.upstream_model)
                headers = [*SSE_HEADERS, *id_headers(request_id, upstream.request_id, provider.name)]
                relay = self._relay(upstream, path, target, request_id, started)
                return StreamingResponse(relay, headers=headers, on_error=stream_error_event)
            reply = await provider.send(path, body, model=target.upstream_model)
        except GatewayError as err:
            if self._access_log:
                self._log(request_id, path, target, err.status, getattr(err, "upstream_code", None), None, started)
            raise
        if self._access_log:
            self._log(request_id, path, target, reply.status, None, reply.request_id, started)
        headers = [*JSON_HEADERS, *id_headers(request_id, reply.request_id, provider.name)]
        return Response(reply.body, reply.status, headers)

    async def _relay(
        self, upstream: UpstreamStream, path: str, target: Target, request_id: str, started: float
    ) -> AsyncIterator[bytes]:
        last = b""
        status = 200
        try:
            async for block in upstream:
                last = block
                yield block
            if path == "chat/completions" and b"[DONE]" not in last[-16:]:
                yield DONE_EVENT  # an upstream that ended its stream without [DONE]
        except GatewayError as err:
            status = err.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away; closing the upstream stops the generation
            raise
        finally:
            await upstream.aclose()
            if self._access_log:
                self._log(request_id, path, target, status, None, upstream.request_id, started, stream=True)

    def _log(
        self,
        request_id: str,
        path: str,
        target: Target,
        status: int,
        upstream_code: str | None,
        opc_request_id: str | None,
        started: float,
        *,
        stream: bool = False,
    ) -> None:
        self._access.request(
            request_id=request_id,
            path=f"/v1/{path}",
            model=target.entry.id,
            provider=target.entry.provider,
            status=status,
            started=started,
            opc_request_id=opc_request_id,
            upstream_code=upstream_code,
            stream=stream,
        )


def id_headers(request_id: str, opc_request_id: str | None, provider: str) -> Headers:
    headers: Headers = [(b"x-request-id", request_id.encode()), (b"x-ocigate-provider", provider.encode())]
    if opc_request_id:
        headers.append((b"opc-request-id", opc_request_id.encode("latin-1")))
    return headers
