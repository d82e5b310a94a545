"""Fixtures of the end-to-end suites: real emulators and gateways on loopback, and Node with tests/e2e/clients/node's
packages; and the hook that marks every test below this folder ``e2e``, so that ``pytest -m "not e2e"`` (the inner
loop) leaves them all out.

The servers live here rather than in tests/conftest.py so that a unit test cannot start one by asking for a fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from ocigate.app.runtime import Gateway
from ocigate.emulator import EmulatorConfig
from tests.support.node import NODE_DIR, install_node_packages
from tests.support.servers import CHICAGO_KEY, MODELS, GatewayFactory, ServerThread, start_emulator, start_gateway

E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Called once with every collected item, not only the ones below this folder: hence the path test.
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def emulator() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-chicago-1"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ashburn_emulator() -> Iterator[ServerThread]:
    server = start_emulator(EmulatorConfig(region="us-ashburn-1"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gateway_factory() -> Iterator[GatewayFactory]:
    started: list[ServerThread] = []

    def factory(env: dict[str, str], config_file: str | None = None) -> tuple[ServerThread, Gateway]:
        server, app = start_gateway(env, config_file=config_file)
        started.append(server)
        return server, app

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def gateway(emulator: ServerThread, gateway_factory: GatewayFactory) -> ServerThread:
    """The gateway in front of the Chicago emulator with a master key, as a team would run it."""
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": CHICAGO_KEY,
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": MODELS,
        "OCIGATE_MASTER_KEY": "gw-master-key",
        # Short enough that an upstream's long Retry-After reaches the client instead of being waited out.
        "OCIGATE_REQUEST_BUDGET": "5",
    }
    server, _ = gateway_factory(env)
    return server


@pytest.fixture
def client(gateway: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="gw-master-key", max_retries=0)


@pytest.fixture
def aclient(gateway: ServerThread) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="gw-master-key", max_retries=0)


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        emu: ServerThread = request.getfixturevalue("emulator")
        httpx.delete(f"{emu.url}/_emulator/faults")


@pytest.fixture(scope="session")
def node_dir() -> Path:
    """tests/e2e/clients/node with its node_modules installed (``npm ci``) when missing or older than the lockfile."""
    install_node_packages()
    return NODE_DIR
