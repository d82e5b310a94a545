"""The Responses API on every model.

``POST /v1/responses`` goes to the upstream's own ``/responses`` where the model has one, and otherwise is
translated to Chat Completions and back (Meta models on Oracle, upstreams without it), streaming and not.
Either way the gateway keeps the conversation itself: ``previous_response_id`` is expanded from the gateway's
store into the input, the upstream is asked not to store, and ``GET``/``DELETE /v1/responses/{id}`` and
``/input_items`` are answered from the store. Conversations so survive a restart and can move between models and
regions, which Oracle's per-region storage could not offer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ocigate.api.proxy import abandon, dispatch_headers, id_headers, parse_object, require_kind, stream_error_event
from ocigate.catalog.models import find_model
from ocigate.core.asgi import JSON_HEADERS, SSE_HEADERS, Headers, Request, Response, StreamingResponse, json_response
from ocigate.core.errors import GatewayError, InvalidRequest, NotFound
from ocigate.core.sse import parse_events
from ocigate.governance.metering import Meter
from ocigate.governance.service import Governance
from ocigate.observe.access import AccessLog
from ocigate.providers.base import UpstreamStream
from ocigate.routing.dispatch import Dispatcher
from ocigate.routing.registry import Routed, RouteTable
from ocigate.routing.router import Deployment
from ocigate.store.records import StoredResponse
from ocigate.translate.responses.items import input_items
from ocigate.translate.responses.output import from_chat_response
from ocigate.translate.responses.request import to_chat_request
from ocigate.translate.responses.stream import ResponsesStreamTranslator
from ocigate.translate.sanitize.chat import profile_for, sanitize_chat_request
from ocigate.translate.sanitize.profile import SanitizeProfile

if TYPE_CHECKING:
    from ocigate.store.responses import ResponseStore

JSON = dict[str, Any]
log = logging.getLogger("ocigate.responses")
_DROPPED_UPSTREAM = ("previous_response_id",)


def has_native_responses(deployment: Deployment) -> bool:
    """Whether to send a Responses request to the upstream as is: an OpenAI-compatible upstream, and a model
    that Oracle serves on ``/responses`` (not Meta or Cohere)."""
    if not getattr(deployment.provider, "serves_responses", True):
        return False
    info = find_model(deployment.upstream_model)
    return info is None or info.supports_responses


def _path(deployment: Deployment) -> str:
    return "responses" if has_native_responses(deployment) else "chat/completions"


class ResponsesRoutes:
    def __init__(
        self,
        routes: RouteTable,
        dispatcher: Dispatcher,
        store: Callable[[], Awaitable[ResponseStore]],
        governance: Governance,
        profiles: Mapping[str, SanitizeProfile] | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self._routes = routes
        self._dispatcher = dispatcher
        self._store = store
        self._governance = governance
        self._profiles = profiles
        self._access = access_log or AccessLog(enabled=False)

    async def _require_store(self) -> ResponseStore:
        return await self._store()

    async def create(self, request: Request) -> Response | StreamingResponse:
        started = time.perf_counter()
        body = await request.body()
        payload = parse_object(body)
        model = payload.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("'model' is required: the name of a model this gateway serves.", param="model")
        if payload.get("input") is None:
            raise InvalidRequest("'input' is required: a string or an array of input items.", param="input")
        routed = self._routes.resolve(model)
        require_kind(model, routed.kind, "chat", "/v1/responses")
        meter = await self._governance.admit(request, "responses", model, payload, len(body))
        try:
            return await self._create(request, payload, model, routed, meter, started)
        except GatewayError as err:
            meter.failed(err.status)  # nothing when already recorded
            raise
        except BaseException:
            meter.failed(500)
            raise

    async def _create(
        self, request: Request, payload: JSON, model: str, routed: Routed, meter: Meter, started: float
    ) -> Response | StreamingResponse:
        store = await self._require_store()
        history: list[JSON] = []
        previous = payload.get("previous_response_id")
        if previous is not None:
            if not isinstance(previous, str):
                raise InvalidRequest("'previous_response_id' must be a string.", param="previous_response_id")
            chain = await store.chain(previous)
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
        keep = store if payload.get("store") is not False else None
        stream = payload.get("stream") is True
        body_for = self._body_for(payload, history)
        dispatcher = self._dispatcher
        try:
            if stream:
                opened = await dispatcher.open_stream(routed.route, _path, body_for, pin=routed.pin)
                served, upstream_id, extra = opened.deployment, opened.stream.request_id, opened.headers()
                if has_native_responses(served):
                    chunks = self._native_stream(opened.stream, payload, served, keep)
                else:
                    chunks = self._translated_stream(opened.stream, payload, served, keep)
                headers = self._headers(SSE_HEADERS, served, upstream_id, extra, meter)
                logged = self._logged(chunks, model, served, extra, started, headers, meter)
                return StreamingResponse(
                    logged,
                    headers=headers,
                    on_error=stream_error_event,
                    on_abandon=abandon(opened.stream, meter, served),
                )
            sent = await dispatcher.send(routed.route, _path, body_for, pin=routed.pin)
        except GatewayError as err:
            meter.failed(err.status)
            upstream_code = getattr(err, "upstream_code", None)
            self._log(meter, model, None, err.headers, err.status, started, stream, upstream_code=upstream_code)
            raise
        served, reply, extra = sent.deployment, sent.reply, sent.headers()
        headers = self._headers(JSON_HEADERS, served, reply.request_id, extra, meter)
        if has_native_responses(served):
            if keep is not None:
                await _save(keep, payload, orjson.loads(reply.body), served)
            response = Response(reply.body, reply.status, headers)
        else:
            created = from_chat_response(
                orjson.loads(reply.body), payload, response_id=_new_id(), created_at=int(time.time())
            )
            created["model"] = payload["model"]
            if keep is not None:
                await _save(keep, payload, created, served)
            response = Response(orjson.dumps(created), 200, headers)
        meter.reply(response.status, response.body, served)
        self._log(meter, model, served, extra, response.status, started, stream, headers)
        return response

    def _body_for(self, payload: JSON, history: list[JSON]) -> Callable[[Deployment], bytes]:
        """The native Responses request or the translated Chat Completions request, per deployment."""

        def body_for(deployment: Deployment) -> bytes:
            if has_native_responses(deployment):
                upstream: JSON = {k: v for k, v in payload.items() if k not in _DROPPED_UPSTREAM}
                upstream["model"] = deployment.upstream_model
                upstream["store"] = False  # the gateway stores; Oracle's storage is bound to one region and key
                if history:
                    upstream["input"] = [*history, *input_items(payload)]
                return orjson.dumps(upstream)
            chat = to_chat_request(payload, history)
            chat["model"] = deployment.upstream_model
            info = find_model(deployment.upstream_model)
            return orjson.dumps(sanitize_chat_request(chat, info, profile_for(info, self._profiles)))

        return body_for

    @staticmethod
    def _headers(
        base: Headers, served: Deployment, upstream_id: str | None, extra: dict[str, str], meter: Meter
    ) -> Headers:
        return [
            *base,
            *id_headers(meter.request_id, upstream_id, served.provider.name),
            *dispatch_headers(extra),
            *meter.headers,
        ]

    async def _logged(
        self,
        chunks: AsyncIterator[bytes],
        model: str,
        served: Deployment,
        extra: dict[str, str],
        started: float,
        headers: Headers,
        meter: Meter,
    ) -> AsyncIterator[bytes]:
        status = 200
        try:
            async for chunk in chunks:
                yield meter.block(chunk)
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
            self._log(meter, model, served, extra, status, started, True, headers)

    def _log(
        self,
        meter: Meter,
        model: str,
        served: Deployment | None,
        extra: Mapping[str, str],
        status: int,
        started: float,
        stream: bool,
        headers: Headers | None = None,
        upstream_code: str | None = None,
    ) -> None:
        found = dict(headers or ())
        self._access.request(
            request_id=meter.request_id,
            key=meter.key.display if meter.key is not None else None,
            path="/v1/responses",
            model=model,
            provider=served.provider.name if served is not None else "-",
            status=status,
            started=started,
            opc_request_id=found[b"opc-request-id"].decode("latin-1") if b"opc-request-id" in found else None,
            upstream_code=upstream_code,
            stream=stream,
            deployment=served.name if served is not None else "-",
            attempts=extra.get("x-ocigate-attempts", "0"),
        )

    async def _native_stream(
        self, stream: UpstreamStream, payload: JSON, served: Deployment, store: ResponseStore | None
    ) -> AsyncIterator[bytes]:
        final: JSON | None = None
        try:
            async for block in stream:
                if b"response.completed" in block or b"response.incomplete" in block:
                    final = _final_from(block) or final
                yield block
        finally:
            await stream.aclose()
        if final is not None and store is not None:
            await _save(store, payload, final, served)

    async def _translated_stream(
        self, stream: UpstreamStream, payload: JSON, served: Deployment, store: ResponseStore | None
    ) -> AsyncIterator[bytes]:
        translator = ResponsesStreamTranslator({**payload}, _new_id(), int(time.time()))
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
        finally:
            await stream.aclose()
        if store is not None:
            await _save(store, payload, translator.final_response(), served)

    async def read(self, request: Request) -> Response:
        """``GET /v1/responses/{id}`` and ``GET /v1/responses/{id}/input_items``."""
        response_id, _, rest = request.path_tail.partition("/")
        record = await self._stored(response_id)
        if rest == "input_items":
            return json_response(_item_page(record.input_items, request.query))
        if rest:
            raise NotFound(f"No route for GET {request.path}.", code="unknown_url")
        return json_response(record.response)

    async def delete(self, request: Request) -> Response:
        response_id = request.path_tail
        if not await (await self._require_store()).delete(response_id):
            raise NotFound(f"Response '{response_id}' is not stored in this gateway.", code="response_not_found")
        return json_response({"id": response_id, "object": "response.deleted", "deleted": True})

    async def _stored(self, response_id: str) -> StoredResponse:
        record = await (await self._require_store()).get(response_id)
        if record is None:
            raise NotFound(f"Response '{response_id}' is not stored in this gateway.", code="response_not_found")
        return record


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


async def _save(store: ResponseStore, payload: JSON, response: JSON, served: Deployment) -> None:
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
    )
    try:
        await store.save(record)
    except Exception:  # noqa: BLE001 - the client has its answer; a failed save must not turn it into an error
        log.exception("could not store response %s", response_id)


def _item_page(items: list[JSON], query: dict[str, list[str]]) -> JSON:
    order = (query.get("order") or ["desc"])[0]
    ordered = list(reversed(items)) if order == "desc" else list(items)
    after = (query.get("after") or [""])[0]
    if after:
        ids = [item.get("id") for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    try:
        limit = max(1, min(100, int((query.get("limit") or ["20"])[0])))
    except ValueError as exc:
        raise InvalidRequest("'limit' must be a number between 1 and 100.", param="limit") from exc
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": len(ordered) > limit,
    }
