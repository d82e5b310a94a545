"""Usage records: prices, token counts and the batching writer. tests/e2e/governance/test_usage_store.py writes
them to SQLite and Postgres and reports on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from ocigate.config.prices import Price, parse_prices
from ocigate.governance.pricing import DEFAULT_PRICES, PriceTable, estimate_prompt_tokens
from ocigate.governance.usage import (
    BatchWriter,
    TokenCounts,
    UsageRecord,
    UsageWriter,
    tokens_from_usage,
    usage_in_event,
)
from tests.support.governance import usage_record


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
        assert writer.submit(usage_record(n))
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
        accepted = [writer.submit(usage_record(n)) for n in range(12)]
        await writer.close()
    assert accepted == [True] * 10 + [False] * 2 and writer.dropped == 2
    assert written == [f"req_{n}" for n in range(10)]  # every kept record, in order, despite the failures
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "cannot write to the database" in messages and "2 dropped" in messages


async def test_close_gives_up_after_its_timeout_when_the_database_stays_down(caplog: pytest.LogCaptureFixture) -> None:
    async def sink(batch: Sequence[UsageRecord]) -> None:
        raise ConnectionError("down")

    writer = BatchWriter(sink, retry_max_s=0.05)
    writer.submit(usage_record())
    with caplog.at_level(logging.ERROR, logger="ocigate.governance.usage"):
        await writer.close(timeout_s=0.3)
    assert writer.failing and "1 records could not be written" in caplog.text
