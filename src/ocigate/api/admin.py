"""``/admin``: virtual keys, usage and deployments, for the master key only (a virtual key gets 403 from the auth).

- ``POST /admin/keys``, ``GET /admin/keys``, ``GET|PATCH /admin/keys/{id}``, ``POST /admin/keys/{id}/rotate``,
  ``POST /admin/keys/{id}/revoke``: a key's secret is in the answer to create and rotate only;
- ``GET /admin/usage?by=key,model,day&since=&until=&key=&team=&model=``: totals from the usage records;
- ``GET /admin/deployments``: each deployment's router figures and circuit breaker;
- ``GET /admin``: the admin page (``admin_page.py``).

Every change to a key is written to the audit log when it is on. Every body and query parameter is checked first
(``schemas.admin``): a wrong one is a 400 naming it, never a 500 from the store or the serialiser.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ocigate.core.asgi import Request, Response, Router, json_response
from ocigate.core.errors import NotFound
from ocigate.governance.keys import KeyRecord
from ocigate.governance.service import Governance
from ocigate.schemas.admin import check_key_fields, check_query, plausible_key_id, usage_query
from ocigate.schemas.fields import shorten
from ocigate.schemas.json import parse_object


class AdminRoutes:
    def __init__(self, governance: Governance, deployments: Callable[[], list[dict[str, object]]]) -> None:
        self._gov = governance
        self._deployments = deployments

    def mount(self, router: Router) -> None:
        from ocigate.api.admin_page import admin_page

        router.add("GET", "/admin", admin_page)
        router.add("GET", "/admin/", admin_page)
        router.add("POST", "/admin/keys", self.create_key)
        router.add("GET", "/admin/keys", self.list_keys)
        router.add_prefix("GET", "/admin/keys/", self.key)
        router.add_prefix("PATCH", "/admin/keys/", self.key)
        router.add_prefix("POST", "/admin/keys/", self.key)
        router.add("GET", "/admin/usage", self.usage)
        router.add("GET", "/admin/deployments", self.deployments)

    async def _key_json(self, record: KeyRecord) -> dict[str, Any]:
        data = record.to_json()
        if record.budget is not None:
            status = await self._gov.limiter.budget_status(record)
            if status is not None:
                data["budget"] = status.to_json()
        return data

    async def create_key(self, request: Request) -> Response:
        from ocigate.store.keys import parse_key_fields

        started = time.perf_counter()
        check_query(request.query, ())
        payload = parse_object(await request.body())
        check_key_fields(payload)
        fields = parse_key_fields(payload)
        new = await (await self._gov.stores()).keys.create(fields.pop("name"), **fields)
        self._audited(request, 201, started, new.record.id)
        return json_response({**new.record.to_json(), "secret": new.secret}, 201)

    async def list_keys(self, request: Request) -> Response:
        team = check_query(request.query, ("team",)).get("team")
        records = await (await self._gov.stores()).keys.list(team=team)
        return json_response({"object": "list", "data": [await self._key_json(r) for r in records]})

    async def key(self, request: Request) -> Response:
        """``GET|PATCH /admin/keys/{id}``, ``POST /admin/keys/{id}/rotate|revoke``."""
        from ocigate.store.keys import parse_key_fields

        started = time.perf_counter()
        key_id, _, action = request.path_tail.partition("/")
        check_query(request.query, ())
        if not plausible_key_id(key_id):
            raise NotFound(f"No key has the id '{shorten(key_id)}'.", code="key_not_found")
        keys = (await self._gov.stores()).keys
        if request.method == "GET" and not action:
            record = await keys.get(key_id)
            if record is None:
                raise NotFound(f"No key has the id '{key_id}'.", code="key_not_found")
            return json_response(await self._key_json(record))
        if request.method == "PATCH" and not action:
            payload = parse_object(await request.body())
            check_key_fields(payload, partial=True)
            fields = parse_key_fields(payload, partial=True)
            updated = await keys.update(key_id, **fields)
            self._audited(request, 200, started, key_id)
            return json_response(await self._key_json(updated))
        if request.method == "POST" and action == "rotate":
            new = await keys.rotate(key_id)
            self._audited(request, 200, started, key_id)
            return json_response({**new.record.to_json(), "secret": new.secret})
        if request.method == "POST" and action == "revoke":
            revoked = await keys.revoke(key_id)
            self._audited(request, 200, started, key_id)
            return json_response(revoked.to_json())
        raise NotFound(f"No route for {request.method} {request.path}.", code="unknown_url")

    async def usage(self, request: Request) -> Response:
        from ocigate.store.usage import GROUPS

        query = usage_query(request.query, GROUPS, time.time())
        await self._gov.flush()
        rows = await (await self._gov.stores()).usage.report(
            since=query.since,
            until=query.until,
            by=query.by,  # type: ignore[arg-type]
            key_id=query.key,
            team=query.team,
            model=query.model,
        )
        return json_response({"object": "list", "by": list(query.by), "data": [r.to_json() for r in rows]})

    async def deployments(self, request: Request) -> Response:
        check_query(request.query, ())
        return json_response({"object": "list", "data": self._deployments()})

    def _audited(self, request: Request, status: int, started: float, key_id: str) -> None:
        self._gov.audit_admin(request, status, (time.perf_counter() - started) * 1000, f"key:{key_id}")
