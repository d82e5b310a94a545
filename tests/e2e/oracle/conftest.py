"""The gateway in front of the emulator's native API, authenticated as an IAM principal (tests/support/iam.py): one
emulator that knows every principal's key, and a gateway signing as the user principal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ocigate.app.runtime import Gateway
from ocigate.emulator import EmulatorConfig
from tests.support.iam import COMMAND_R_OCID, ENDPOINT, REGION, Principals, iam_keys, oci_provider, start
from tests.support.servers import GatewayFactory, ServerThread, start_emulator


@pytest.fixture(scope="session")
def iam_emulator(principals: Principals) -> Iterator[ServerThread]:
    server = start_emulator(
        EmulatorConfig(
            region=REGION,
            iam_keys=iam_keys(principals),
            dedicated_endpoints=((ENDPOINT, "cohere.command-r-08-2024"),),
        )
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def iam_gateway(
    iam_emulator: ServerThread, oci_dir: Path, gateway_factory: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ServerThread, Gateway]:
    """A user principal on the native API, with discovery and a dedicated endpoint."""
    provider = oci_provider(
        iam_emulator,
        oci_dir,
        models=[COMMAND_R_OCID],
        dedicated={"team-command-r": {"endpoint": ENDPOINT, "model": "cohere.command-r-08-2024"}},
    )
    return start(gateway_factory, tmp_path_factory.mktemp("iam-gw"), {"oci": provider})
