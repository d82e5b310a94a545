"""``/admin``: virtual keys and usage, for the master key only (a virtual key gets 403 from the auth)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ocigate.api.proxy import parse_object
from ocigate.asgi import Request, Response, json_response
from ocigate.errors import GatewayError, InvalidRequest, NotFound
from ocigate.governance import Governance
from ocigate.keys import KeyRecord
from ocigate.store.keys import parse_key_fields
from ocigate.store.usage import GROUPS


class AdminRoutes:
    def __init__(self, governance: Callable[[], Governance | None]) -> None:
        self._governance = governance

    def _gov(self) -> Governance:
        governance = self._governance()
        if governance is None:
            raise GatewayError("The admin API needs OCIGATE_MASTER_KEY to be set.", status=503)
        return governance

    async def _key_json(self, record: KeyRecord) -> dict[str, Any]:
        data = record.to_json()
        if record.budget is not None:
            status = await self._gov().limiter.budget_status(record)
            if status is not None:
                data["budget"] = status.to_json()
        return data

    async def create_key(self, request: Request) -> Response:
        fields = parse_key_fields(parse_object(await request.body()))
        new = await self._gov().keys.create(fields.pop("name"), **fields)
        return json_response({**new.record.to_json(), "secret": new.secret}, 201)

    async def list_keys(self, request: Request) -> Response:
        team = request.query.get("team", [None])[0]
        records = await self._gov().keys.list(team=team)
        return json_response({"object": "list", "data": [r.to_json() for r in records]})

    async def key(self, request: Request) -> Response:
        """``GET|PATCH /admin/keys/{id}``, ``POST /admin/keys/{id}/rotate|revoke``."""
        key_id, _, action = request.path_tail.partition("/")
        gov = self._gov()
        if request.method == "GET" and not action:
            record = await gov.keys.get(key_id)
            if record is None:
                raise NotFound(f"No key has the id '{key_id}'.", code="key_not_found")
            return json_response(await self._key_json(record))
        if request.method == "PATCH" and not action:
            fields = parse_key_fields(parse_object(await request.body()), partial=True)
            return json_response(await self._key_json(await gov.keys.update(key_id, **fields)))
        if request.method == "POST" and action == "rotate":
            new = await gov.keys.rotate(key_id)
            return json_response({**new.record.to_json(), "secret": new.secret})
        if request.method == "POST" and action == "revoke":
            return json_response((await gov.keys.revoke(key_id)).to_json())
        raise NotFound(f"No route for {request.method} {request.path}.", code="unknown_url")

    async def usage(self, request: Request) -> Response:
        gov = self._gov()
        query = request.query
        by = tuple(g for part in query.get("by", ["key"]) for g in part.split(",") if g)
        unknown = [g for g in by if g not in GROUPS]
        if unknown:
            raise InvalidRequest(f"Cannot group usage by '{unknown[0]}'; choose from {', '.join(GROUPS)}.", param="by")
        now = time.time()
        try:
            since = float(query.get("since", [now - 30 * 86400])[0])
            until = float(query.get("until", [now + 1])[0])
        except ValueError as exc:
            raise InvalidRequest("'since' and 'until' must be Unix times in seconds.", param="since") from exc
        await gov.usage.flush()
        rows = await gov.usage_store.report(
            since=since,
            until=until,
            by=by,  # type: ignore[arg-type]
            key_id=query.get("key", [None])[0],
            team=query.get("team", [None])[0],
            model=query.get("model", [None])[0],
        )
        return json_response({"object": "list", "by": list(by), "data": [r.to_json() for r in rows]})
