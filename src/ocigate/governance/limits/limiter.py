"""The limits of a virtual key applied to one request: admit it (or say why not and until when), then settle.

Usage::

    limiter = Limiter(backend, spend=usage_store)     # MemoryBackend() or RedisBackend(redis)
    await limiter.start()                             # renews the concurrency leases of long requests
    decision = await limiter.admit(record, tokens=estimate, cost_usd=price_estimate)
    if not decision.allowed:
        raise decision.error()                        # 429 with Retry-After and a message naming the limit
    try:
        ...                                           # the upstream call
    finally:
        await limiter.finish(decision.ticket, tokens=used, cost_usd=cost)
    await limiter.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from ocigate.core.ids import next_id
from ocigate.governance.keys import (
    NANO,
    BudgetPeriod,
    BudgetUnit,
    KeyRecord,
    period_label,
    period_reset,
    period_start,
)
from ocigate.governance.limits.backend import LimitBackend, Plan, Verdict
from ocigate.governance.limits.decisions import (
    ALLOWED,
    BudgetStatus,
    Decision,
    Ticket,
    from_units,
    spell,
    to_units,
    when,
)

log = logging.getLogger("ocigate.governance.limits")
GRACE_S = 2 * 86400
"""How long a budget counter outlives its period, so that requests admitted just before the reset settle."""


class SpendSource(Protocol):
    """Where a budget counter starts from when it is first needed: the usage records (``UsageStore``)."""

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float: ...


class Limiter:
    def __init__(
        self,
        backend: LimitBackend,
        *,
        spend: SpendSource | None = None,
        window_s: float = 60.0,
        lease_s: float = 60.0,
        fail_open: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``window_s``: the window of ``rpm`` and ``tpm`` (a minute). ``lease_s``: how long a concurrency slot
        outlives a process that died holding it. ``fail_open``: let requests through (and log) while the
        counters cannot be reached, rather than refuse them all."""
        self._backend = backend
        self._spend = spend
        self._window = window_s
        self._lease = lease_s
        self._fail_open = fail_open
        self._clock = clock
        self._leased: dict[str | int, Plan] = {}
        self._seeding: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._last_warning = 0.0
        self._periods: dict[BudgetPeriod, tuple[float, float | None, str]] = {}
        self._settling: set[asyncio.Task[None]] = set()
        # The in-memory counters (and the limit broker's client, for settling) answer without waiting.
        self._admit_now: Callable[[Plan], Verdict | None] | None = getattr(backend, "admit_now", None)
        self._new_token: Callable[[], str | int] = getattr(backend, "new_token", next_id)
        self._finish_now: Callable[[Plan, int, int], None] | None = getattr(backend, "finish_now", None)

    async def start(self) -> None:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_leases())

    async def close(self) -> None:
        """Stops renewing leases, after the settlements started by :meth:`finish_soon` are done."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    async def admit(self, record: KeyRecord, *, tokens: int = 0, cost_usd: float = 0.0) -> Decision:
        """``tokens``: the request's estimated tokens (prompt plus expected output), reserved against the key's
        ``tpm`` and a token budget; ``cost_usd``: its estimated cost, reserved against a USD budget. The request
        path asks :meth:`admit_now` first, and this only when that cannot say yes."""
        if not record.limited:
            return ALLOWED
        now = self._clock()
        plan = self._plan(record, tokens, cost_usd, now)
        try:
            verdict = await self._backend.admit(plan)
            if verdict.budget_unknown:
                await self._seed(record, plan.budget_period, now)
                verdict = await self._backend.admit(plan)
        except Exception as exc:  # noqa: BLE001 - Redis down: fail open (or closed) by policy
            return self._unreachable(exc)
        if verdict.budget_unknown:  # pragma: no cover - a counter gone again between seeding and asking
            return self._unreachable(RuntimeError("the budget counter vanished"))
        return self._decided(record, plan, verdict, now)

    def admit_now(self, record: KeyRecord, tokens: int, cost_usd: float) -> Plan | None:
        """A limited key's request admitted without waiting, where the counters answer at once (in memory): its
        plan, which is its ticket (what the counters left is written into it: :func:`admitted_headers`). None for
        anything else (a limit reached, a budget counter to seed, counters elsewhere or out of reach): then
        :meth:`admit` decides, and says why. Nothing is counted for a request this does not admit, so asking
        again is safe. Every request of a limited key comes here first: no :class:`Decision` is built for it."""
        admit_now = self._admit_now
        if admit_now is None:
            return None
        plan = self._plan(record, tokens, cost_usd, self._clock())
        try:
            if admit_now(plan) is not None:
                return None
        except Exception:  # noqa: BLE001 - admit() meets it again and applies the policy
            return None
        if plan.max_concurrent:
            self._leased[plan.token] = plan
        return plan

    def _plan(self, record: KeyRecord, tokens: int, cost_usd: float, now: float) -> Plan:
        """What the request asks of the key's counters. Built positionally: a class called with keywords packs
        and unpacks a dict each time."""
        budget = record.budget
        tokens = tokens if tokens > 0 else 0
        if budget is None:
            period, budget_limit, budget_cost, unit = "", 0, 0, None
        else:
            known = self._periods.get(budget.period)
            if known is None or not (known[0] <= now and (known[1] is None or now < known[1])):
                known = self._period(budget.period, now)
            period, unit = known[2], budget.unit
            budget_limit = budget.units
            budget_cost = tokens if unit == "tokens" else round(cost_usd * NANO) if cost_usd > 0 else 0
        return Plan(record.id, self._new_token(), record.rpm or 0, record.tpm or 0, tokens, record.max_concurrent or 0,
                    period, budget_limit, budget_cost, self._window, self._lease, unit)  # fmt: skip

    def _decided(self, record: KeyRecord, plan: Plan, verdict: Verdict, now: float) -> Decision:
        if not verdict.allowed:
            return self._refusal(record, plan, verdict, now)
        if plan.max_concurrent:
            self._leased[plan.token] = plan
        return Decision(True, plan, None, None, None, "", True, record.rpm, verdict.remaining_requests,
                        record.tpm, verdict.remaining_tokens)  # fmt: skip

    @property
    def leased(self) -> int:
        """Concurrency leases held now: requests of keys with ``max_concurrent`` in flight."""
        return len(self._leased)

    async def finish(self, ticket: Ticket | None, *, tokens: int, cost_usd: float) -> None:
        """Settles an admitted request with what it really used (``tokens``: prompt plus completion) and
        releases its concurrency slot. Call it once, whatever the outcome, errors and cancellations included."""
        settlement = self._settlement(ticket, tokens, cost_usd)
        if settlement is not None:
            await self._settle(*settlement)

    def finish_soon(self, ticket: Ticket | None, *, tokens: int, cost_usd: float) -> None:
        """:meth:`finish` without waiting, for a ``finally`` running because the client went away (its task is
        being cancelled) or a response that should not wait for Redis: at once when the counters are in memory
        (or the limit broker's, which answers no settlement), else in a task of its own."""
        settlement = self._settlement(ticket, tokens, cost_usd)
        if settlement is None:
            return
        finish_now = self._finish_now  # in memory, or a broker's call that needs no answer
        if finish_now is not None:
            finish_now(*settlement)
            return
        task = asyncio.get_running_loop().create_task(self._settle(*settlement))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    def _settlement(self, ticket: Ticket | None, tokens: int, cost_usd: float) -> tuple[Plan, int, int] | None:
        """What :meth:`finish` must tell the counters, or None when there is nothing to release or correct."""
        if ticket is None or ticket.finished:
            return None
        ticket.finished = True
        plan = ticket
        self._leased.pop(plan.token, None)
        unit, spend_delta = ticket.unit, 0
        if unit is not None:
            spend_delta = (round(cost_usd * NANO) if unit == "usd" else tokens) - plan.budget_cost  # to_units, inline
        tokens_delta = tokens - plan.tokens if plan.tpm else 0
        if not (plan.max_concurrent or tokens_delta or spend_delta):
            return None  # a key with only a request rate: no round trip
        return plan, tokens_delta, spend_delta

    async def _settle(self, plan: Plan, tokens_delta: int, spend_delta: int) -> None:
        try:
            await self._backend.finish(plan, tokens_delta=tokens_delta, spend_delta=spend_delta)
        except Exception as exc:  # noqa: BLE001 - the lease lapses by itself; the usage record keeps the spend
            self._warn(f"could not settle a request's limits ({exc!r})")

    async def budget_status(self, record: KeyRecord) -> BudgetStatus | None:
        """The key's budget and its spend in the current period (seeded from the usage records if needed)."""
        budget = record.budget
        if budget is None:
            return None
        now = self._clock()
        period = period_label(budget.period, now)
        spent = await self._backend.budget_spent(record.id, period)
        if spent is None:
            await self._seed(record, period, now)
            spent = await self._backend.budget_spent(record.id, period) or 0
        return BudgetStatus(budget, from_units(budget.unit, spent), period_reset(budget.period, now))

    async def _seed(self, record: KeyRecord, period: str, now: float) -> None:
        """Starts a period's budget counter from the usage records, once per process however many ask."""
        key = (record.id, period)
        pending = self._seeding.get(key)
        if pending is None:
            pending = self._seeding[key] = asyncio.ensure_future(self._seed_once(record, period, now))
            pending.add_done_callback(lambda _: self._seeding.pop(key, None))
        await asyncio.shield(pending)

    async def _seed_once(self, record: KeyRecord, period: str, now: float) -> None:
        budget = record.budget
        assert budget is not None
        spent = 0.0
        if self._spend is not None:
            spent = await self._spend.spent_since(record.id, period_start(budget.period, now), budget.unit)
        reset = period_reset(budget.period, now)
        units = to_units(budget.unit, tokens=int(spent), cost_usd=spent)
        await self._backend.seed_budget(record.id, period, units, None if reset is None else reset + GRACE_S)

    def _period(self, period: BudgetPeriod, now: float) -> tuple[float, float | None, str]:
        """The budget period holding ``now``: start, reset and label, worked out once per period."""
        known = self._periods.get(period)
        if known is None or not (known[0] <= now and (known[1] is None or now < known[1])):
            known = self._periods[period] = (
                period_start(period, now),
                period_reset(period, now),
                period_label(period, now),
            )
        return known

    def _refusal(self, record: KeyRecord, plan: Plan, verdict: Verdict, now: float) -> Decision:
        who = f"key {record.display} ('{record.name}')"
        per = "per minute" if self._window == 60 else f"per {self._window:g} s"
        retry: float | None = verdict.retry_after_s
        limit = verdict.limit
        reset_at = None
        if limit == "budget":
            budget = record.budget
            assert budget is not None
            spent = spell(budget.unit, from_units(budget.unit, verdict.budget_spent or 0))
            estimate = ""
            if plan.budget_cost:
                estimate = (
                    f" and this request is estimated at {spell(budget.unit, from_units(budget.unit, plan.budget_cost))}"
                )
            reset_at = period_reset(budget.period, now)
            if reset_at is None:
                ends = "It is a total budget and does not reset: ask the gateway's administrator to raise it."
                retry = None
            else:
                ends = f"It resets at {when(reset_at, now)}."
                retry = reset_at - now
            message = f"Budget exceeded for {who}: {spent} spent of its {budget.describe()} budget{estimate}. {ends}"
        elif limit == "rpm":
            message = f"Rate limit reached for {who}: {record.rpm} requests {per}. Try again in {_secs(retry)}."
        elif limit == "tpm":
            message = f"Rate limit reached for {who}: {record.tpm} tokens {per}. Try again in {_secs(retry)}."
        else:
            message = (
                f"Concurrency limit reached for {who}: {record.max_concurrent} requests at a time. Try again when "
                "one of them has finished."
            )
        return Decision(
            False,
            limit=limit,
            retry_after_s=retry,
            reset_at=reset_at,
            message=message,
            rpm=record.rpm,
            remaining_requests=verdict.remaining_requests,
            tpm=record.tpm,
            remaining_tokens=verdict.remaining_tokens,
        )

    def _unreachable(self, exc: Exception) -> Decision:
        if self._fail_open:
            self._warn(f"limits are not enforced while their counters cannot be reached ({exc!r})")
            return Decision(True, enforced=False)
        self._warn(f"refusing requests while the limit counters cannot be reached ({exc!r})")
        return Decision(
            False,
            retry_after_s=1.0,
            message="The gateway cannot check this key's limits right now; try again shortly.",
            enforced=False,
        )

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 10.0:  # at most one line every 10 s during an outage
            self._last_warning = now
            log.warning("%s", message)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if self._leased:
                try:
                    await self._backend.renew(list(self._leased.values()))
                except Exception as exc:  # noqa: BLE001 - try again next round
                    self._warn(f"could not renew concurrency leases ({exc!r})")


def _secs(seconds: float | None) -> str:
    return f"{max(1, math.ceil(seconds or 0))} s"
