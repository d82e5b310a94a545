"""The limit counters of one process, in memory: what a single gateway without Redis uses.

Every method runs to completion without awaiting anything, so on one event loop each admission is atomic,
just as the Lua script makes it in Redis.
"""

from __future__ import annotations

import itertools
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ocigate.governance.limits.backend import Plan, Verdict


@dataclass(slots=True)
class _Budget:
    spent: int
    expires_at: float | None
    """Wall-clock time after which the counter is forgotten."""


@dataclass(slots=True)
class _KeyState:
    requests: array[float] = field(default_factory=lambda: array("d"))
    """Admission times, oldest first, from ``first`` on (the entries before it have left the window): 8 bytes a
    request instead of a deque's 32 (a float object and its slot), for every request of the last window."""
    first: int = 0
    tokens: dict[int, int] = field(default_factory=dict)
    """Tokens per one-second bucket, oldest first (buckets are added as time goes on)."""
    tokens_total: int = 0
    """The sum of ``tokens``, kept as they change rather than summed on every request."""
    second: int = -1
    """The second of the last admission: what ages out of reach (token buckets, a past period's budget) is let
    go once a second, not on every request."""
    leases: dict[str | int, float] = field(default_factory=dict)
    """Lease token -> expiry."""
    budgets: dict[str, _Budget] = field(default_factory=dict)
    """Period -> its counter."""


_COMPACT_AFTER = 1024
"""Entries gone from the front of a request log before it may be compacted; it is once they are a quarter of it
(one move of what is left, at most three entries per entry dropped: amortised constant per request). The log
then holds at most a third more than its window: a key at 3,000 requests a second holds its minute's 1.4 MB
and at most 1.9 MB, where compacting at half let it reach 2.9 MB."""


class MemoryBackend:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._wall = wall
        self._keys: dict[str, _KeyState] = {}
        self.new_token: Callable[[], str | int] = itertools.count(1).__next__
        """Plans' tokens (``Limiter`` asks): this process's counters only, so a number unique here will do."""

    def _state(self, key_id: str) -> _KeyState:
        state = self._keys.get(key_id)
        if state is None:
            state = self._keys[key_id] = _KeyState()
        return state

    async def admit(self, plan: Plan) -> Verdict:
        verdict = self.admit_now(plan)
        if verdict is not None:
            return verdict
        budget = self._budget(self._state(plan.key_id), plan.budget_period) if plan.budget_limit > 0 else None
        spent = None if budget is None else budget.spent
        return Verdict(True, None, 0.0, plan.remaining_requests, plan.remaining_tokens, spent)

    def admit_now(self, plan: Plan) -> Verdict | None:
        """:meth:`admit` without a coroutine (nothing here waits; ``Limiter.admit_now`` calls it directly): None
        when the request is admitted, what it leaves of the limits written into ``plan``; else why not. Verdicts
        are built positionally: a class called with keywords packs and unpacks a dict on every request."""
        now = self._clock()
        state = self._keys.get(plan.key_id)
        if state is None:
            state = self._keys[plan.key_id] = _KeyState()
        second = int(now)  # the clocks here count up from at least 0: int is floor
        if second != state.second:
            self._age(state, second, plan.window_s)
        budget: _Budget | None = None
        if plan.budget_limit > 0:
            budget = state.budgets.get(plan.budget_period)
            if budget is None:
                return Verdict(False, None, 0.0, None, None, None, True)
            if budget.spent + plan.budget_cost > plan.budget_limit:
                return Verdict(False, "budget", 0.0, None, None, budget.spent)
        rpm, tpm, window = plan.rpm, plan.tpm, plan.window_s
        requests, first = state.requests, state.first
        if rpm > 0:
            count, gone = len(requests), now - window
            while first < count and requests[first] <= gone:
                first += 1
            if first > _COMPACT_AFTER and first * 4 > count:  # a quarter of the array has left: drop it
                del requests[:first]
                first = 0
            state.first = first
            if len(requests) - first >= rpm:
                return Verdict(False, "rpm", requests[first] + window - now, 0)
        used = 0
        if tpm > 0:
            used = state.tokens_total if state.tokens_total > 0 else 0
            if used > 0 and used + plan.tokens > tpm:
                return Verdict(False, "tpm", _tokens_retry(state.tokens, used, plan, now), None, 0)
        concurrent = plan.max_concurrent
        leases = state.leases
        if concurrent > 0 and len(leases) >= concurrent:
            # Leases of processes that died holding them matter only when the key is at its limit.
            for token in [t for t, expiry in leases.items() if expiry <= now]:
                del leases[token]
            if len(leases) >= concurrent:
                return Verdict(False, "concurrency", 1.0)
        # Every check passed: record the request everywhere.
        if rpm > 0:
            requests.append(now)
            plan.remaining_requests = rpm - (len(requests) - first)
        if tpm > 0:
            if plan.tokens:
                buckets = state.tokens
                buckets[second] = buckets.get(second, 0) + plan.tokens
                state.tokens_total += plan.tokens
            left = tpm - used - plan.tokens
            plan.remaining_tokens = left if left > 0 else 0
        if concurrent > 0:
            leases[plan.token] = now + plan.lease_s
        if budget is not None:
            budget.spent += plan.budget_cost
        return None

    def _age(self, state: _KeyState, second: int, window_s: float) -> None:
        """A new second for the key: the token buckets that left the window go, and a budget counter past its
        expiry (a period over, and its grace) is forgotten, as :meth:`_budget` would find it."""
        state.second = second
        kept_from = second - int(window_s) + 1  # the oldest bucket still in the window
        buckets = state.tokens
        while buckets:
            oldest = next(iter(buckets))
            if oldest >= kept_from:
                break
            state.tokens_total -= buckets.pop(oldest)
        if state.budgets:
            for period in [p for p, b in state.budgets.items() if b.expires_at is not None]:
                self._budget(state, period)

    async def finish(self, plan: Plan, *, tokens_delta: int, spend_delta: int) -> None:
        self.finish_now(plan, tokens_delta, spend_delta)

    def finish_now(self, plan: Plan, tokens_delta: int, spend_delta: int) -> None:
        """:meth:`finish` without a coroutine: nothing here waits (``Limiter.finish_soon`` settles inline)."""
        state = self._keys.get(plan.key_id)
        if state is None:  # the key's counters were reset since: nothing of this request is counted any more
            return
        if tokens_delta and plan.tpm > 0:
            second = int(self._clock())
            buckets = state.tokens
            buckets[second] = buckets.get(second, 0) + tokens_delta
            state.tokens_total += tokens_delta
        if plan.max_concurrent > 0:
            state.leases.pop(plan.token, None)
        if spend_delta and plan.budget_limit > 0:
            budget = state.budgets.get(plan.budget_period)
            if budget is not None:
                budget.spent += spend_delta

    async def renew(self, plans: Sequence[Plan]) -> None:
        now = self._clock()
        for plan in plans:
            leases = self._state(plan.key_id).leases
            if plan.token in leases:
                leases[plan.token] = now + plan.lease_s

    async def seed_budget(self, key_id: str, period: str, spent: int, expires_at: float | None) -> None:
        state = self._state(key_id)
        if self._budget(state, period) is None:
            state.budgets[period] = _Budget(spent, expires_at)

    async def budget_spent(self, key_id: str, period: str) -> int | None:
        budget = self._budget(self._state(key_id), period)
        return None if budget is None else budget.spent

    async def reset(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    async def close(self) -> None:
        self._keys.clear()

    def _budget(self, state: _KeyState, period: str) -> _Budget | None:
        budget = state.budgets.get(period)
        if budget is not None and budget.expires_at is not None and self._wall() >= budget.expires_at:
            del state.budgets[period]
            return None
        return budget


def _tokens_retry(buckets: dict[int, int], used: int, plan: Plan, now: float) -> float:
    """How long until enough of the window's tokens have aged out for this request to fit."""
    freed = 0
    for bucket in sorted(buckets):
        freed += buckets[bucket]
        if used - freed <= 0 or used - freed + plan.tokens <= plan.tpm:
            return max(0.0, bucket + plan.window_s - now)
    return plan.window_s  # pragma: no cover - the loop frees everything at the latest
