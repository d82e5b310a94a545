"""Usage records on the store, on SQLite and Postgres: the schema, every record written, the reports, and a budget
that starts from what the records hold. Prices, token counts and the batching writer are unit-tested in
tests/unit/governance/test_usage.py."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.governance.keys import Budget, KeyHasher
from ocigate.governance.limits import Limiter, MemoryBackend
from ocigate.governance.usage import (
    UsageWriter,
)
from ocigate.store.keys import KeyStore
from ocigate.store.tables import metadata
from ocigate.store.usage import UsageStore
from tests.support.governance import usage_record


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


async def test_the_schema_matches_the_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    assert diff == []


async def test_records_written_equal_records_submitted(engine: AsyncEngine) -> None:
    store = UsageStore(engine)
    writer = UsageWriter(store.insert, interval_s=0.02, batch_size=200)
    await writer.start()

    async def request(n: int) -> None:
        await asyncio.sleep(0.001 * (n % 7))
        writer.submit(usage_record(n, key_id="key_a", model="m" * 300))  # an over-long model name is cut, not refused

    await asyncio.gather(*(request(n) for n in range(1000)))
    await writer.close()
    [total] = await store.report(since=0, until=time.time() + 1, by=())
    assert total.requests == 1000 and total.prompt_tokens == 10_000 and total.cost_usd == pytest.approx(1.0)
    assert len((await store.recent(limit=5))[0].model) == 200


async def test_reports_by_key_team_model_and_day(engine: AsyncEngine) -> None:
    keys = KeyStore(engine, KeyHasher())
    alpha = (await keys.create("alpha", team="red")).record
    beta = (await keys.create("beta", team="blue")).record
    day1, day2 = _at("2025-03-01T10:00:00"), _at("2025-03-02T23:59:00")
    rows = [
        usage_record(1, created_at=day1, key_id=alpha.id, team="red", model="xai.grok-4", cost_usd=0.5),
        usage_record(2, created_at=day1, key_id=alpha.id, team="red", model="meta.llama", cost_usd=0.25, status=500),
        usage_record(3, created_at=day2, key_id=beta.id, team="blue", model="xai.grok-4", cost_usd=1.0),
        usage_record(4, created_at=day2, model="xai.grok-4", cost_usd=0.125),  # the master key
        usage_record(5, created_at=_at("2025-03-03T00:00:00"), key_id=beta.id, cost_usd=9.0),  # outside the range
    ]
    store = UsageStore(engine)
    await store.insert(rows)
    since, until = _at("2025-03-01T00:00:00"), _at("2025-03-03T00:00:00")

    by_key = await store.report(since=since, until=until, by=("key",))
    assert [(r.key_name, r.requests, r.cost_usd) for r in by_key] == [
        ("beta", 1, 1.0),
        ("alpha", 2, 0.75),
        (None, 1, 0.125),
    ]
    assert by_key[1].key_prefix == alpha.prefix and by_key[1].errors == 1 and by_key[1].prompt_tokens == 20

    by_team_day = await store.report(since=since, until=until, by=("team", "day"))
    assert [(r.day, r.team, r.requests) for r in by_team_day] == [
        ("2025-03-01", "red", 2),
        ("2025-03-02", "blue", 1),
        ("2025-03-02", None, 1),
    ]
    by_model = await store.report(since=since, until=until, by=("model",))
    assert [(r.model, r.requests) for r in by_model] == [("xai.grok-4", 3), ("meta.llama", 1)]
    only_red = await store.report(since=since, until=until, by=("model",), team="red", model="xai.grok-4")
    assert [(r.model, r.cost_usd) for r in only_red] == [("xai.grok-4", 0.5)]
    assert await store.spent_since(beta.id, since, "usd") == pytest.approx(10.0)
    assert await store.spent_since(beta.id, since, "tokens") == 30
    assert by_key[0].to_json()["key_name"] == "beta"
    with pytest.raises(ValueError):
        await store.report(since=since, until=until, by=("colour",))  # type: ignore[arg-type]


async def test_a_budget_starts_from_what_the_usage_records_hold(engine: AsyncEngine) -> None:
    store = UsageStore(engine)
    key = (await KeyStore(engine, KeyHasher()).create("ci", budget=Budget(1.0, "usd", "day"))).record
    await store.insert([usage_record(n, key_id=key.id, cost_usd=0.35) for n in range(2)])
    limiter = Limiter(MemoryBackend(), spend=store)
    assert (await limiter.admit(key, cost_usd=0.2)).allowed  # 0.70 + 0.20
    refused = await limiter.admit(key, cost_usd=0.2)  # 0.90 + 0.20 > 1.00
    assert not refused.allowed and "$0.90 spent of its $1.00 daily budget" in refused.message
