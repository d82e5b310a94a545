"""``POST /v1/embeddings`` (OpenAI's shape) and ``POST /v1/rerank`` (Cohere's shape: ``model``, ``query``,
``documents``, ``top_n``, ``return_documents``).

Served by the providers that can: Oracle's native API (``type: oci``) translates them to embedText and rerankText;
an OpenAI-compatible upstream gets them as they are. Oracle's OpenAI-compatible path has neither, and its 404 says
to configure a ``type: oci`` provider (``hints.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from ocigate.api.proxy import dispatch_headers, id_headers, read_model_request, require_kind
from ocigate.core.asgi import JSON_HEADERS, Request, Response
from ocigate.core.errors import GatewayError, InvalidRequest
from ocigate.governance.service import Governance
from ocigate.observe.access import AccessLog
from ocigate.routing.dispatch import Dispatcher
from ocigate.routing.registry import RouteTable
from ocigate.routing.router import Deployment

JSON = dict[str, Any]


def _check_embeddings(payload: JSON) -> None:
    value = payload.get("input")
    if value is None or value == "" or value == []:
        raise InvalidRequest("'input' is required: a string or an array of strings to embed.", param="input")


def _check_rerank(payload: JSON) -> None:
    if not isinstance(payload.get("query"), str) or not payload["query"]:
        raise InvalidRequest("'query' is required: the text to rank the documents against.", param="query")
    documents = payload.get("documents")
    if not isinstance(documents, list) or not documents:
        raise InvalidRequest("'documents' must be a non-empty array of strings or {\"text\": ...}.", param="documents")


class EmbeddingRoutes:
    def __init__(
        self, routes: RouteTable, dispatcher: Dispatcher, access_log: AccessLog, governance: Governance
    ) -> None:
        self._routes = routes
        self._dispatcher = dispatcher
        self._access = access_log
        self._governance = governance

    async def embeddings(self, request: Request) -> Response:
        return await self._call(request, "embeddings", _check_embeddings)

    async def rerank(self, request: Request) -> Response:
        return await self._call(request, "rerank", _check_rerank)

    async def _call(self, request: Request, kind: str, check: Callable[[JSON], None]) -> Response:
        started = time.perf_counter()
        body, payload, model = await read_model_request(request, check)
        routed = self._routes.resolve(model)
        require_kind(model, routed.kind, kind, f"/v1/{kind}")
        meter = await self._governance.admit(request, kind, model, payload, len(body))

        def body_for(deployment: Deployment) -> bytes:
            if deployment.upstream_model == model:
                return body
            return orjson.dumps({**payload, "model": deployment.upstream_model})

        request_id = meter.request_id
        status, upstream_id, served, attempts = 500, None, None, "0"
        try:
            sent = await self._dispatcher.send(routed.route, kind, body_for, pin=routed.pin)
            status, upstream_id = sent.reply.status, sent.reply.request_id
            served, attempts = sent.deployment, str(len(sent.attempts))
            meter.reply(status, sent.reply.body, served)
        except GatewayError as err:
            status, attempts = err.status, err.headers.get("x-ocigate-attempts", "0")
            raise
        finally:
            if not meter.done:
                meter.failed(status, served)
            self._access.request(
                request_id=request_id,
                key=meter.key.display if meter.key is not None else None,
                path=f"/v1/{kind}",
                model=model,
                provider=served.provider.name if served is not None else "-",
                status=status,
                started=started,
                opc_request_id=upstream_id,
                deployment=served.name if served is not None else "-",
                attempts=attempts,
            )
        headers = [
            *JSON_HEADERS,
            *id_headers(request_id, sent.reply.request_id, sent.deployment.provider.name),
            *dispatch_headers(sent.headers()),
            *meter.headers,
        ]
        return Response(sent.reply.body, sent.reply.status, headers)
