"""``POST /v1/chat/completions``: validate, route the model, dispatch (retries, failover, fallbacks), relay.

The hot path: one JSON parse of the request (re-serialised only when a deployment's model name or family needs
it), the upstream body returned as received, and stream events relayed as they arrive. The response names the
deployment that served and the attempts made (``x-ocigate-deployment``, ``x-ocigate-attempts``,
``x-ocigate-attempt-log``), as does the access log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import orjson

from ocigate.catalog.models import find_model
from ocigate.core.asgi import JSON_HEADERS, SSE_HEADERS, Headers, Request, Response, StreamingResponse
from ocigate.core.errors import GatewayError, InvalidRequest
from ocigate.core.sse import DONE_EVENT, encode_event
from ocigate.governance.metering import Meter
from ocigate.governance.service import Governance
from ocigate.observe.access import AccessLog
from ocigate.providers.base import UpstreamStream
from ocigate.routing.dispatch import Dispatcher
from ocigate.routing.registry import RouteTable
from ocigate.routing.router import Deployment
from ocigate.translate.sanitize.chat import profile_for, sanitize_chat_request
from ocigate.translate.sanitize.profile import SanitizeProfile

JSON = dict[str, Any]


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


def require_kind(model: str, found: str, kind: str, route: str) -> None:
    """A clear 400 for a model sent to the wrong endpoint (an embedding model to chat, a chat model to rerank)."""
    if found != kind:
        raise InvalidRequest(
            f"Model '{model}' is {'an' if found == 'embeddings' else 'a'} {found} model, which {route} "
            f"cannot use: send it to {_ROUTE_OF_KIND.get(found, 'its own endpoint')}.",
            param="model",
        )


async def read_model_request(request: Request, check: Callable[[JSON], None]) -> tuple[bytes, JSON, str]:
    """The body, parsed, with its ``model``: what every model-addressed route reads first."""
    body = await request.body()
    payload = parse_object(body)
    model = payload.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("'model' is required: the name of a model this gateway serves.", param="model")
    check(payload)
    return body, payload, model


def abandon(upstream: UpstreamStream, meter: Meter, served: Deployment) -> Callable[[], Awaitable[None]]:
    """For a stream the client left before it began: close the upstream, record the request (499)."""

    async def close() -> None:
        meter.end(499, served)
        await upstream.aclose()

    return close


def stream_error_event(exc: BaseException) -> bytes:
    err = exc if isinstance(exc, GatewayError) else GatewayError("The gateway failed while streaming.")
    return encode_event(err.to_json())


def dispatch_headers(headers: dict[str, str]) -> Headers:
    return [(name.encode(), value.encode("latin-1")) for name, value in headers.items()]


class ProxyRoutes:
    def __init__(
        self,
        routes: RouteTable,
        dispatcher: Dispatcher,
        access_log: AccessLog,
        governance: Governance,
        profiles: Mapping[str, SanitizeProfile] | None = None,
    ) -> None:
        self._routes = routes
        self._dispatcher = dispatcher
        self._access = access_log
        self._access_log = access_log.enabled
        self._governance = governance
        self._profiles = profiles

    async def chat(self, request: Request) -> Response | StreamingResponse:
        return await self._forward(request, "chat/completions", _check_chat)

    def _body_for(self, payload: dict[str, Any], body: bytes | None) -> Callable[[Deployment], bytes]:
        """The request for a deployment: its upstream model name, cleaned for its family on Oracle; the bytes as
        received when nothing changed (``body`` None: the payload was changed, always serialise it)."""
        model = payload.get("model")

        def body_for(deployment: Deployment) -> bytes:
            outgoing = payload
            if deployment.upstream_model != model:
                outgoing = {**payload, "model": deployment.upstream_model}
            if deployment.provider.type == "oracle":
                # Oracle answers 400 to what OpenAI ignores: clean the request for the model's family.
                info = find_model(deployment.upstream_model)
                outgoing = sanitize_chat_request(outgoing, info, profile_for(info, self._profiles))
            return body if outgoing is payload and body is not None else orjson.dumps(outgoing)

        return body_for

    async def _forward(self, request: Request, path: str, check: Any) -> Response | StreamingResponse:
        started = time.perf_counter()
        body, payload, model = await read_model_request(request, check)
        routed = self._routes.resolve(model)
        require_kind(model, routed.kind, "chat", f"/v1/{path}")
        meter = await self._governance.admit(request, "chat", model, payload, len(body))
        stream = meter.stream
        outgoing: bytes | None = body
        if stream and self._governance.recording:
            options = payload.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                # Usage is recorded for every stream: ask for it, and keep it from a client that did not.
                payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
                meter.strip_usage, outgoing = True, None
        body_for = self._body_for(payload, outgoing)
        request_id = meter.request_id
        dispatcher = self._dispatcher
        try:
            if stream:
                opened = await dispatcher.open_stream(routed.route, path, body_for, pin=routed.pin)
                served = opened.deployment
                headers = [
                    *SSE_HEADERS,
                    *id_headers(request_id, opened.stream.request_id, served.provider.name),
                    *dispatch_headers(opened.headers()),
                    *meter.headers,
                ]
                relay = self._relay(opened.stream, path, model, served, len(opened.attempts), meter, started)
                return StreamingResponse(
                    relay,
                    headers=headers,
                    on_error=stream_error_event,
                    on_abandon=abandon(opened.stream, meter, served),
                )
            sent = await dispatcher.send(routed.route, path, body_for, pin=routed.pin)
        except GatewayError as err:
            meter.failed(err.status)
            if self._access_log:
                attempts = err.headers.get("x-ocigate-attempts", "0")
                upstream_code = getattr(err, "upstream_code", None)
                self._log(meter, path, model, None, attempts, err.status, upstream_code, None, started)
            raise
        except BaseException:
            meter.failed(500)
            raise
        reply, served = sent.reply, sent.deployment
        meter.reply(reply.status, reply.body, served)
        if self._access_log:
            attempts = str(len(sent.attempts))
            self._log(meter, path, model, served, attempts, reply.status, None, reply.request_id, started)
        headers = [
            *JSON_HEADERS,
            *id_headers(request_id, reply.request_id, served.provider.name),
            *dispatch_headers(sent.headers()),
            *meter.headers,
        ]
        return Response(reply.body, reply.status, headers)

    async def _relay(
        self,
        upstream: UpstreamStream,
        path: str,
        model: str,
        served: Deployment,
        attempts: int,
        meter: Meter,
        started: float,
    ) -> AsyncIterator[bytes]:
        last = b""
        status = 200
        try:
            async for block in upstream:
                last = block
                block = meter.block(block)
                if block:
                    yield block
            if path == "chat/completions" and b"[DONE]" not in last[-16:]:
                yield DONE_EVENT  # an upstream that ended its stream without [DONE]
        except GatewayError as err:
            status = err.status
            raise
        except (asyncio.CancelledError, GeneratorExit):
            status = 499  # the client went away; closing the upstream stops the generation
            raise
        except BaseException:
            status = 500
            raise
        finally:
            meter.end(status, served)
            await upstream.aclose()
            if self._access_log:
                self._log(
                    meter,
                    path,
                    model,
                    served,
                    str(attempts),
                    status,
                    None,
                    upstream.request_id,
                    started,
                    True,
                )

    def _log(
        self,
        meter: Meter,
        path: str,
        model: str,
        served: Deployment | None,
        attempts: str,
        status: int,
        upstream_code: str | None,
        opc_request_id: str | None,
        started: float,
        stream: bool = False,
    ) -> None:
        self._access.request(
            request_id=meter.request_id,
            key=meter.key.display if meter.key is not None else None,
            path=f"/v1/{path}",
            model=model,
            provider=served.provider.name if served is not None else "-",
            status=status,
            started=started,
            opc_request_id=opc_request_id,
            upstream_code=upstream_code,
            stream=stream,
            deployment=served.name if served is not None else "-",
            attempts=attempts,
        )


def id_headers(request_id: str, opc_request_id: str | None, provider: str) -> Headers:
    headers: Headers = [(b"x-request-id", request_id.encode()), (b"x-ocigate-provider", provider.encode())]
    if opc_request_id:
        headers.append((b"opc-request-id", opc_request_id.encode("latin-1")))
    return headers
