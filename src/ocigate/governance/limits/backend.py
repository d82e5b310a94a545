"""The counters behind the limits, as one protocol with two implementations: in memory (one process) and in
Redis (any number of processes). Both make the same decision for the same sequence of calls.

One admission is one atomic step over all of a key's counters: it checks the budget, the requests and tokens
of the last window and the concurrent leases, and only if every check passes records the request in all of
them. Nothing is counted for a refused request, and concurrent admissions, from any process, see each other:
with a limit of 50 requests per minute, exactly 50 of any number of simultaneous attempts get through.

- **Requests per window**: a sliding log (one entry per admitted request, dropped ``window_s`` after it), exact
  at any instant, not just at window boundaries.
- **Tokens per window**: one-second buckets over the window. The request's estimate is counted when it is
  admitted and corrected by :meth:`LimitBackend.finish` with the real count. A request is refused when the
  window's tokens plus its estimate exceed the limit, unless the window is empty (so that one large request
  can still run alone).
- **Concurrency**: one lease per request in flight, each with an expiry that the holder renews; a crashed
  process's leases lapse after ``lease_s``.
- **Budget**: one counter per key and period, in integer units (nano-dollars or tokens). Admission reserves
  the estimate; :meth:`LimitBackend.finish` adds the difference between the real cost and the estimate.
  A counter that does not exist yet (new period, restarted Redis) is reported as unknown, and the limiter
  seeds it from the usage records before asking again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

LimitName = Literal["rpm", "tpm", "concurrency", "budget"]


@dataclass(slots=True)  # not frozen: built on every request, and a frozen __init__ costs 5x
class Plan:
    """What one request asks of one key's counters; zero means "no such limit"."""

    key_id: str
    token: str | int
    """Unique per request: its entry in the request log and its concurrency lease (among every process that shares
    the counters: an int from a counter for one process's own, ``next_id()`` where they are shared)."""
    rpm: int = 0
    tpm: int = 0
    tokens: int = 0
    """Estimated tokens, reserved against ``tpm``."""
    max_concurrent: int = 0
    budget_period: str = ""
    """The budget counter's name for the current period (``m2025-01``); empty: no budget."""
    budget_limit: int = 0
    budget_cost: int = 0
    """Estimated cost in budget units, reserved against ``budget_limit``."""
    window_s: float = 60.0
    lease_s: float = 60.0
    unit: Literal["usd", "tokens"] | None = None
    """The budget's unit (how a settlement's real cost is counted); None: no budget. Not sent to the counters."""
    finished: bool = False
    """Settled already (an admitted plan is its request's ticket: ``Limiter.finish`` takes it once)."""
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    """What the in-memory counters leave the key after admitting this request (``MemoryBackend.admit_now``
    writes them here rather than into a :class:`Verdict`: one object fewer per request)."""


@dataclass(slots=True)  # not frozen: built on every request, and a frozen __init__ costs 5x
class Verdict:
    allowed: bool
    limit: LimitName | None = None
    """The limit that refused the request."""
    retry_after_s: float = 0.0
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    budget_spent: int | None = None
    """The budget counter after this admission (or at the refusal), in budget units."""
    budget_unknown: bool = False
    """The budget counter does not exist: seed it, then ask again."""


class LimitBackend(Protocol):
    async def admit(self, plan: Plan) -> Verdict:
        """Checks every limit of ``plan`` and, when all pass, records the request in all of them, atomically."""
        ...

    async def finish(self, plan: Plan, *, tokens_delta: int, spend_delta: int) -> None:
        """The request is over: release its lease and correct its token and budget reservations."""
        ...

    async def renew(self, plans: Sequence[Plan]) -> None:
        """Extends the concurrency leases of requests still running by ``lease_s`` from now."""
        ...

    async def seed_budget(self, key_id: str, period: str, spent: int, expires_at: float | None) -> None:
        """Creates a budget counter holding ``spent``, unless one exists already (another process seeded it)."""
        ...

    async def budget_spent(self, key_id: str, period: str) -> int | None:
        """The counter's value; None when it does not exist."""
        ...

    async def reset(self, key_id: str) -> None:
        """Forgets every counter of a key (tests, and an administrator's "reset usage")."""
        ...

    async def close(self) -> None:
        """Closes what the backend opened itself (not the Redis client it was given)."""
        ...
