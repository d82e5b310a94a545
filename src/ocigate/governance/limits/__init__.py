"""Whether a virtual key may make one more request: requests and tokens per minute, concurrent requests and a
budget, enforced exactly across any number of gateway processes when they share a Redis, in memory otherwise.

Usage::

    from ocigate.governance.limits import Limiter, MemoryBackend, RedisBackend, connect_redis

    redis = await connect_redis(settings.redis_url) if settings.redis_url else None
    backend = RedisBackend(redis) if redis else MemoryBackend()
    limiter = Limiter(backend, spend=usage_store)
    await limiter.start()

    decision = await limiter.admit(record, tokens=estimated_tokens, cost_usd=estimated_cost)
    if not decision.allowed:
        raise decision.error()   # 429 + Retry-After; budgets: which budget, and when it resets
    try:
        ...
    finally:
        await limiter.finish(decision.ticket, tokens=prompt + completion, cost_usd=cost)

``backend.py`` explains the algorithms; ``limiter.py`` turns a key's settings into one atomic admission and
its refusals into messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocigate.governance.limits.backend import LimitBackend, LimitName, Plan, Verdict
from ocigate.governance.limits.decisions import ALLOWED, BudgetStatus, Decision, Ticket, admitted_headers
from ocigate.governance.limits.limiter import Limiter, SpendSource
from ocigate.governance.limits.memory import MemoryBackend

if TYPE_CHECKING:
    from ocigate.governance.limits.redis import RedisBackend, connect_redis


def __getattr__(name: str) -> Any:
    """``RedisBackend`` and ``connect_redis``, imported when first asked for: a gateway without Redis never loads
    them (nor their Lua scripts and pipelining)."""
    if name in ("RedisBackend", "connect_redis"):
        from ocigate.governance.limits import redis

        return getattr(redis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALLOWED",
    "BudgetStatus",
    "Decision",
    "LimitBackend",
    "LimitName",
    "Limiter",
    "MemoryBackend",
    "Plan",
    "RedisBackend",
    "SpendSource",
    "Ticket",
    "Verdict",
    "admitted_headers",
    "connect_redis",
]
