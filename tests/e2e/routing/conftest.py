"""Two emulators standing in for two Oracle regions (gateways routing one public model across both are in
tests/support/regions.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocigate.emulator import EmulatorConfig
from tests.support.servers import ServerThread, start_emulator


@pytest.fixture(scope="module")
def region_a() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-chicago-1", seed=11))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def region_b() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-ashburn-1", seed=12))
    yield server
    server.stop()
