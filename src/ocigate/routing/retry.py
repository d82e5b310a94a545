"""The retry policy and the errors a request gives up with: pure arithmetic and words, used by ``dispatch.py``.

Usage::

    policy = RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=8, budget_s=120)
    delay = policy.backoff(retry=2, rng=random.Random(7))         # full jitter: uniform in [0, 0.5]
    wait = retry_after_s({"Retry-After": "3"}, now=time.time())   # 3.0; an HTTP date works too
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Literal

from ocigate.core.errors import GatewayError, ProviderUnavailable, UpstreamError
from ocigate.routing.events import Attempt


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    """Attempts per deployment, per request (so 1 still fails over to the other deployments and fallbacks)."""
    base_delay: float = 0.25
    max_delay: float = 8.0
    jitter: bool = True
    """Full jitter: a uniform draw between 0 and the exponential delay, which spreads the retries of many clients."""
    honour_retry_after: bool = True
    budget_s: float = 600.0
    """Per request, covering every attempt and sleep; set it above the longest non-streaming generation."""
    stream_failover: Literal["headers", "first_block"] = "headers"
    """Until when a stream may fail over: its status and headers, or its first event (which the client has not
    seen yet either, so this also survives an upstream that drops the connection right after its headers)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or self.budget_s <= 0:
            raise ValueError(f"retry policy: max_attempts >= 1, delays >= 0 and a positive budget: {self}")
        if self.stream_failover not in ("headers", "first_block"):
            raise ValueError(f"retry policy: stream_failover is 'headers' or 'first_block': {self}")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The delay before retry number ``retry`` (1, 2...) of one deployment."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return rng.uniform(0, ceiling) if self.jitter else ceiling


def retry_after_s(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` in seconds from ``now`` (wall-clock time): a number of seconds or an HTTP date."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


def timed_out(deployment: str, limit: float, by_budget: bool) -> UpstreamError:
    """The error of an attempt cut by the request's budget, or by the deployment's own timeout."""
    if by_budget:
        message = f"The request's time budget ran out while waiting for deployment '{deployment}'."
        return UpstreamError(message, status=504, type="api_error", code="budget_exhausted", retryable=True)
    message = f"Deployment '{deployment}' did not answer within {limit:g} s; the upstream may be overloaded."
    return UpstreamError(message, status=504, type="api_error", code="upstream_timeout", retryable=True)


def given_up(
    model: str,
    attempts: list[Attempt],
    last: GatewayError | None,
    skipped: list[str],
    *,
    out_of_budget: bool,
    probe_in_s: float,
) -> GatewayError:
    """The error a client sees when nothing succeeded: the last upstream error (status, code, ``Retry-After``) with
    a message that names every attempt; or, when no attempt could be made, a 503 naming the open circuits."""
    if last is None:
        retry_after = {"Retry-After": str(max(1, math.ceil(probe_in_s)))}
        if skipped:
            message = (
                f"Model '{model}' has no deployment in service: the circuit of {', '.join(skipped)} is open after "
                f"repeated failures; the next probe is in {math.ceil(probe_in_s)} s."
            )
            return ProviderUnavailable(message, code="circuit_open", headers=retry_after)
        if out_of_budget:
            message = f"Model '{model}': the request's time budget ran out before any attempt."
            return ProviderUnavailable(message, code="budget_exhausted", headers=retry_after)
        return ProviderUnavailable(f"Model '{model}' has no deployment that can serve this request.")
    why = "the request's time budget ran out" if out_of_budget else "every attempt failed"
    parts = [f"tried {', '.join(a.label for a in attempts)}"] if attempts else []
    if skipped:
        parts.append(f"skipped {', '.join(skipped)} (circuit open)")
    return UpstreamError(
        f"Model '{model}': {why}{''.join(f'; {part}' for part in parts)}. The last error: {last.message}",
        status=last.status,
        type=last.type,
        code=last.code,
        upstream_status=getattr(last, "upstream_status", None),
        upstream_code=getattr(last, "upstream_code", None),
        headers=dict(last.headers),
        retryable=last.retryable,
        param=last.param,
    )
