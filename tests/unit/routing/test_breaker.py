"""Circuit breakers: the state machine, what counts as a failure, and routing around an open circuit."""

from __future__ import annotations

import pytest

from ocigate.config.policies import BreakerPolicy
from ocigate.core.errors import GatewayError, InvalidRequest
from ocigate.routing.breaker import Breaker, BreakerBoard, CircuitState, counts_as_failure
from ocigate.routing.router import ModelRoute
from tests.support.fakes import OK, FakeClock, FakeProvider, body_for, deployment, make, oracle, timeout, unreachable


def breaker(clock: FakeClock, changes: list[tuple[str, CircuitState]] | None = None, **policy: float) -> Breaker:
    listener = None if changes is None else (lambda name, state: changes.append((name, state)))
    settings = {"failure_threshold": 3, "cooldown_s": 30.0, **policy}
    return Breaker(
        "d",
        BreakerPolicy(int(settings["failure_threshold"]), settings["cooldown_s"], int(settings.get("probes", 1))),
        clock,
        listener,
    )


def state(b: Breaker) -> str:
    """The state, read afresh (mypy would otherwise keep the first answer)."""
    return b.state


def test_opens_after_consecutive_failures_then_half_opens_then_closes() -> None:
    clock, changes = FakeClock(), list[tuple[str, CircuitState]]()
    b = breaker(clock, changes)
    b.failure()
    b.failure()
    assert state(b) == "closed" and b.admits() and b.failures == 2
    b.failure()
    assert state(b) == "open" and not b.admits() and not b.acquire()
    assert b.retry_in() == 30.0
    clock.now += 29.9
    assert state(b) == "open"
    clock.now += 0.1
    assert state(b) == "half_open" and b.retry_in() == 0.0
    assert b.acquire() and not b.acquire()  # one probe at a time
    assert not b.admits()
    b.success()
    assert state(b) == "closed" and b.failures == 0 and b.admits()
    assert changes == [("d", "open"), ("d", "half_open"), ("d", "closed")]
    assert b.opened == 1


def test_a_failed_probe_opens_it_again_for_a_fresh_cooldown() -> None:
    clock = FakeClock()
    b = breaker(clock)
    for _ in range(3):
        b.failure()
    clock.now += 30
    assert b.acquire()
    b.failure()
    assert state(b) == "open" and b.retry_in() == 30.0 and b.opened == 2


def test_a_success_between_failures_resets_the_count() -> None:
    b = breaker(FakeClock())
    b.failure()
    b.failure()
    b.success()
    b.failure()
    b.failure()
    assert state(b) == "closed"


def test_outcomes_while_open_change_nothing() -> None:
    clock = FakeClock()
    b = breaker(clock)
    for _ in range(3):
        b.failure()
    clock.now += 10
    b.success()
    b.failure()
    b.release()
    assert state(b) == "open" and b.retry_in() == 20.0


def test_a_neutral_outcome_frees_the_probe() -> None:
    clock = FakeClock()
    b = breaker(clock, probes=2)
    for _ in range(3):
        b.failure()
    clock.now += 30
    assert b.acquire() and b.acquire() and not b.acquire()
    b.release()
    assert state(b) == "half_open" and b.acquire()
    b.release()
    b.release()
    b.release()
    assert b.snapshot()["probes_in_flight"] == 0


@pytest.mark.parametrize(
    ("err", "counted"),
    [
        (oracle(429), False),  # no 4xx counts: one key's burst must not open the circuit for every key
        (oracle(503), True),
        (oracle(500), True),
        (oracle(408), False),
        (unreachable(), True),
        (timeout(), True),
        (oracle(400), False),
        (oracle(404), False),
        (oracle(409), False),  # retryable, but a conflict says nothing of the deployment's health
        (oracle(401), False),
        (InvalidRequest("bad"), False),
        (GatewayError("switched", retryable=True, status=401), True),  # no upstream status: treated as no answer
    ],
)
def test_what_counts_as_a_failure(err: GatewayError, counted: bool) -> None:
    assert counts_as_failure(err) is counted


def test_a_secret_switch_401_does_not_count() -> None:
    err = oracle(401)
    err.retryable = True
    assert not counts_as_failure(err)


def test_the_board_records_outcomes_and_shows_them() -> None:
    clock, changes = FakeClock(), list[tuple[str, CircuitState]]()
    board = BreakerBoard(
        BreakerPolicy(failure_threshold=1, cooldown_s=5),
        clock=clock,
        on_change=lambda n, s: changes.append((n, s)),
        names=["a", "b"],
    )
    board.record("a", oracle(400))
    assert board.state("a") == "closed"
    board.record("a", oracle(503))
    assert board.state("a") == "open" and not board.admits("a") and not board.acquire("a") and board.admits("b")
    assert board.snapshot() == [
        {
            "deployment": "a",
            "state": "open",
            "consecutive_failures": 1,
            "retry_in_s": 5.0,
            "probes_in_flight": 0,
            "opened": 1,
        },
        {
            "deployment": "b",
            "state": "closed",
            "consecutive_failures": 0,
            "retry_in_s": 0.0,
            "probes_in_flight": 0,
            "opened": 0,
        },
    ]
    clock.now += 5
    board.refresh()
    assert changes == [("a", "open"), ("a", "half_open")]
    assert board.acquire("a")
    board.release("a")
    board.record("a", None)
    assert board.state("a") == "closed"


@pytest.mark.parametrize("bad", [{"failure_threshold": 0}, {"half_open_probes": 0}, {"cooldown_s": -1.0}])
def test_a_bad_policy_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(**bad)  # type: ignore[arg-type]


async def test_an_open_circuit_is_skipped_then_probed_then_closed() -> None:
    flaky, steady = FakeProvider("oracle-ord", [oracle(503)]), FakeProvider("oracle-iad")
    route = ModelRoute("gpt", (deployment(flaky), deployment(steady, priority=1)))
    s = make([route], breaker=BreakerPolicy(failure_threshold=2, cooldown_s=30))
    for _ in range(2):
        _, served, _ = await s.dispatcher.send(route, "chat/completions", body_for)
        assert served.name == "oracle-iad/m"
    assert s.breakers.state("oracle-ord/m") == "open" and len(flaky.calls) == 2

    _, served, attempts = await s.dispatcher.send(route, "chat/completions", body_for)
    assert len(flaky.calls) == 2 and [a.deployment for a in attempts] == ["oracle-iad/m"]  # skipped

    s.clock.now += 30
    flaky.script = [OK]
    assert s.breakers.state("oracle-ord/m") == "half_open"
    _, served, _ = await s.dispatcher.send(route, "chat/completions", body_for)
    assert served.name == "oracle-ord/m" and s.breakers.state("oracle-ord/m") == "closed"


async def test_a_failed_probe_moves_on_to_the_next_deployment() -> None:
    flaky, steady = FakeProvider("a", [oracle(503)]), FakeProvider("b")
    route = ModelRoute("gpt", (deployment(flaky), deployment(steady, priority=1)))
    s = make([route], breaker=BreakerPolicy(failure_threshold=1, cooldown_s=30))
    await s.dispatcher.send(route, "chat/completions", body_for)
    s.clock.now += 30
    _, served, attempts = await s.dispatcher.send(route, "chat/completions", body_for)
    assert served.name == "b/m" and [a.deployment for a in attempts] == ["a/m", "b/m"]
    assert s.breakers.state("a/m") == "open"


async def test_a_circuit_that_opens_during_a_request_is_not_tried_again() -> None:
    # b's 409 is retryable but says nothing of b's health, so only a's circuit opens
    flaky, steady = FakeProvider("a", [oracle(503)]), FakeProvider("b", [oracle(409), OK])
    route = ModelRoute("gpt", (deployment(flaky), deployment(steady, priority=1)))
    s = make([route], breaker=BreakerPolicy(failure_threshold=1, cooldown_s=30))
    _, served, attempts = await s.dispatcher.send(route, "chat/completions", body_for)
    assert [a.deployment for a in attempts] == ["a/m", "b/m", "b/m"] and len(flaky.calls) == 1
    assert s.clock.sleeps == [0.25] and served.name == "b/m"
