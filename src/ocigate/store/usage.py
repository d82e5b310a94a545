"""Usage and audit rows: the batch inserts the writers call, and the reports the admin API and ``ocigate usage``
show (totals by key, team, user, model, provider and day over a time range).

Reports filter on ``created_at`` (indexed) and group by plain columns, the day included (stored as
``YYYY-MM-DD`` in UTC), so the same query runs on SQLite and Postgres. Usage::

    store = UsageStore(engine)
    writer = UsageWriter(store.insert)
    rows = await store.report(since=t0, until=t1, by=("team", "day"))
    spent = await store.spent_since(key_id, since=period_start("month", now), unit="usd")
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Table, and_, case, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from ocigate.governance.audit import AuditRecord
from ocigate.governance.keys import BudgetUnit
from ocigate.governance.usage import GroupBy, UsageRecord
from ocigate.store.rows import audit_row, usage_row
from ocigate.store.tables import audit, keys, usage

log = logging.getLogger("ocigate.store")

GROUPS: tuple[GroupBy, ...] = ("key", "team", "user", "model", "provider", "day")
_GROUP_COLUMNS: dict[GroupBy, str] = {
    "key": "key_id",
    "team": "team",
    "user": "user_name",
    "model": "model",
    "provider": "provider",
    "day": "day",
}


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """One row of a report; the grouping fields not asked for are None."""

    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    cost_usd: float
    latency_ms_avg: float
    key_id: str | None = None
    key_name: str | None = None
    key_prefix: str | None = None
    team: str | None = None
    user: str | None = None
    model: str | None = None
    provider: str | None = None
    day: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class UsageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(self, records: Sequence[UsageRecord]) -> None:
        """One multi-row insert; see :func:`insert_rows` for rows the database refuses."""
        await insert_rows(self._engine, usage, [usage_row(r) for r in records])

    async def report(
        self,
        *,
        since: float,
        until: float,
        by: Sequence[GroupBy] = ("key",),
        key_id: str | None = None,
        team: str | None = None,
        model: str | None = None,
        limit: int = 10_000,
    ) -> list[UsageTotals]:
        """Totals over ``since <= created_at < until``, grouped by ``by`` (empty: one grand total), by day first,
        then by cost, highest first."""
        unknown = [g for g in by if g not in _GROUP_COLUMNS]
        if unknown:
            raise ValueError(f"cannot group usage by {unknown[0]!r}; choose from {', '.join(GROUPS)}")
        cost = func.coalesce(func.sum(usage.c.cost_usd), 0.0)
        columns: list[Any] = [usage.c[_GROUP_COLUMNS[g]].label(g) for g in by]
        grouping: list[Any] = [usage.c[_GROUP_COLUMNS[g]] for g in by]
        source: Any = usage
        if "key" in by:
            source = usage.outerjoin(keys, keys.c.id == usage.c.key_id)
            columns += [keys.c.name.label("key_name"), keys.c.prefix.label("key_prefix")]
            grouping += [keys.c.name, keys.c.prefix]
        query = (
            select(
                *columns,
                func.count().label("requests"),
                func.coalesce(func.sum(case((usage.c.status >= 400, 1), else_=0)), 0).label("errors"),
                *(func.coalesce(func.sum(usage.c[c]), 0).label(c) for c in _TOKENS),
                cost.label("cost_usd"),
                func.coalesce(func.avg(usage.c.latency_ms), 0.0).label("latency_ms_avg"),
            )
            .select_from(source)
            .where(and_(usage.c.created_at >= since, usage.c.created_at < until, *_filters(key_id, team, model)))
            .limit(limit)
        )
        if grouping:
            order = [usage.c.day] if "day" in by else []
            query = query.group_by(*grouping).order_by(*order, cost.desc(), *grouping)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_totals(row, by) for row in rows if row["requests"]]

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float:
        """What a key has spent since ``since``: USD, or prompt plus completion tokens (budgets' starting point)."""
        measure: ColumnElement[Any] = (
            usage.c.cost_usd if unit == "usd" else usage.c.prompt_tokens + usage.c.completion_tokens
        )
        query = select(func.coalesce(func.sum(measure), 0)).where(usage.c.key_id == key_id, usage.c.created_at >= since)
        async with self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return float(value or 0)

    async def recent(self, *, limit: int = 100, key_id: str | None = None) -> list[UsageRecord]:
        """The latest records, newest first."""
        query = select(usage).order_by(usage.c.created_at.desc()).limit(limit)
        if key_id is not None:
            query = query.where(usage.c.key_id == key_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            UsageRecord(**{f: row["user_name" if f == "user" else f] for f in UsageRecord.__dataclass_fields__})
            for row in rows
        ]


class AuditStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert(self, records: Sequence[AuditRecord]) -> None:
        await insert_rows(self._engine, audit, [audit_row(r) for r in records])

    async def recent(
        self, *, limit: int = 100, key_id: str | None = None, since: float | None = None
    ) -> list[AuditRecord]:
        """The latest entries, newest first."""
        query = select(audit).order_by(audit.c.created_at.desc(), audit.c.id.desc()).limit(limit)
        if key_id is not None:
            query = query.where(audit.c.key_id == key_id)
        if since is not None:
            query = query.where(audit.c.created_at >= since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            AuditRecord(**{f: row["user_name" if f == "user" else f] for f in AuditRecord.__dataclass_fields__})
            for row in rows
        ]


async def insert_rows(engine: AsyncEngine, table: Table, rows: list[dict[str, Any]]) -> None:
    """Inserts ``rows`` in one statement. Should the database refuse the batch for what a row holds (not for
    being unreachable), the rows go one by one and any it still refuses is logged and skipped, so that one bad
    row cannot block every later batch."""
    if not rows:
        return
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(table), rows)
    except (DataError, IntegrityError):
        for row in rows:
            try:
                async with engine.begin() as conn:
                    await conn.execute(insert(table), [row])
            except (DataError, IntegrityError) as exc:
                log.error("%s: skipping a row the database refuses (%s): %r", table.name, exc.orig, row)


_TOKENS = ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens")


def _filters(key_id: str | None, team: str | None, model: str | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if key_id is not None:
        found.append(usage.c.key_id == key_id)
    if team is not None:
        found.append(usage.c.team == team)
    if model is not None:
        found.append(usage.c.model == model)
    return found


def _totals(row: Any, by: Sequence[GroupBy]) -> UsageTotals:
    groups: dict[str, Any] = {("key_id" if g == "key" else g): row[g] for g in by}
    if "key" in by:
        groups["key_name"], groups["key_prefix"] = row["key_name"], row["key_prefix"]
    return UsageTotals(
        requests=int(row["requests"]),
        errors=int(row["errors"]),
        prompt_tokens=int(row["prompt_tokens"]),
        completion_tokens=int(row["completion_tokens"]),
        reasoning_tokens=int(row["reasoning_tokens"]),
        cached_tokens=int(row["cached_tokens"]),
        cost_usd=float(row["cost_usd"]),
        latency_ms_avg=float(row["latency_ms_avg"]),
        **groups,
    )
