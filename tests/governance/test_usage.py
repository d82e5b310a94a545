"""Usage records: prices, token counts, the batching writer, and reports on SQLite and Postgres."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.config.prices import Price, parse_prices
from ocigate.governance.keys import Budget, KeyHasher
from ocigate.governance.limits import Limiter, MemoryBackend
from ocigate.governance.pricing import DEFAULT_PRICES, PriceTable, estimate_prompt_tokens
from ocigate.governance.usage import (
    BatchWriter,
    TokenCounts,
    UsageRecord,
    UsageWriter,
    tokens_from_usage,
    usage_in_event,
)
from ocigate.store.keys import KeyStore
from ocigate.store.tables import metadata
from ocigate.store.usage import UsageStore


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _record(n: int = 0, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "created_at": time.time(),
        "request_id": f"req_{n}",
        "model": "xai.grok-4",
        "provider": "oracle",
        "endpoint": "chat",
        "status": 200,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "latency_ms": 100.0,
        "cost_usd": 0.001,
    }
    values.update(fields)
    return UsageRecord(**values)  # type: ignore[arg-type]


def test_prices_default_to_oracles_and_the_operator_overrides_them() -> None:
    table = PriceTable()
    assert table.price("xai.grok-4") == DEFAULT_PRICES["xai.grok-4"] == Price(3.0, 15.0)
    assert table.price("openai.gpt-oss-120b") == Price()  # no default: free until priced
    # 1000 prompt tokens of which 400 cached, 200 completion tokens.
    assert table.cost("xai.grok-4", prompt_tokens=1000, completion_tokens=200, cached_tokens=400) == pytest.approx(
        (1000 * 3.0 + 200 * 15.0) / 1e6
    )
    prices, problems = parse_prices(
        {
            "xai.grok-4": {"input": 2, "output": 10, "cached_input": 0.5},
            "openai.gpt-oss-*": {"input": 0.1, "output": 0.4},
            "bad": {"input": -1},
            "worse": "free",
        }
    )
    assert len(problems) == 2 and set(prices) == {"xai.grok-4", "openai.gpt-oss-*"}
    own = PriceTable(prices)
    assert own.cost("xai.grok-4", prompt_tokens=1000, completion_tokens=200, cached_tokens=400) == pytest.approx(
        (600 * 2 + 400 * 0.5 + 200 * 10) / 1e6
    )
    assert own.price("openai.gpt-oss-20b") == Price(0.1, 0.4) and own.price("cohere.embed-v4.0").input == 0.12
    assert own.estimate("openai.gpt-oss-20b", prompt_tokens=1000, max_output_tokens=1000) == pytest.approx(0.0005)
    assert estimate_prompt_tokens(4000) == 1000 and parse_prices(None) == ({}, [])


def test_token_counts_from_every_usage_shape() -> None:
    chat = {
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "prompt_tokens_details": {"cached_tokens": 30},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    assert tokens_from_usage(chat) == TokenCounts(100, 50, 20, 30)
    responses = {
        "input_tokens": 7,
        "output_tokens": 3,
        "input_tokens_details": {"cached_tokens": 2},
        "output_tokens_details": {"reasoning_tokens": 1},
    }
    assert tokens_from_usage(responses) == TokenCounts(7, 3, 1, 2) and TokenCounts(7, 3).total == 10
    assert tokens_from_usage({"prompt_tokens": 9, "total_tokens": 9}) == TokenCounts(9)
    assert tokens_from_usage(None) == TokenCounts() == tokens_from_usage({"prompt_tokens": "many"})
    assert usage_in_event({"choices": [], "usage": chat}) == TokenCounts(100, 50, 20, 30)
    assert usage_in_event({"type": "response.completed", "response": {"usage": responses}}) == TokenCounts(7, 3, 1, 2)
    assert usage_in_event({"choices": [{"delta": {"content": "hi"}}]}) is None


async def test_the_writer_batches_and_flushes_everything_on_close() -> None:
    batches: list[int] = []

    async def sink(batch: Sequence[UsageRecord]) -> None:
        await asyncio.sleep(0.001)
        batches.append(len(batch))

    writer = UsageWriter(sink, interval_s=0.05, batch_size=100)
    await writer.start()
    for n in range(1234):
        assert writer.submit(_record(n))
        if n % 200 == 0:
            await asyncio.sleep(0)
    await writer.close()
    assert sum(batches) == writer.written == 1234 and writer.pending == 0
    assert max(batches) <= 100 and len(batches) <= 20  # multi-row batches, not one write per record


async def test_a_failed_batch_is_retried_and_memory_stays_bounded(caplog: pytest.LogCaptureFixture) -> None:
    written: list[str] = []
    failures = 3

    async def sink(batch: Sequence[UsageRecord]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("the database is down")
        written.extend(r.request_id for r in batch)

    writer = BatchWriter(sink, interval_s=0.01, batch_size=4, max_pending=10, retry_max_s=0.05)
    with caplog.at_level(logging.WARNING, logger="ocigate.governance.usage"):
        await writer.start()
        accepted = [writer.submit(_record(n)) for n in range(12)]
        await writer.close()
    assert accepted == [True] * 10 + [False] * 2 and writer.dropped == 2
    assert written == [f"req_{n}" for n in range(10)]  # every kept record, in order, despite the failures
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "cannot write to the database" in messages and "2 dropped" in messages


async def test_close_gives_up_after_its_timeout_when_the_database_stays_down(caplog: pytest.LogCaptureFixture) -> None:
    async def sink(batch: Sequence[UsageRecord]) -> None:
        raise ConnectionError("down")

    writer = BatchWriter(sink, retry_max_s=0.05)
    writer.submit(_record())
    with caplog.at_level(logging.ERROR, logger="ocigate.governance.usage"):
        await writer.close(timeout_s=0.3)
    assert writer.failing and "1 records could not be written" in caplog.text


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
        writer.submit(_record(n, key_id="key_a", model="m" * 300))  # an over-long model name is cut, not refused

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
        _record(1, created_at=day1, key_id=alpha.id, team="red", model="xai.grok-4", cost_usd=0.5),
        _record(2, created_at=day1, key_id=alpha.id, team="red", model="meta.llama", cost_usd=0.25, status=500),
        _record(3, created_at=day2, key_id=beta.id, team="blue", model="xai.grok-4", cost_usd=1.0),
        _record(4, created_at=day2, model="xai.grok-4", cost_usd=0.125),  # the master key
        _record(5, created_at=_at("2025-03-03T00:00:00"), key_id=beta.id, cost_usd=9.0),  # outside the range
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
    await store.insert([_record(n, key_id=key.id, cost_usd=0.35) for n in range(2)])
    limiter = Limiter(MemoryBackend(), spend=store)
    assert (await limiter.admit(key, cost_usd=0.2)).allowed  # 0.70 + 0.20
    refused = await limiter.admit(key, cost_usd=0.2)  # 0.90 + 0.20 > 1.00
    assert not refused.allowed and "$0.90 spent of its $1.00 daily budget" in refused.message
