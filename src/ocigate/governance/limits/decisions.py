"""What the limiter answers: a :class:`Decision` per request, and the :class:`Ticket` an admitted request
hands back when it is over."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ocigate.core.errors import GatewayError
from ocigate.governance.keys import NANO, Budget, BudgetUnit
from ocigate.governance.limits.backend import LimitName, Plan

_CODES: dict[LimitName, str] = {
    "rpm": "rate_limit_exceeded",
    "tpm": "rate_limit_exceeded",
    "concurrency": "concurrency_limit_exceeded",
    "budget": "budget_exceeded",
}


Ticket = Plan
"""An admitted request's claim on its key's counters, which is its plan (one object fewer per request); pass it
to ``Limiter.finish`` exactly once."""


@dataclass(slots=True)  # not frozen: built on every request, and a frozen __init__ costs 5x
class Decision:
    allowed: bool
    ticket: Ticket | None = None
    """For an admitted request whose key has limits; None otherwise (``Limiter.finish`` accepts None)."""
    limit: LimitName | None = None
    """Which limit refused the request; None on a refusal: the counters could not be reached (fail-closed)."""
    retry_after_s: float | None = None
    """For a refusal: when to try again (the ``Retry-After`` header, rounded up); None: not before an
    administrator acts (a total budget)."""
    reset_at: float | None = None
    """For a budget refusal: when the budget's period ends (Unix time)."""
    message: str = ""
    enforced: bool = True
    """False when the counters could not be reached and the request was let through (fail-open)."""
    rpm: int | None = None
    remaining_requests: int | None = None
    tpm: int | None = None
    remaining_tokens: int | None = None

    def headers(self) -> dict[str, str]:
        """OpenAI's rate-limit headers (and ``Retry-After`` on a refusal), for successes and refusals alike."""
        headers: dict[str, str] = {}
        if self.rpm is not None:
            headers["x-ratelimit-limit-requests"] = str(self.rpm)
            if self.remaining_requests is not None:
                headers["x-ratelimit-remaining-requests"] = str(self.remaining_requests)
        if self.tpm is not None:
            headers["x-ratelimit-limit-tokens"] = str(self.tpm)
            if self.remaining_tokens is not None:
                headers["x-ratelimit-remaining-tokens"] = str(self.remaining_tokens)
        if not self.allowed and self.retry_after_s is not None:
            headers["retry-after"] = str(max(1, math.ceil(self.retry_after_s)))
        if self.limit == "budget":
            # The OpenAI SDKs retry a 429 on their own unless told not to; a spent budget does not come back soon.
            headers["x-should-retry"] = "false"
        return headers

    def header_pairs(self) -> list[tuple[bytes, bytes]]:
        """:meth:`headers` as an answer's header pairs."""
        return [(name.encode(), value.encode()) for name, value in self.headers().items()]

    def error(self) -> GatewayError:
        """The 429 for a refusal, with ``Retry-After`` (503 when the counters could not be reached)."""
        assert not self.allowed
        if self.limit is None:
            return GatewayError(
                self.message, status=503, type="api_error", code="limits_unavailable", headers=self.headers()
            )
        return GatewayError(
            self.message,
            status=429,
            type="insufficient_quota" if self.limit == "budget" else "rate_limit_error",
            code=_CODES[self.limit],
            headers=self.headers(),
        )


ALLOWED = Decision(True)


def admitted_headers(plan: Plan) -> list[tuple[bytes, bytes]]:
    """The rate-limit header pairs of a request admitted at once (``Limiter.admit_now``): what
    :meth:`Decision.header_pairs` gives for the same admission, built from the plan, where the counters wrote what
    they left. Every answer to a limited key carries them: the limits' own pairs are made once per value."""
    pairs: list[tuple[bytes, bytes]] = []
    rpm, tpm = plan.rpm, plan.tpm
    if rpm:
        pairs.append(_LIMIT_REQUESTS.get(rpm) or _limit_pair(_LIMIT_REQUESTS, b"x-ratelimit-limit-requests", rpm))
        if plan.remaining_requests is not None:
            pairs.append((b"x-ratelimit-remaining-requests", b"%d" % plan.remaining_requests))
    if tpm:
        pairs.append(_LIMIT_TOKENS.get(tpm) or _limit_pair(_LIMIT_TOKENS, b"x-ratelimit-limit-tokens", tpm))
        if plan.remaining_tokens is not None:
            pairs.append((b"x-ratelimit-remaining-tokens", b"%d" % plan.remaining_tokens))
    return pairs


# The ``x-ratelimit-limit-*`` pairs by limit: a handful of values, set by administrators.
_LIMIT_REQUESTS: dict[int, tuple[bytes, bytes]] = {}
_LIMIT_TOKENS: dict[int, tuple[bytes, bytes]] = {}
_LIMIT_PAIRS_KEPT = 1024


def _limit_pair(memo: dict[int, tuple[bytes, bytes]], name: bytes, value: int) -> tuple[bytes, bytes]:
    pair = (name, b"%d" % value)
    if len(memo) < _LIMIT_PAIRS_KEPT:
        memo[value] = pair
    return pair


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A key's budget and what has been spent of it in the current period, for the admin API."""

    budget: Budget
    spent: float
    resets_at: float | None

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget.amount - self.spent)

    def to_json(self) -> dict[str, Any]:
        return {
            "amount": self.budget.amount,
            "unit": self.budget.unit,
            "period": self.budget.period,
            "spent": self.spent,
            "remaining": self.remaining,
            "resets_at": self.resets_at,
        }


def to_units(unit: BudgetUnit, *, tokens: int, cost_usd: float) -> int:
    """A cost in a budget counter's integer units: nano-dollars, or tokens."""
    return round(cost_usd * NANO) if unit == "usd" else int(tokens)


def from_units(unit: BudgetUnit, value: int) -> float:
    return value / NANO if unit == "usd" else float(value)


def spell(unit: BudgetUnit, value: float) -> str:
    return f"${value:,.2f}" if unit == "usd" else f"{int(value):,} tokens"


def when(moment: float, now: float) -> str:
    """``2025-02-01T00:00:00Z (in 3 h 12 min)``."""
    stamp = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    left = max(0, int(moment - now))
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return f"{stamp} (in {' '.join(p for p in parts if p) or 'under a minute'})"
