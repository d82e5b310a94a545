"""The in-memory counters as the request path uses them: admitted synchronously, the plan as the ticket, the
request log compacted as it slides, and budgets counted in place. tests/e2e/governance/test_limits.py checks that
memory and Redis decide alike."""

from __future__ import annotations

import dataclasses
import secrets
from array import array

from ocigate.governance.keys import Budget, KeyRecord
from ocigate.governance.limits import Limiter, MemoryBackend, RedisBackend, admitted_headers
from ocigate.governance.limits.memory import _COMPACT_AFTER


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(**limits: object) -> KeyRecord:
    return KeyRecord(f"key_{secrets.token_hex(6)}", "abcdefgh", "team-a", **limits)  # type: ignore[arg-type]


async def test_the_request_log_slides_exactly_and_keeps_only_the_window() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    limiter = Limiter(backend, window_s=1.0)
    record = _key(rpm=1000)
    admitted: list[float] = []
    for step in range(6000):  # 3,000 requests a second for 2 s: every window is full, then slides
        clock.now = 1000.0 + step / 3000
        plan = limiter.admit_now(record, 0, 0.0)
        in_window = sum(1 for t in admitted if t > clock.now - 1.0)
        assert (plan is not None) == (in_window < 1000), (step, in_window)
        if plan is not None:
            admitted.append(clock.now)
            assert plan.remaining_requests == 1000 - in_window - 1
            limiter.finish_soon(plan, tokens=0, cost_usd=0.0)
        else:  # refused, and nothing counted: the awaited admission says why, and when to come back
            decision = await limiter.admit(record, tokens=0, cost_usd=0.0)
            assert not decision.allowed and decision.limit == "rpm" and decision.retry_after_s is not None
            assert 0 < decision.retry_after_s <= 1.0
    state = backend._keys[record.id]
    assert isinstance(state.requests, array) and state.requests.typecode == "d"
    # What left the window went: the log holds the window's requests and at most a compaction's worth more.
    assert len(state.requests) - state.first == sum(1 for t in admitted if t > clock.now - 1.0)
    assert len(state.requests) <= 1000 + 2 * _COMPACT_AFTER


def test_an_admitted_plan_is_its_ticket_and_settles_once() -> None:
    backend = MemoryBackend()
    limiter = Limiter(backend)
    record = _key(tpm=1000, max_concurrent=2, budget=Budget(1.0))
    first = limiter.admit_now(record, 100, 0.0)
    assert first is None  # the budget's counter does not exist yet: the awaited admission seeds it

    async def seed() -> None:
        await limiter.admit(record, tokens=100, cost_usd=0.25)

    _run(seed())
    plan = limiter.admit_now(record, 100, 0.25)
    assert plan is not None
    assert plan.key_id == record.id and plan.unit == "usd" and plan.remaining_tokens == 800
    assert limiter.leased == 2
    limiter.finish_soon(plan, tokens=10, cost_usd=0.05)
    limiter.finish_soon(plan, tokens=10, cost_usd=0.05)  # a second settlement changes nothing
    assert limiter.leased == 1
    state = backend._keys[record.id]
    assert state.tokens_total == 100 + 10  # the seeding admission's estimate, and this one's real count
    assert state.budgets[plan.budget_period].spent == round(0.25 * 1e9) + round(0.05 * 1e9)


def test_counters_elsewhere_are_asked_with_an_await() -> None:
    from redis.asyncio import Redis

    limiter = Limiter(RedisBackend(Redis(port=1), pipeline=None))  # never connected: nothing is sent
    assert limiter.admit_now(_key(rpm=5), 0, 0.0) is None


def test_a_settlement_after_a_reset_counts_nothing() -> None:
    backend = MemoryBackend()
    limiter = Limiter(backend)
    record = _key(tpm=1000, max_concurrent=1)
    admitted = limiter.admit_now(record, 100, 0.0)
    assert admitted is not None
    _run(backend.reset(record.id))
    limiter.finish_soon(admitted, tokens=5, cost_usd=0.0)
    assert record.id not in backend._keys  # no state made up for a key whose counters were reset


def test_a_key_record_works_out_its_name_and_limits_once_and_again_when_replaced() -> None:
    record = _key(rpm=5)
    assert record.limited and record.display == "ogk-abcdefgh…"
    unlimited = dataclasses.replace(record, rpm=None)
    assert not unlimited.limited and unlimited.display == record.display
    assert unlimited == dataclasses.replace(record, rpm=None)  # the worked-out fields do not take part in ==
    budget = Budget(2.5)
    assert budget.units == 2_500_000_000  # nano-dollars
    assert dataclasses.replace(budget, amount=0.25).units == 250_000_000
    assert Budget(70_000, "tokens", "day").units == 70_000


def _run(coroutine: object) -> None:
    import asyncio

    asyncio.run(coroutine)  # type: ignore[arg-type]


async def test_what_is_left_is_counted_for_every_limit_at_once() -> None:
    limiter = Limiter(MemoryBackend())
    record = _key(rpm=5, tpm=1000, max_concurrent=10)
    for admitted in range(1, 6):
        plan = limiter.admit_now(record, 100, 0.0)
        assert plan is not None
        assert (plan.remaining_requests, plan.remaining_tokens) == (5 - admitted, 1000 - 100 * admitted)
        assert dict(admitted_headers(plan)) == {
            b"x-ratelimit-limit-requests": b"5",
            b"x-ratelimit-remaining-requests": str(5 - admitted).encode(),
            b"x-ratelimit-limit-tokens": b"1000",
            b"x-ratelimit-remaining-tokens": str(1000 - 100 * admitted).encode(),
        }
    assert limiter.admit_now(record, 100, 0.0) is None  # the sixth request of the minute is not admitted here
    refused = await limiter.admit(record, tokens=100, cost_usd=0.0)
    assert not refused.allowed and refused.limit == "rpm"
    assert refused.headers()["x-ratelimit-remaining-requests"] == "0"


async def test_an_admission_at_once_and_an_awaited_one_give_the_same_headers() -> None:
    """The request path's headers come from the plan (``admitted_headers``), the awaited path's from a Decision:
    two counters in the same state must answer the same headers."""
    for limits in ({"rpm": 7}, {"tpm": 900}, {"rpm": 7, "tpm": 900, "max_concurrent": 3}, {"budget": Budget(5.0)}):
        record = _key(**limits)
        at_once, awaited = Limiter(MemoryBackend()), Limiter(MemoryBackend())
        await at_once.admit(record, tokens=50, cost_usd=0.01)  # a budget's counter is seeded on the first
        await awaited.admit(record, tokens=50, cost_usd=0.01)
        plan = at_once.admit_now(record, 50, 0.01)
        decision = await awaited.admit(record, tokens=50, cost_usd=0.01)
        assert plan is not None and decision.allowed, limits
        assert admitted_headers(plan) == decision.header_pairs(), limits


async def test_what_ages_out_goes_once_a_second_exactly_as_it_went_on_every_request() -> None:
    """Token buckets that left the window and a budget counter past its expiry are let go when a new second
    begins for the key (``_KeyState.second``), not on every request: the counts are the same."""
    mono, wall = Clock(), Clock()
    backend = MemoryBackend(clock=mono, wall=wall)
    limiter = Limiter(backend, clock=wall)
    record = _key(tpm=1000, budget=Budget(10_000.0, "tokens", "total"))
    await backend.seed_budget(record.id, "total", 0, wall.now + 30)  # a counter that lapses in 30 s
    first = limiter.admit_now(record, 600, 0.0)
    assert first is not None and first.remaining_tokens == 400
    mono.now += 59.5  # the same window: 600 of 1000 used
    assert limiter.admit_now(record, 500, 0.0) is None
    mono.now += 0.5  # the bucket of the first second has left the window
    second = limiter.admit_now(record, 500, 0.0)
    assert second is not None and second.remaining_tokens == 500
    wall.now += 31  # the budget counter has expired: forgotten, so the awaited admission seeds it again
    mono.now += 1
    assert limiter.admit_now(record, 10, 0.0) is None
    assert await backend.budget_spent(record.id, "total") is None


def test_a_busy_request_log_holds_at_most_a_third_more_than_its_window() -> None:
    """Compacted once a quarter of it has left the window (before: once half had, so up to twice the window)."""
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    limiter = Limiter(backend, window_s=1.0)
    record = _key(rpm=1_000_000)
    longest = 0
    for step in range(60_000):  # 20,000 requests a second for 3 s: the window holds 20,000
        clock.now = 1000.0 + step / 20_000
        assert limiter.admit_now(record, 0, 0.0) is not None
        longest = max(longest, len(backend._keys[record.id].requests))
    state = backend._keys[record.id]
    assert len(state.requests) - state.first == 20_000
    assert 20_000 < longest <= 20_000 * 4 // 3 + 1
