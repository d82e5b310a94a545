"""Rate limits, concurrency and budgets, against the in-memory backend and this machine's Redis."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ocigate.governance.keys import Budget, BudgetUnit, KeyRecord, period_reset
from ocigate.governance.limits import LimitBackend, Limiter, MemoryBackend, RedisBackend
from tests.support.databases import REDIS_URL, redis_client

Factory = Callable[[], LimitBackend]


@pytest.fixture(params=["memory", "redis", "redis-py"])
async def backends(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """Makes backends that share their counters: one in-memory backend, or a new Redis connection each time
    (as separate gateway processes would have), pipelined by ocigate or sent through redis-py."""
    if request.param == "memory":
        shared = MemoryBackend()
        yield lambda: shared
        return
    clients = [await redis_client() for _ in range(3)]
    namespace = f"ocigate-test-{secrets.token_hex(4)}:"
    made: list[RedisBackend] = []

    def make() -> LimitBackend:
        client = clients[len(made) % 3]
        made.append(RedisBackend(client, namespace=namespace, pipeline="auto" if request.param == "redis" else None))
        return made[-1]

    yield make
    for backend in made:
        await backend.close()
    names = [name async for name in clients[0].scan_iter(match=namespace + "*", count=500)]
    if names:
        await clients[0].delete(*names)
    for client in clients:
        await client.aclose()


def _key(**limits: object) -> KeyRecord:
    return KeyRecord(f"key_{secrets.token_hex(6)}", "abcdefgh", "team-a", **limits)  # type: ignore[arg-type]


class Spent:
    """A stand-in for the usage store: what the key had spent before the counter existed."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.asked = 0

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float:
        self.asked += 1
        return self.value


async def test_requests_per_minute_hold_exactly_under_concurrency(backends: Factory) -> None:
    limiters = [Limiter(backends()) for _ in range(3)]
    record = _key(rpm=50)
    decisions = await asyncio.gather(*(limiters[i % 3].admit(record) for i in range(200)))
    allowed = [d for d in decisions if d.allowed]
    refused = [d for d in decisions if not d.allowed]
    assert len(allowed) == 50
    assert {d.limit for d in refused} == {"rpm"}
    assert all(d.retry_after_s is not None and 0 < d.retry_after_s <= 60 for d in refused)
    error = refused[0].error()
    assert error.status == 429 and error.code == "rate_limit_exceeded" and error.type == "rate_limit_error"
    assert 1 <= int(error.headers["retry-after"]) <= 60 and "50 requests per minute" in error.message
    assert allowed[-1].headers()["x-ratelimit-limit-requests"] == "50"
    assert sorted(d.remaining_requests or 0 for d in allowed) == list(range(50))


async def test_the_request_window_slides(backends: Factory) -> None:
    limiter = Limiter(backends(), window_s=1.0)
    record = _key(rpm=3)
    assert all([(await limiter.admit(record)).allowed for _ in range(3)])
    refused = await limiter.admit(record)
    assert not refused.allowed and refused.retry_after_s is not None and refused.retry_after_s <= 1.0
    assert "3 requests per 1 s" in refused.message
    await asyncio.sleep(refused.retry_after_s + 0.05)
    assert (await limiter.admit(record)).allowed


async def test_tokens_per_minute_reserve_the_estimate_and_settle_the_real_count(backends: Factory) -> None:
    limiter = Limiter(backends())
    record = _key(tpm=100)
    first = await limiter.admit(record, tokens=60)
    assert first.allowed and first.remaining_tokens == 40
    second = await limiter.admit(record, tokens=60)
    assert not second.allowed and second.limit == "tpm" and "100 tokens per minute" in second.message
    assert second.retry_after_s is not None and 55 < second.retry_after_s <= 60
    await limiter.finish(first.ticket, tokens=10, cost_usd=0.0)  # it used far less than estimated
    third = await limiter.admit(record, tokens=60)
    assert third.allowed and third.remaining_tokens == 30
    await limiter.finish(third.ticket, tokens=60, cost_usd=0.0)
    assert not (await limiter.admit(record, tokens=40)).allowed
    # An empty window lets one request through whatever its estimate.
    assert (await Limiter(backends()).admit(_key(tpm=100), tokens=5_000)).allowed


async def test_concurrent_requests_hold_leases_that_are_released_or_lapse(backends: Factory) -> None:
    record = _key(max_concurrent=2)
    limiter = Limiter(backends(), lease_s=0.3)
    first, second = await limiter.admit(record), await limiter.admit(record)
    assert first.allowed and second.allowed
    third = await limiter.admit(record)
    assert not third.allowed and third.limit == "concurrency" and third.error().code == "concurrency_limit_exceeded"
    await limiter.finish(first.ticket, tokens=0, cost_usd=0.0)
    await limiter.finish(first.ticket, tokens=0, cost_usd=0.0)  # a second finish changes nothing
    assert (await limiter.admit(record)).allowed
    assert not (await limiter.admit(record)).allowed
    # This limiter "crashes": nobody finishes or renews its two requests; their leases lapse.
    other = Limiter(backends(), lease_s=0.3)
    await asyncio.sleep(0.4)
    assert (await other.admit(record)).allowed


async def test_a_running_limiter_renews_its_leases(backends: Factory) -> None:
    record = _key(max_concurrent=1)
    limiter = Limiter(backends(), lease_s=0.3)
    await limiter.start()
    try:
        held = await limiter.admit(record)
        await asyncio.sleep(0.6)  # twice the lease: still held, because it is renewed
        assert not (await Limiter(backends(), lease_s=0.3).admit(record)).allowed
        await limiter.finish(held.ticket, tokens=0, cost_usd=0.0)
        assert (await limiter.admit(record)).allowed
    finally:
        await limiter.close()


async def test_budgets_reserve_settle_and_refuse_with_the_reset_time(backends: Factory) -> None:
    spent = Spent(0.5)
    limiter = Limiter(backends(), spend=spent)
    record = _key(budget=Budget(1.0, "usd", "day"))
    first = await limiter.admit(record, cost_usd=0.3)
    assert first.allowed and spent.asked == 1  # the counter started from the usage records
    refused = await limiter.admit(record, cost_usd=0.3)  # 0.5 spent + 0.3 reserved + 0.3 > 1.0
    now = time.time()
    assert not refused.allowed and refused.limit == "budget"
    reset = period_reset("day", now)
    assert reset is not None and refused.reset_at == reset
    assert refused.retry_after_s is not None and abs(refused.retry_after_s - (reset - now)) < 5
    assert "$0.80 spent of its $1.00 daily budget" in refused.message and "resets at" in refused.message
    error = refused.error()
    assert error.status == 429 and error.type == "insufficient_quota" and error.code == "budget_exceeded"
    assert error.headers["x-should-retry"] == "false" and int(error.headers["retry-after"]) > 0
    await limiter.finish(first.ticket, tokens=100, cost_usd=0.1)  # it cost less than reserved
    status = await limiter.budget_status(record)
    assert status is not None and abs(status.spent - 0.6) < 1e-9 and abs(status.remaining - 0.4) < 1e-9
    assert (await limiter.admit(record, cost_usd=0.3)).allowed
    assert spent.asked == 1


async def test_token_and_total_budgets(backends: Factory) -> None:
    limiter = Limiter(backends(), spend=Spent(0))
    tokens = _key(budget=Budget(1000, "tokens", "week"))
    admitted = await limiter.admit(tokens, tokens=600)
    assert admitted.allowed and not (await limiter.admit(tokens, tokens=600)).allowed
    await limiter.finish(admitted.ticket, tokens=300, cost_usd=9.0)  # a token budget ignores dollars
    assert (await limiter.admit(tokens, tokens=600)).allowed

    total = _key(budget=Budget(2.0, "usd", "total"))
    spent_all = Limiter(backends(), spend=Spent(2.0))
    refused = await spent_all.admit(total, cost_usd=0.01)
    assert not refused.allowed and refused.retry_after_s is None and refused.reset_at is None
    assert "does not reset" in refused.message and "retry-after" not in refused.headers()


async def test_budgets_spend_at_most_their_amount_under_concurrency(backends: Factory) -> None:
    limiters = [Limiter(backends(), spend=Spent(0)) for _ in range(3)]
    record = _key(budget=Budget(1.0, "usd", "month"))

    async def one(limiter: Limiter) -> bool:
        decision = await limiter.admit(record, cost_usd=0.05)
        await asyncio.sleep(0.01)
        await limiter.finish(decision.ticket, tokens=10, cost_usd=0.05)
        return decision.allowed

    results = await asyncio.gather(*(one(limiters[i % 3]) for i in range(60)))
    assert sum(results) == 20
    status = await limiters[0].budget_status(record)
    assert status is not None and abs(status.spent - 1.0) < 1e-9


_WORKER = """
import asyncio, sys, time
from redis.asyncio import Redis
from ocigate.governance.keys import KeyRecord
from ocigate.governance.limits import Limiter, RedisBackend

async def main(url, namespace, key_id, start_at, attempts):
    client = Redis.from_url(url)
    backend = RedisBackend(client, namespace=namespace)
    limiter = Limiter(backend)
    record = KeyRecord(key_id, "abcdefgh", "team-a", rpm=50)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    decisions = await asyncio.gather(*(limiter.admit(record) for _ in range(attempts)))
    print(sum(d.allowed and d.enforced for d in decisions))
    await backend.close()
    await client.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])))
"""


async def test_requests_per_minute_hold_across_processes(namespace: str) -> None:
    """Three processes, as three gateways would be, each trying 70 requests at the same moment: 50 pass."""
    key_id = f"key_{secrets.token_hex(6)}"
    start_at = f"{time.time() + 1.5:.3f}"
    src = str(Path(__file__).resolve().parents[3] / "src")
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WORKER,
            REDIS_URL,
            namespace,
            key_id,
            start_at,
            "70",
            stdout=asyncio.subprocess.PIPE,
            env={"PYTHONPATH": src},
        )
        for _ in range(3)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 20)
    assert all(w.returncode == 0 for w in workers)
    assert sum(int(out.decode()) for out, _ in outputs) == 50


async def test_settling_in_the_background_releases_the_slot(backends: Factory) -> None:
    record = _key(max_concurrent=1, tpm=1000)
    limiter = Limiter(backends())
    held = await limiter.admit(record, tokens=10)
    limiter.finish_soon(held.ticket, tokens=900, cost_usd=0.0)
    limiter.finish_soon(held.ticket, tokens=900, cost_usd=0.0)  # once only, however often it is asked
    await limiter.close()  # waits for the settlement
    again = await limiter.admit(record, tokens=50)
    assert again.allowed and again.remaining_tokens == 50
