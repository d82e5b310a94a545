"""``ocigate serve --workers 2`` with ``OCIGATE_REDIS_URL``: the workers keep their limits in Redis, as separate
gateways do, and the parent runs no limit broker; an rpm limit still admits exactly its number across both."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.support.databases import REDIS_URL, redis_client
from tests.support.governance import MASTER, Admin, gateway_env
from tests.support.servers import ServerThread
from tests.support.workers import WorkerGateway, burst, moved


@pytest.fixture(scope="module")
def gateway(emulator: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerGateway]:
    async def reachable() -> None:
        client = await redis_client()  # skips the module when Redis is not running
        await client.aclose()

    asyncio.run(reachable())
    data = tmp_path_factory.mktemp("workers-redis-data")
    env = gateway_env(emulator, OCIGATE_DATA_DIR=str(data), OCIGATE_NO_ACCESS_LOG="1", OCIGATE_REDIS_URL=REDIS_URL)
    server = WorkerGateway(env, master=MASTER).start()
    try:
        yield server
    finally:
        server.kill()


def test_an_rpm_limit_holds_across_workers_through_redis(gateway: WorkerGateway) -> None:
    admin = Admin(gateway.url)
    secret = admin.create(rpm=20)["secret"]
    before = gateway.per_worker()
    outcomes = burst(gateway.url, secret, 50)
    assert [o[0] for o in outcomes].count(200) == 20, outcomes
    assert {o[1] for o in outcomes if o[0] != 200} == {"rate_limit_exceeded"}
    assert len(moved(gateway, before)) == 2, "the requests did not reach both workers"
    assert gateway.stop() == 0
