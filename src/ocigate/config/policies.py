"""The value types of the ``routing:`` and ``models:`` configuration: per-deployment timeouts, the routing
strategies, the retry policy and the circuit breakers' policy.

They live in ``config`` (not beside the code that applies them in ``routing``) because reading the configuration
builds them, and the configuration sits below routing: ``routing.router``, ``routing.retry`` and
``routing.breaker`` import them from here. Each raises ``ValueError`` for an impossible value, which
``config.routing`` turns into a diagnostic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Strategy = Literal["weighted_random", "round_robin", "least_in_flight", "lowest_latency"]
STRATEGIES: tuple[Strategy, ...] = ("weighted_random", "round_robin", "least_in_flight", "lowest_latency")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long one attempt may wait, per deployment.

    - ``connect_s``: to open the connection (the provider's ``aiohttp.ClientTimeout(connect=...)``);
    - ``first_byte_s``: for a stream, until the upstream answered with its status and headers (or, with
      ``RetryPolicy(stream_failover="first_block")``, its first event); enforced by the dispatcher, and a timeout
      there fails over like a 503. A non-streaming reply arrives whole, so it is bounded by the request's budget;
    - ``idle_s``: the longest silence between two reads of a stream (``ClientTimeout(sock_read=...)``);
    - ``reply_s``: the longest a whole non-streaming reply may take (the provider's ``ClientTimeout(total=...)``).
      The dispatcher cuts an attempt at the request's budget itself only when the budget ends first.
    """

    connect_s: float = 10.0
    first_byte_s: float = 60.0
    idle_s: float = 120.0
    reply_s: float = 600.0

    def __post_init__(self) -> None:
        if min(self.connect_s, self.first_byte_s, self.idle_s, self.reply_s) <= 0:
            raise ValueError(f"timeouts must be positive numbers of seconds, got {self}")


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


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5
    """Consecutive counted failures that open a closed circuit."""
    cooldown_s: float = 30.0
    """How long an open circuit stays open before it admits probes."""
    half_open_probes: int = 1
    """How many probes a half-open circuit lets through at once."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.half_open_probes < 1 or self.cooldown_s < 0:
            raise ValueError(f"breaker: threshold and probes must be 1 or more, cool-down 0 or more: {self}")
