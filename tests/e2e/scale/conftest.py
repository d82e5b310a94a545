"""The cluster of tests/support/cluster.py: one emulator process and three gateway processes, started for the module."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.support.cluster import (
    EMULATOR_KEY,
    MASTER,
    MODEL,
    OTHER_MODEL,
    REDIS_URL,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    STREAM_DELAY_S,
    Cluster,
    Process,
    clean_env,
    delete_counters,
    free_ports,
    spawn,
    wait_for,
    warm_up,
)
from tests.support.databases import postgres_database


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One emulator and three gateways, ready; every process killed (if the tests did not stop it) afterwards."""
    ping: redis.Redis = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        assert ping.ping(), f"Redis at {REDIS_URL} does not answer"
    finally:
        ping.close()
    root = tmp_path_factory.mktemp("governance-scale")
    processes: list[Process] = []
    key_ids: list[str] = []
    with postgres_database() as database_url:
        try:
            port, *gateway_ports = free_ports(4)
            args = ["emulator", "--host", "127.0.0.1", "--port", str(port), "--region", "us-chicago-1"]
            # Streams take a while (an event every STREAM_DELAY_S), so that requests are in flight together.
            args += ["--stream-delay", str(STREAM_DELAY_S)]
            log = root / "emulator.log"
            emulator = Process("emulator", f"http://127.0.0.1:{port}", spawn(args, clean_env(), log), log)
            processes.append(emulator)
            deadline = time.monotonic() + START_TIMEOUT_S
            wait_for(emulator, "/", (404,), deadline)  # any answer: it is listening
            gateways: list[Process] = []
            for number, port in enumerate(gateway_ports, start=1):
                data_dir = root / f"gateway-{number}"
                data_dir.mkdir()
                env = {
                    **clean_env(),
                    "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
                    "ORACLE_API_KEY": EMULATOR_KEY,
                    "ORACLE_REGION": "us-chicago-1",
                    "ORACLE_MODELS": f"{MODEL},{OTHER_MODEL}",
                    "OCIGATE_MASTER_KEY": MASTER,
                    "OCIGATE_DATABASE_URL": database_url,
                    "OCIGATE_REDIS_URL": REDIS_URL,
                    "OCIGATE_DATA_DIR": str(data_dir),
                    "OCIGATE_PORT": str(port),
                    "OCIGATE_GRACE_PERIOD": "5",
                    "OCIGATE_DISCOVERY_INTERVAL": "0",
                    "OCIGATE_NO_ACCESS_LOG": "1",
                }
                log = root / f"gateway-{number}.log"
                gateway = Process(f"gateway-{number}", f"http://127.0.0.1:{port}", spawn(["serve"], env, log), log)
                processes.append(gateway)
                gateways.append(gateway)
            for gateway in gateways:  # started together, waited for one by one
                wait_for(gateway, "/readyz", (200,), deadline)
            state = Cluster(emulator, gateways, database_url, key_ids=key_ids)
            warm_up(state)
            yield state
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
            delete_counters(key_ids)
