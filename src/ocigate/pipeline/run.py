"""The pipeline every model route runs through.

parse once → (authenticated at the edge) → resolve the model's route → admit the key (allow-list, limits) →
plan: shape the upstream body per deployment → dispatch (retries, failover, fallbacks) → reply, or relay the
stream while metering → the usage record, the limits settled and the audit row (the meter) → one access line (the
edge, from what the pipeline noted on the request).

Errors are raised, never rendered here: the edge turns them into OpenAI's envelope. Whatever ends a request (an
answer, an error, the client leaving before or during a stream) ends its meter exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from ocigate.core.asgi import JSON_HEADERS, SSE_HEADERS, Headers, Request, Response, StreamingResponse, stream_failure
from ocigate.core.errors import GatewayError, InvalidRequest, ModelNotFound
from ocigate.core.notes import AccessNote
from ocigate.core.sse import encode_event
from ocigate.governance.keys import visible_models
from ocigate.governance.metering import Meter
from ocigate.governance.service import Governance
from ocigate.pipeline.endpoint import Call, Endpoint, Plan
from ocigate.routing.dispatch import DispatchedStream, Dispatcher
from ocigate.routing.registry import Routed, RouteTable
from ocigate.routing.router import Deployment
from ocigate.schemas.json import parse_object

_ROUTE_OF_KIND = {
    "chat": "/v1/chat/completions (or /v1/responses)",
    "embeddings": "/v1/embeddings",
    "rerank": "/v1/rerank",
}


class Pipeline:
    def __init__(self, routes: RouteTable, dispatcher: Dispatcher, governance: Governance) -> None:
        self._routes = routes
        self._dispatcher = dispatcher
        self._governance = governance

    async def handle(self, request: Request, endpoint: Endpoint) -> Response | StreamingResponse:
        body = await request.body()
        payload = parse_object(body)
        model = payload.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("'model' is required: the name of a model this gateway serves.", param="model")
        endpoint.check(payload)
        note = request.note = AccessNote(model=model, stream=payload.get("stream") is True)
        routed = self.resolve(request, model, endpoint)
        # Limits, prices and the allow-list apply to the model an alias names.
        meter = await self._governance.admit(request, endpoint.name, routed.model or model, payload, len(body))
        if meter.key is not None:
            note.key = meter.key.display
        try:
            plan = await endpoint.plan(Call(request, payload, body, model, meter))
            note.deployment = "-"  # until one serves: the access line then says which, and after how many attempts
            if meter.stream and endpoint.streams:
                return await self._stream(request, routed, plan, meter, note, endpoint)
            return await self._send(request, routed, plan, meter, note)
        except GatewayError as err:
            meter.failed(err.status)  # nothing when the stream's relay already recorded it
            raise
        except BaseException:
            meter.failed(500)
            raise

    def resolve(self, request: Request, model: str, endpoint: Endpoint) -> Routed:
        """The route of ``model`` (aliases applied), which must serve the endpoint's kind; a team key learns only
        of the models it may use."""
        try:
            routed = self._routes.resolve(model)
        except ModelNotFound:
            visible = visible_models(request.state.get("key"))
            if visible is None:
                raise
            raise ModelNotFound(self._routes.registry.unknown_message(model, visible), param="model") from None
        require_kind(model, routed.kind, endpoint.kind, endpoint.path)
        return routed

    async def _send(self, request: Request, routed: Routed, plan: Plan, meter: Meter, note: AccessNote) -> Response:
        sent = await self._dispatcher.send(routed.route, plan.path, plan.body_for, pin=routed.pin)
        served, upstream_id = sent.deployment, sent.reply.request_id
        _served(note, served, len(sent.attempts), upstream_id)
        status, body = await plan.reply(sent)
        meter.reply(status, body, served)
        headers = [*JSON_HEADERS, *answer_headers(request.id, upstream_id, served, sent.headers(), meter)]
        return Response(body, status, headers)

    async def _stream(
        self, request: Request, routed: Routed, plan: Plan, meter: Meter, note: AccessNote, endpoint: Endpoint
    ) -> StreamingResponse:
        opened = await self._dispatcher.open_stream(routed.route, plan.path, plan.body_for, pin=routed.pin)
        served, upstream = opened.deployment, opened.stream
        _served(note, served, len(opened.attempts), upstream.request_id)
        headers = [*SSE_HEADERS, *answer_headers(request.id, upstream.request_id, served, opened.headers(), meter)]
        relay = _metered(plan.relay(upstream, served), upstream, meter, served, note, plan.closing)
        return StreamingResponse(
            relay,
            headers=headers,
            on_error=stream_error(request.id, getattr(endpoint, "error_event", None)),
            on_abandon=_abandon(upstream, meter, served, note),
        )


def require_kind(model: str, found: str, kind: str, route: str) -> None:
    """A clear 400 for a model sent to the wrong endpoint (an embedding model to chat, a chat model to rerank)."""
    if found != kind:
        raise InvalidRequest(
            f"Model '{model}' is {'an' if found == 'embeddings' else 'a'} {found} model, which {route} "
            f"cannot use: send it to {_ROUTE_OF_KIND.get(found, 'its own endpoint')}.",
            param="model",
        )


def answer_headers(
    request_id: str, opc_request_id: str | None, served: Deployment, dispatch: dict[str, str], meter: Meter
) -> Headers:
    """The headers of a model answer: the request's id, who served (``x-ocigate-*``: provider, deployment,
    attempts), Oracle's request id, and the key's rate-limit headers."""
    headers: Headers = [(b"x-request-id", request_id.encode()), (b"x-ocigate-provider", served.provider.name.encode())]
    if opc_request_id:
        headers.append((b"opc-request-id", opc_request_id.encode("latin-1")))
    headers += [(name.encode(), value.encode("latin-1")) for name, value in dispatch.items()]
    return headers + meter.headers


def stream_error(
    request_id: str, event: Callable[[GatewayError, str], bytes] | None = None
) -> Callable[[BaseException], bytes]:
    """A stream's last event when it fails after its first byte: the error in OpenAI's envelope, or as the
    endpoint's ``error_event(error, request_id)`` renders it (the Messages API's ``error`` event)."""

    def render(exc: BaseException) -> bytes:
        failure = stream_failure(exc, request_id)
        return encode_event(failure.to_json()) if event is None else event(failure, request_id)

    return render


def _served(note: AccessNote, served: Deployment, attempts: int, opc_request_id: str | None) -> None:
    note.provider, note.deployment = served.provider.name, served.name
    note.attempts, note.opc_request_id = str(attempts), opc_request_id


async def _metered(
    chunks: AsyncIterator[bytes],
    upstream: DispatchedStream,
    meter: Meter,
    served: Deployment,
    note: AccessNote,
    closing: bytes | None,
) -> AsyncIterator[bytes]:
    """The client's stream, metered block by block and ended with ``closing`` where the upstream left it out;
    whatever ends it records the request once and closes the upstream (a client that left stops the generation
    it would be billed for)."""
    status = 200
    last = b""
    try:
        async for chunk in chunks:
            last = chunk
            chunk = meter.block(chunk)
            if chunk:
                yield chunk
        if closing is not None and closing.removeprefix(b"data:").strip() not in last[-len(closing) - 8 :]:
            yield closing  # the event's data (``[DONE]``) is not at the end of what the upstream sent
    except GatewayError as err:
        status = err.status
        raise
    except (asyncio.CancelledError, GeneratorExit):
        status = 499  # the client went away
        raise
    except BaseException:
        status = 500
        raise
    finally:
        meter.end(status, served)
        note.status = status
        try:
            if chunks is not upstream:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
        finally:
            await upstream.aclose()


def _abandon(
    upstream: DispatchedStream, meter: Meter, served: Deployment, note: AccessNote
) -> Callable[[], Awaitable[None]]:
    """For a stream the client left before it began: close the upstream, record the request (499)."""

    async def close() -> None:
        meter.end(499, served)
        note.status = 499
        await upstream.aclose()

    return close
