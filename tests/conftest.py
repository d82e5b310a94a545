from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ocigate.app.runtime import Gateway  # noqa: E402
from ocigate.emulator import EmulatorConfig  # noqa: E402

from servers import ServerThread, start_emulator, start_gateway  # noqa: E402

CHICAGO_KEY = "sk-emulator-chicago"
ASHBURN_KEY = "sk-emulator-ashburn"
NOPOLICY_KEY = "sk-emulator-nopolicy"
MODELS = (
    "openai.gpt-oss-120b,openai.gpt-oss-20b,xai.grok-3,xai.grok-4,meta.llama-3.3-70b-instruct,google.gemini-2.5-flash"
)


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


GatewayFactory = Callable[..., tuple[ServerThread, Gateway]]


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
        import httpx

        emu: ServerThread = request.getfixturevalue("emulator")
        httpx.delete(f"{emu.url}/_emulator/faults")
