"""``ocigate serve --workers 2`` on the embedded default (SQLite, no Redis): every limit holds across both workers
as it holds in one process, driven by the OpenAI SDK over many connections at once.

Each test also shows, from ``ocigate_worker_requests{pid}``, that both workers answered some of its requests:
a limit kept by each worker for itself would let through about twice as many as it allows.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.governance import MASTER, MODEL, Admin, gateway_env
from tests.support.servers import ServerThread
from tests.support.workers import WorkerGateway, burst, moved


@pytest.fixture(scope="module")
def gateway(emulator: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerGateway]:
    data = tmp_path_factory.mktemp("workers-data")
    env = gateway_env(emulator, OCIGATE_DATA_DIR=str(data), OCIGATE_NO_ACCESS_LOG="1")
    server = WorkerGateway(env, master=MASTER).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def admin(gateway: WorkerGateway) -> Admin:
    return Admin(gateway.url)


def test_an_rpm_limit_of_n_admits_exactly_n_across_both_workers(gateway: WorkerGateway, admin: Admin) -> None:
    secret = admin.create(rpm=25)["secret"]
    before = gateway.per_worker()
    outcomes = burst(gateway.url, secret, 60)
    assert [o[0] for o in outcomes].count(200) == 25, outcomes
    assert sorted({(o[0], o[1]) for o in outcomes if o[0] != 200}) == [(429, "rate_limit_exceeded")]
    assert len(moved(gateway, before)) == 2, "the requests did not reach both workers"


def test_a_concurrency_limit_holds_across_both_workers(
    gateway: WorkerGateway, admin: Admin, emulator: ServerThread
) -> None:
    secret = admin.create(max_concurrent=4)["secret"]
    before = gateway.per_worker()
    for _ in range(3):
        # The upstream holds each admitted request for 2 s: the 16 are decided while the admitted ones run.
        httpx.post(f"{emulator.url}/_emulator/faults", json={"delay_ms": 2000, "count": 4}).raise_for_status()
        try:
            outcomes = burst(gateway.url, secret, 16)
        finally:
            httpx.delete(f"{emulator.url}/_emulator/faults").raise_for_status()
        assert [o[0] for o in outcomes].count(200) == 4, outcomes
        assert {o[1] for o in outcomes if o[0] != 200} == {"concurrency_limit_exceeded"}
    # Three rounds of four: the slots were given back across workers each time.
    assert len(moved(gateway, before)) == 2, "the requests did not reach both workers"


def test_a_token_budget_is_exact_across_both_workers(gateway: WorkerGateway, admin: Admin) -> None:
    created = admin.create(budget={"amount": 1500, "unit": "tokens", "period": "total"})
    before = gateway.per_worker()
    outcomes = burst(gateway.url, created["secret"], 80)
    served = [o for o in outcomes if o[0] == 200]
    refused = [o for o in outcomes if o[0] != 200]
    assert served and refused, outcomes
    assert {o[1] for o in refused} == {"budget_exceeded"}
    used = sum(o[2] for o in served)
    # Either worker answers the admin call; both see the one counter, which holds every request's real tokens.
    for _ in range(4):
        budget = admin.http.get(f"/admin/keys/{created['id']}").json()["budget"]
        assert budget["spent"] == used
    assert used <= 1500
    assert len(moved(gateway, before)) == 2, "the requests did not reach both workers"


def test_a_revoked_key_is_refused_by_every_worker_at_once(gateway: WorkerGateway, admin: Admin) -> None:
    created = admin.create()
    secret = created["secret"]
    stop = threading.Event()
    sent: list[tuple[float, int]] = []
    before = gateway.per_worker()

    def hammer() -> None:
        # A connection per request (the kernel spreads them over the workers): both key caches stay fresh.
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = httpx.post(
                    f"{gateway.url}/v1/chat/completions",
                    json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=30,
                ).status_code
            except httpx.TransportError:
                continue
            sent.append((started, status))

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        while len(sent) < 30:
            time.sleep(0.02)
        revoked = admin.http.post(f"/admin/keys/{created['id']}/revoke")
        done = time.monotonic()
        assert revoked.status_code == 200, revoked.text
        while len([s for s in sent if s[0] > done]) < 30:
            time.sleep(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    after = [status for started, status in sent if started > done]
    assert set(after) == {401}, after
    assert len(moved(gateway, before)) == 2, "the requests did not reach both workers"


def test_metrics_count_every_request_of_both_workers(gateway: WorkerGateway) -> None:
    time.sleep(2.5)  # the tests before: every worker's last requests synced (once a second) before the baseline
    first = gateway.succeeded()
    before = gateway.per_worker()
    outcomes = burst(gateway.url, MASTER, 40)
    assert all(o[0] == 200 for o in outcomes), outcomes
    # Whichever worker answers /metrics, it reports both workers' requests (the other's within a second).
    deadline = time.monotonic() + 10
    while gateway.succeeded() != first + 40:
        assert time.monotonic() < deadline, gateway.succeeded() - first
        time.sleep(0.1)
    for _ in range(6):
        assert gateway.succeeded() == first + 40
    found = moved(gateway, before)
    assert len(found) == 2 and sum(found.values()) >= 40, found


def test_a_worker_that_dies_is_replaced(gateway: WorkerGateway) -> None:
    victim = gateway.pids[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while not any("starting a new one" in line for line in gateway.lines):
        assert time.monotonic() < deadline, "\n".join(gateway.lines[-20:])
        time.sleep(0.05)
    assert gateway.process is not None and gateway.process.poll() is None
    assert any(f"pid {victim}) ended with signal 9" in line for line in gateway.lines)
    # The replacement serves on the dead worker's socket: every one of many connections is answered.
    deadline = time.monotonic() + 60
    while True:
        outcomes = burst(gateway.url, MASTER, 20)
        if all(o[0] == 200 for o in outcomes):
            break
        assert time.monotonic() < deadline, outcomes
