"""Usage and audit records as table rows, and key rows as records, without SQLAlchemy: shared by ``store/usage.py``
and ``store/keys.py`` (SQLAlchemy, any database) and ``store/usage_sqlite.py`` and ``store/keys_sqlite.py`` (the
standard library's ``sqlite3`` on the request path's side)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from ocigate.governance.audit import AuditRecord
from ocigate.governance.keys import Budget, KeyRecord
from ocigate.governance.usage import UsageRecord

USAGE_COLUMNS = (
    "created_at",
    "day",
    "request_id",
    "key_id",
    "team",
    "user_name",
    "model",
    "provider",
    "region",
    "endpoint",
    "stream",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "latency_ms",
    "ttft_ms",
    "cost_usd",
)


_DAYS: dict[int, str] = {}


def day_of(moment: float) -> str:
    """The UTC day of a Unix time, ``YYYY-MM-DD`` (cached: every row of a day has the same)."""
    index = int(moment // 86400)
    day = _DAYS.get(index)
    if day is None:
        if len(_DAYS) > 1000:
            _DAYS.clear()
        day = _DAYS[index] = time.strftime("%Y-%m-%d", time.gmtime(index * 86400))
    return day


def _cut(value: str | None, size: int) -> str | None:
    return value if value is None or len(value) <= size else value[:size]


def usage_values(r: UsageRecord) -> tuple[Any, ...]:
    """The row in ``USAGE_COLUMNS`` order. Strings are cut to the columns' sizes: Postgres refuses longer ones,
    and a model name comes from the client."""
    return (
        r.created_at,
        day_of(r.created_at),
        _cut(r.request_id, 64),
        _cut(r.key_id, 40),
        _cut(r.team, 200),
        _cut(r.user, 200),
        _cut(r.model, 200),
        _cut(r.provider, 100),
        _cut(r.region, 40),
        _cut(r.endpoint, 40),
        r.stream,
        r.status,
        r.prompt_tokens,
        r.completion_tokens,
        r.reasoning_tokens,
        r.cached_tokens,
        r.latency_ms,
        r.ttft_ms,
        r.cost_usd,
    )


def usage_row(r: UsageRecord) -> dict[str, Any]:
    return dict(zip(USAGE_COLUMNS, usage_values(r), strict=True))


def audit_row(r: AuditRecord) -> dict[str, Any]:
    return {
        "created_at": r.created_at,
        "day": day_of(r.created_at),
        "request_id": _cut(r.request_id, 64),
        "key_id": _cut(r.key_id, 40),
        "key_prefix": _cut(r.key_prefix, 16),
        "team": _cut(r.team, 200),
        "user_name": _cut(r.user, 200),
        "client": _cut(r.client, 100),
        "method": _cut(r.method, 10),
        "path": _cut(r.path, 300),
        "model": _cut(r.model, 200),
        "status": r.status,
        "duration_ms": r.duration_ms,
        "request_body": r.request_body,
        "response_body": r.response_body,
    }


KEY_COLUMNS = (
    "id",
    "prefix",
    "name",
    "team",
    "user_name",
    "allowed_models",
    "rpm",
    "tpm",
    "max_concurrent",
    "budget_amount",
    "budget_unit",
    "budget_period",
    "expires_at",
    "revoked_at",
    "created_at",
    "metadata_json",
)
"""The columns of ``keys`` a :class:`KeyRecord` is made of (not the hash)."""


def key_record(data: Mapping[Any, Any]) -> KeyRecord:
    """A row of ``keys`` (a mapping by column name) as the gateway's record of the key."""
    budget = None
    if data["budget_amount"] is not None:
        budget = Budget(float(data["budget_amount"]), data["budget_unit"], data["budget_period"])
    return KeyRecord(
        id=data["id"],
        prefix=data["prefix"],
        name=data["name"],
        team=data["team"],
        user=data["user_name"],
        allowed_models=tuple(orjson.loads(data["allowed_models"])),
        rpm=data["rpm"],
        tpm=data["tpm"],
        max_concurrent=data["max_concurrent"],
        budget=budget,
        expires_at=data["expires_at"],
        revoked_at=data["revoked_at"],
        created_at=float(data["created_at"]),
        metadata=orjson.loads(data["metadata_json"]),
    )
