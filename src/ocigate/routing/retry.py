"""The retry arithmetic and the errors a request gives up with: pure arithmetic and words, used by ``dispatch.py``.

Usage::

    policy = RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=8, budget_s=120)
    delay = policy.backoff(retry=2, rng=random.Random(7))         # full jitter: uniform in [0, 0.5]
    wait = retry_after_s({"Retry-After": "3"}, now=time.time())   # 3.0; an HTTP date works too
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC

from ocigate.core.errors import GatewayError, ProviderUnavailable, UpstreamError
from ocigate.routing.events import Attempt


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
        upstream_status=last.upstream_status,
        upstream_code=last.upstream_code,
        headers=dict(last.headers),
        retryable=last.retryable,
        param=last.param,
    )
