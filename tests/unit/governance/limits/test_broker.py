"""The limit broker and its workers' backend over a real Unix socket, in one process: what ``serve --workers N``
relies on for exact limits without Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ocigate.governance.keys import KeyRecord
from ocigate.governance.limits import Limiter
from ocigate.governance.limits.backend import Plan
from ocigate.governance.limits.broker import LimitBroker, run_now
from ocigate.governance.limits.brokered import BrokerBackend


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[LimitBroker]:
    server = LimitBroker(str(tmp_path / "limits.sock"))
    await server.start()
    yield server
    await server.close()


def _record(**limits: int) -> KeyRecord:
    return KeyRecord(id="k1", name="team", prefix="ogk_abcd", created_at=0.0, **limits)  # type: ignore[arg-type]


async def test_an_rpm_limit_is_shared_by_every_worker(broker: LimitBroker) -> None:
    workers = [await BrokerBackend.connect(broker.path) for _ in range(3)]
    limiters = [Limiter(w) for w in workers]
    record = _record(rpm=10)
    decisions = await asyncio.gather(*(limiters[i % 3].admit(record) for i in range(30)))
    assert [d.allowed for d in decisions].count(True) == 10
    for worker in workers:
        await worker.close()


async def test_a_worker_that_goes_gives_its_concurrency_slots_back(broker: LimitBroker) -> None:
    first, second = await BrokerBackend.connect(broker.path), await BrokerBackend.connect(broker.path)
    record = _record(max_concurrent=2)
    assert all([(await Limiter(first).admit(record)).allowed for _ in range(2)])
    assert not (await Limiter(second).admit(record)).allowed
    await first.close()
    for _ in range(100):
        if not broker.workers or len(broker.workers) == 1:
            break
        await asyncio.sleep(0.01)
    assert (await Limiter(second).admit(record)).allowed


async def test_a_settlement_corrects_the_token_reservation_without_an_answer(broker: LimitBroker) -> None:
    worker = await BrokerBackend.connect(broker.path)
    limiter = Limiter(worker)
    record = _record(tpm=100)
    admitted = await limiter.admit(record, tokens=90)
    assert admitted.allowed and not (await limiter.admit(record, tokens=20)).allowed
    limiter.finish_soon(admitted.ticket, tokens=10, cost_usd=0.0)  # written, not awaited
    assert (await limiter.admit(record, tokens=20)).allowed  # the broker read the settlement first
    await worker.close()


async def test_a_key_change_is_answered_once_every_other_worker_forgot_the_key(broker: LimitBroker) -> None:
    forgotten: list[tuple[str, str | None]] = []
    announcer = await BrokerBackend.connect(broker.path)

    def forget(name: str) -> Callable[[str | None], None]:
        return lambda key_id: forgotten.append((name, key_id))

    others = [await BrokerBackend.connect(broker.path, on_key_change=forget(n)) for n in ("a", "b")]
    await announcer.key_changed("k1")
    assert sorted(forgotten) == [("a", "k1"), ("b", "k1")]  # both acknowledged before the answer came
    await announcer.key_changed(None)
    assert set(forgotten[2:]) == {("a", None), ("b", None)}
    for worker in [announcer, *others]:
        await worker.close()


async def test_budgets_seed_once_and_read_the_same_everywhere(broker: LimitBroker) -> None:
    first, second = await BrokerBackend.connect(broker.path), await BrokerBackend.connect(broker.path)
    assert await first.budget_spent("k1", "total") is None
    await first.seed_budget("k1", "total", 500, None)
    await second.seed_budget("k1", "total", 0, None)  # another worker seeding late changes nothing
    plan = Plan("k1", "t1", budget_period="total", budget_limit=1000, budget_cost=300)
    assert (await second.admit(plan)).allowed
    assert await first.budget_spent("k1", "total") == 800
    await second.reset("k1")
    assert await first.budget_spent("k1", "total") is None
    await first.close()
    await second.close()


async def test_a_broker_that_goes_stops_its_workers(tmp_path: Path) -> None:
    broker = LimitBroker(str(tmp_path / "limits.sock"))
    await broker.start()
    lost = asyncio.Event()
    worker = await BrokerBackend.connect(broker.path, on_lost=lost.set)
    assert (await worker.admit(Plan("k1", "t0", rpm=5))).allowed
    await broker.close()
    await asyncio.wait_for(lost.wait(), 5)
    with pytest.raises(ConnectionError):
        await worker.admit(Plan("k1", "t1", rpm=1))


def test_a_call_that_would_wait_is_an_error_not_a_race() -> None:
    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="must not"):
        run_now(waits())
