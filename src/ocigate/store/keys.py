"""Virtual keys in the database: created, listed, rotated, revoked and re-limited by the admin API and
``ocigate keys``. The secret itself is returned once, by :meth:`KeyStore.create` and :meth:`KeyStore.rotate`;
only its hash is stored.

Usage::

    store = KeyStore(engine, KeyHasher(pepper))
    store.listen(cache.invalidate)        # every change is announced (KeyCache: here and through Redis)
    new = await store.create("ci", team="platform", rpm=60, budget=Budget(10.0, "usd", "month"))
    print(new.secret)                     # ogk-…, shown once
    await store.update(new.record.id, rpm=120, expires_at=None)
    rotated = await store.rotate(new.record.id)   # same id and limits, new secret; the old one stops working
    await store.revoke(new.record.id)

``parse_key_fields`` checks an admin request's JSON and returns the keyword arguments for ``create`` and
``update`` (or an :class:`InvalidRequest` naming the field).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.core.errors import InvalidRequest, NotFound
from ocigate.governance.keys import (
    BUDGET_PERIODS,
    BUDGET_UNITS,
    Budget,
    KeyHasher,
    KeyRecord,
    new_secret,
    visible_prefix,
)
from ocigate.store.rows import key_record
from ocigate.store.tables import keys


class _Unset:
    """Marks an argument that was not given, as opposed to one given as None (which clears the setting)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

Listener = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created or rotated: the only time its secret exists outside the client."""

    record: KeyRecord
    secret: str


class KeyStore:
    def __init__(self, engine: AsyncEngine, hasher: KeyHasher, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self.hasher = hasher
        self._clock = clock
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Calls ``listener(key_id)`` after every change to a key (the key cache's ``invalidate``)."""
        self._listeners.append(listener)

    async def create(
        self,
        name: str,
        *,
        team: str | None = None,
        user: str | None = None,
        allowed_models: Iterable[str] = (),
        rpm: int | None = None,
        tpm: int | None = None,
        max_concurrent: int | None = None,
        budget: Budget | None = None,
        expires_at: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> NewKey:
        now = self._clock()
        secret = new_secret()
        key_id = "key_" + secrets.token_hex(8)
        row = {
            "id": key_id,
            "key_hash": self.hasher.hash(secret),
            "prefix": visible_prefix(secret),
            "name": name,
            "team": team,
            "user_name": user,
            "allowed_models": orjson.dumps(list(allowed_models)).decode(),
            "rpm": rpm,
            "tpm": tpm,
            "max_concurrent": max_concurrent,
            **_budget_columns(budget),
            "expires_at": expires_at,
            "revoked_at": None,
            "created_at": now,
            "updated_at": now,
            "metadata_json": orjson.dumps(dict(metadata or {})).decode(),
        }
        async with self._engine.begin() as conn:
            await conn.execute(insert(keys).values(**row))
        await self._announce(key_id)
        return NewKey(key_record(row), secret)

    async def get(self, key_id: str) -> KeyRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(keys).where(keys.c.id == key_id))).first()
        return None if row is None else key_record(row._mapping)

    async def exists(self) -> bool:
        """Whether any key was ever created (revoked ones included)."""
        async with self._engine.connect() as conn:
            return (await conn.execute(select(keys.c.id).limit(1))).first() is not None

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(keys).where(keys.c.key_hash == key_hash))).first()
        return None if row is None else key_record(row._mapping)

    async def list(self, *, team: str | None = None, include_revoked: bool = True) -> list[KeyRecord]:
        """Keys, newest first."""
        query = select(keys).order_by(keys.c.created_at.desc(), keys.c.id)
        if team is not None:
            query = query.where(keys.c.team == team)
        if not include_revoked:
            query = query.where(keys.c.revoked_at.is_(None))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [key_record(row._mapping) for row in rows]

    async def rotate(self, key_id: str) -> NewKey:
        """A new secret for the same key (id, limits, usage history); the old secret stops working."""
        current = await self._require(key_id)
        if current.revoked_at is not None:
            raise InvalidRequest(f"The key {current.display} ('{current.name}') is revoked; create a new key instead.")
        secret = new_secret()
        record = await self._change(key_id, {"key_hash": self.hasher.hash(secret), "prefix": visible_prefix(secret)})
        return NewKey(record, secret)

    async def revoke(self, key_id: str) -> KeyRecord:
        """Revokes the key (idempotent: a revoked key keeps its first revocation time)."""
        current = await self._require(key_id)
        if current.revoked_at is not None:
            return current
        return await self._change(key_id, {"revoked_at": self._clock()})

    async def update(
        self,
        key_id: str,
        *,
        name: str | _Unset = UNSET,
        team: str | None | _Unset = UNSET,
        user: str | None | _Unset = UNSET,
        allowed_models: Iterable[str] | _Unset = UNSET,
        rpm: int | None | _Unset = UNSET,
        tpm: int | None | _Unset = UNSET,
        max_concurrent: int | None | _Unset = UNSET,
        budget: Budget | None | _Unset = UNSET,
        expires_at: float | None | _Unset = UNSET,
        metadata: Mapping[str, Any] | _Unset = UNSET,
    ) -> KeyRecord:
        """Changes what is given; None clears a limit (no limit), an omitted argument keeps it."""
        values: dict[str, Any] = {}
        for column, value in (
            ("name", name),
            ("team", team),
            ("user_name", user),
            ("rpm", rpm),
            ("tpm", tpm),
            ("max_concurrent", max_concurrent),
            ("expires_at", expires_at),
        ):
            if not isinstance(value, _Unset):
                values[column] = value
        if not isinstance(allowed_models, _Unset):
            values["allowed_models"] = orjson.dumps(list(allowed_models)).decode()
        if not isinstance(budget, _Unset):
            values.update(_budget_columns(budget))
        if not isinstance(metadata, _Unset):
            values["metadata_json"] = orjson.dumps(dict(metadata)).decode()
        await self._require(key_id)
        return await self._change(key_id, values)

    async def _require(self, key_id: str) -> KeyRecord:
        record = await self.get(key_id)
        if record is None:
            raise NotFound(f"No key has the id '{key_id}'.", code="key_not_found")
        return record

    async def _change(self, key_id: str, values: dict[str, Any]) -> KeyRecord:
        values["updated_at"] = self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(update(keys).where(keys.c.id == key_id).values(**values))
            row = (await conn.execute(select(keys).where(keys.c.id == key_id))).first()
        await self._announce(key_id)
        if row is None:  # deleted by hand between the two statements
            raise NotFound(f"No key has the id '{key_id}'.", code="key_not_found")
        return key_record(row._mapping)

    async def _announce(self, key_id: str) -> None:
        for listener in self._listeners:
            await listener(key_id)


def _budget_columns(budget: Budget | None) -> dict[str, Any]:
    if budget is None:
        return {"budget_amount": None, "budget_unit": None, "budget_period": None}
    return {"budget_amount": budget.amount, "budget_unit": budget.unit, "budget_period": budget.period}


_LIMITS = ("rpm", "tpm", "max_concurrent")


def parse_key_fields(payload: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """An admin request's key fields, checked, as keyword arguments for ``KeyStore.create`` (``partial=False``:
    ``name`` required) or ``KeyStore.update`` (only the fields present). Raises :class:`InvalidRequest`."""
    fields: dict[str, Any] = {}
    unknown = set(payload) - {"name", "team", "user", "allowed_models", *_LIMITS, "budget", "expires_at", "metadata"}
    if unknown:
        raise InvalidRequest(f"Unknown key field(s): {', '.join(sorted(unknown))}.", param=sorted(unknown)[0])
    if "name" in payload or not partial:
        name = payload.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidRequest("'name' is required: a label for the key of at most 200 characters.", param="name")
        fields["name"] = name.strip()
    for text in ("team", "user"):
        if text in payload:
            value = payload[text]
            if value is not None and (not isinstance(value, str) or len(value) > 200):
                raise InvalidRequest(f"'{text}' must be a string of at most 200 characters, or null.", param=text)
            fields[text] = value or None
    if "allowed_models" in payload:
        models = payload["allowed_models"]
        if models is None:
            models = []
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise InvalidRequest(
                "'allowed_models' must be a list of model names or patterns such as 'xai.*'.", param="allowed_models"
            )
        fields["allowed_models"] = tuple(models)
    for limit in _LIMITS:
        if limit in payload:
            value = payload[limit]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise InvalidRequest(f"'{limit}' must be a positive integer, or null for no limit.", param=limit)
            fields[limit] = value
    if "budget" in payload:
        fields["budget"] = _parse_budget(payload["budget"])
    if "expires_at" in payload:
        fields["expires_at"] = _parse_time(payload["expires_at"])
    if "metadata" in payload:
        metadata = payload["metadata"]
        if not isinstance(metadata, dict):
            raise InvalidRequest("'metadata' must be a JSON object.", param="metadata")
        fields["metadata"] = metadata
    return fields


def _parse_budget(raw: Any) -> Budget | None:
    if raw is None:
        return None
    problem = (
        '\'budget\' must be null or {"amount": <positive number>, "unit": "usd" | "tokens", '
        '"period": "day" | "week" | "month" | "total"}.'
    )
    if not isinstance(raw, dict):
        raise InvalidRequest(problem, param="budget")
    amount, unit, period = raw.get("amount"), raw.get("unit", "usd"), raw.get("period", "month")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise InvalidRequest(problem, param="budget")
    if unit not in BUDGET_UNITS or period not in BUDGET_PERIODS or set(raw) - {"amount", "unit", "period"}:
        raise InvalidRequest(problem, param="budget")
    return Budget(float(amount), unit, period)


def _parse_time(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    raise InvalidRequest(
        "'expires_at' must be a Unix time in seconds, an ISO 8601 time (2026-01-31T00:00:00Z), or null.",
        param="expires_at",
    )
