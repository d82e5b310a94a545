"""``GET /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items`` and ``DELETE /v1/responses/{id}``: the
conversations the gateway keeps (``api/responses.py`` stores them).

A virtual key reads and deletes only what it stored; another key's response answers the same 404 as an id that
never existed, so ids reveal nothing. The master key sees every response. Reads and deletes are audited when the
audit log is on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from ocigate.api.responses import visible_to
from ocigate.core.asgi import Request, Response, json_response
from ocigate.core.errors import InvalidRequest, NotFound
from ocigate.core.types import JSON

if TYPE_CHECKING:
    from ocigate.store.responses import ResponseStore


class StoredResponses:
    def __init__(self, store: Callable[[], Awaitable[ResponseStore]], audit: Auditor) -> None:
        self._store = store
        self._audit = audit

    async def read(self, request: Request) -> Response:
        response_id, _, rest = request.path_tail.partition("/")
        if rest not in ("", "input_items"):
            raise NotFound(f"No route for GET {request.path}.", code="unknown_url")
        record = await (await self._store()).get(response_id, visible_to(request))
        self._audit.audit_access(request, 404 if record is None else 200, response_id)
        if record is None:
            raise _not_stored(response_id)
        if rest == "input_items":
            return json_response(_item_page(record.input_items, request.query))
        return json_response(record.response)

    async def delete(self, request: Request) -> Response:
        response_id = request.path_tail
        deleted = await (await self._store()).delete(response_id, visible_to(request))
        self._audit.audit_access(request, 200 if deleted else 404, response_id)
        if not deleted:
            raise _not_stored(response_id)
        return json_response({"id": response_id, "object": "response.deleted", "deleted": True})


class Auditor(Protocol):
    def audit_access(self, request: Request, status: int, subject: str) -> None: ...


def _not_stored(response_id: str) -> NotFound:
    return NotFound(f"Response '{response_id}' is not stored in this gateway.", code="response_not_found")


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
