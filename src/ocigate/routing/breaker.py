"""Circuit breakers, one per deployment: stop sending traffic to an upstream that keeps failing, and probe it
until it recovers.

::

    closed ── failure_threshold consecutive counted failures ──▶ open
      ▲                                                          │ cooldown_s elapsed
      │                                                          ▼
      └───────────── a probe succeeds ─────────────────────── half-open (up to half_open_probes at once)
                                                                 │ a probe fails
                                                                 ▼
                                                               open (a fresh cool-down)

**Consecutive failures, not a failure rate over a window**: the dispatcher already retries and fails over, so the
breaker's job is only to stop wasting attempts (and a client's time budget) on a deployment that is down or
throttled, and a run of failures says that quickly with no window to size, no minimum request count and O(1) state.
An upstream answering a few percent of 503s at random almost never fails five times running (0.03⁵ ≈ 2e-8), so
noise does not open it; one that is down opens after ``failure_threshold`` attempts.

Only the deployment's own troubles count (:func:`counts_as_failure`): 5xx, connection errors and timeouts. No 4xx
answer counts: a client's mistake (400, 404, 413...) or a rejected key (401, 403) says nothing about the
deployment's health, and neither does a 429 or a 408, which one key's burst or slow requests can provoke: counting
them let one tenant open the circuit for every tenant (issue 11, finding 8). Throttling is still answered, per
request, by the retry, ``Retry-After`` and failover to another deployment. Such an outcome leaves the breaker as
it was; a half-open probe that ends that way just frees its slot.

Time comes from an injectable clock; an open circuit turns half-open when it is next looked at. State changes are
reported to ``on_change(name, state)`` (the metrics gauge); ``snapshot()`` is for /readyz and the admin API.

Usage::

    board = BreakerBoard(BreakerPolicy(failure_threshold=5, cooldown_s=30), on_change=metrics.on_circuit)
    if board.acquire("oracle-ord/openai.gpt-oss-120b"):   # False while open, or half-open with every probe out
        try:
            reply = await provider.send(...)
        except GatewayError as err:
            board.record("oracle-ord/openai.gpt-oss-120b", err)   # a failure, or neutral for a client error
            raise
        board.record("oracle-ord/openai.gpt-oss-120b", None)       # a success
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Literal

from ocigate.config.policies import BreakerPolicy
from ocigate.core.errors import GatewayError

CircuitState = Literal["closed", "half_open", "open"]
STATE_VALUES: dict[CircuitState, int] = {"closed": 0, "half_open": 1, "open": 2}
"""The value of the ``circuit_state`` gauge."""

Clock = Callable[[], float]
Listener = Callable[[str, CircuitState], None]


def counts_as_failure(err: GatewayError) -> bool:
    """Whether an error says the deployment is unwell: retryable, and a 5xx or no answer at all (connection errors
    and timeouts carry no ``upstream_status``). No 4xx counts, not even a retryable one (408, 409, 425, 429, or a
    401 made retryable because the provider switched to its other secret): see the module docstring."""
    if not err.retryable:
        return False
    upstream = err.upstream_status
    return upstream is None or upstream >= 500


class Breaker:
    __slots__ = ("name", "_policy", "_clock", "_on_change", "_state", "failures", "_opened_at", "_probes", "opened")

    def __init__(self, name: str, policy: BreakerPolicy, clock: Clock, on_change: Listener | None = None) -> None:
        self.name = name
        self._policy = policy
        self._clock = clock
        self._on_change = on_change
        self._state: CircuitState = "closed"
        self.failures = 0
        """Consecutive counted failures (while closed), for the snapshot."""
        self._opened_at = 0.0
        self._probes = 0
        self.opened = 0
        """How many times the circuit opened."""

    @property
    def state(self) -> CircuitState:
        if self._state == "open" and self._clock() - self._opened_at >= self._policy.cooldown_s:
            self._move("half_open")
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open circuit admits a probe (0 when it is not open)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self._opened_at + self._policy.cooldown_s - self._clock())

    def admits(self) -> bool:
        """Whether an attempt may be made now; takes nothing (routing asks this for every candidate)."""
        state = self.state
        return state == "closed" or (state == "half_open" and self._probes < self._policy.half_open_probes)

    def acquire(self) -> bool:
        """Like :meth:`admits`, and in half-open takes a probe slot; the attempt's outcome must be recorded."""
        if not self.admits():
            return False
        if self._state == "half_open":
            self._probes += 1
        return True

    def success(self) -> None:
        if self._state == "half_open":
            self._move("closed")
        elif self._state == "closed":
            self.failures = 0
        # While open, a success of an attempt made before it opened changes nothing: probes decide.

    def failure(self) -> None:
        if self._state == "half_open":
            self._open()
        elif self._state == "closed":
            self.failures += 1
            if self.failures >= self._policy.failure_threshold:
                self._open()

    def release(self) -> None:
        """A neutral outcome (a client error, a cancelled request): frees a probe slot, changes no state."""
        if self._state == "half_open":
            self._probes = max(0, self._probes - 1)

    def _open(self) -> None:
        self._opened_at = self._clock()
        self.opened += 1
        self._move("open")

    def _move(self, state: CircuitState) -> None:
        self._state = state
        self._probes = 0
        if state == "closed":
            self.failures = 0
        if self._on_change is not None:
            self._on_change(self.name, state)

    def snapshot(self) -> dict[str, object]:
        state = self.state
        return {
            "deployment": self.name,
            "state": state,
            "consecutive_failures": self.failures,
            "retry_in_s": round(self.retry_in(), 3),
            "probes_in_flight": self._probes,
            "opened": self.opened,
        }


class BreakerBoard:
    """The breakers of every deployment, made on first use (or up front from ``names``)."""

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        *,
        clock: Clock = time.monotonic,
        on_change: Listener | None = None,
        names: Iterable[str] = (),
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._on_change = on_change
        self._breakers: dict[str, Breaker] = {}
        for name in names:
            self.get(name)

    def get(self, name: str) -> Breaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = Breaker(name, self.policy, self._clock, self._on_change)
        return breaker

    def state(self, name: str) -> CircuitState:
        return self.get(name).state

    def admits(self, name: str) -> bool:
        return self.get(name).admits()

    def acquire(self, name: str) -> bool:
        return self.get(name).acquire()

    def record(self, name: str, err: GatewayError | None) -> None:
        """An attempt's outcome: None for a success, else the error (counted or neutral, see above)."""
        breaker = self.get(name)
        if err is None:
            breaker.success()
        elif counts_as_failure(err):
            breaker.failure()
        else:
            breaker.release()

    def release(self, name: str) -> None:
        self.get(name).release()

    def refresh(self) -> None:
        """Moves open circuits whose cool-down is over to half-open (and so updates the gauge): call it before
        rendering /metrics."""
        for breaker in self._breakers.values():
            _ = breaker.state

    def snapshot(self) -> list[dict[str, object]]:
        return [breaker.snapshot() for breaker in self._breakers.values()]
