"""``GET /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items`` and ``DELETE /v1/responses/{id}``: the
conversations the gateway keeps (``api/responses.py`` stores them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ocigate.core.asgi import Request, Response, json_response
from ocigate.core.errors import InvalidRequest, NotFound
from ocigate.core.types import JSON
from ocigate.store.records import StoredResponse

if TYPE_CHECKING:
    from ocigate.store.responses import ResponseStore


class StoredResponses:
    def __init__(self, store: Callable[[], Awaitable[ResponseStore]]) -> None:
        self._store = store

    async def read(self, request: Request) -> Response:
        response_id, _, rest = request.path_tail.partition("/")
        record = await self._stored(response_id)
        if rest == "input_items":
            return json_response(_item_page(record.input_items, request.query))
        if rest:
            raise NotFound(f"No route for GET {request.path}.", code="unknown_url")
        return json_response(record.response)

    async def delete(self, request: Request) -> Response:
        response_id = request.path_tail
        if not await (await self._store()).delete(response_id):
            raise NotFound(f"Response '{response_id}' is not stored in this gateway.", code="response_not_found")
        return json_response({"id": response_id, "object": "response.deleted", "deleted": True})

    async def _stored(self, response_id: str) -> StoredResponse:
        record = await (await self._store()).get(response_id)
        if record is None:
            raise NotFound(f"Response '{response_id}' is not stored in this gateway.", code="response_not_found")
        return record


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
