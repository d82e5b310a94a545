"""A worker that cannot serve stops the whole server, loudly: it never goes on with fewer workers than asked for."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.governance import MASTER, gateway_env
from tests.support.servers import ServerThread
from tests.support.workers import WorkerGateway


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == parent and "spawn_main" in (entry / "cmdline").read_text(errors="replace"):
                found.add(int(entry.name))
    return found


def test_a_replacement_that_dies_before_serving_stops_the_server(
    emulator: ServerThread, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("failing-data")
    gateway = WorkerGateway(gateway_env(emulator, OCIGATE_DATA_DIR=str(data)), master=MASTER).start()
    try:
        assert gateway.process is not None
        parent = gateway.process.pid
        os.kill(gateway.pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (replacements := _children(parent) - set(gateway.pids)):
            assert time.monotonic() < deadline, "no replacement was started"
            time.sleep(0.01)
        for pid in replacements:  # killed while it is still starting
            os.kill(pid, signal.SIGKILL)
        status = gateway.process.wait(timeout=60)
    finally:
        gateway.kill()
    assert status == 1
    assert any("before serving: stopping the gateway" in line for line in gateway.lines), gateway.lines[-10:]
    assert gateway.process.poll() is not None
    time.sleep(0.5)
    for pid in gateway.pids[1:]:  # the other worker drained and stopped with it
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
