"""A real emulator on loopback that knows one IAM user key, and Oracle's own SDK clients signed with it.

The key pair is made per test session; the SDK reads a temporary ``~/.oci/config``-style file, as a user's
installation would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import oci  # type: ignore[import-untyped]
import pytest

from ocigate.emulator import EmulatorConfig
from ocigate.emulator.config import IamKey
from tests.support.native import COMPARTMENT, ENDPOINT, REGION, TENANCY, USER, Identity, make_identity
from tests.support.servers import ServerThread, start_emulator


@pytest.fixture(scope="session")
def identity() -> Identity:
    return make_identity()


@pytest.fixture(scope="session")
def oci_config(identity: Identity, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("oci")
    key_file = folder / "key.pem"
    key_file.write_text(identity.private_pem)
    config_file = folder / "config"
    config_file.write_text(
        "[DEFAULT]\n"
        f"user={USER}\nfingerprint={identity.fingerprint}\ntenancy={TENANCY}\nregion={REGION}\nkey_file={key_file}\n"
    )
    config: dict[str, Any] = oci.config.from_file(str(config_file))
    oci.config.validate_config(config)
    return config


@pytest.fixture(scope="session")
def native_emulator(identity: Identity) -> Iterator[ServerThread]:
    config = EmulatorConfig(
        region=REGION,
        iam_keys=(IamKey(identity.key_id, identity.public_pem, compartments=(COMPARTMENT,)),),
        dedicated_endpoints=((ENDPOINT, "meta.llama-3.3-70b-instruct"),),
    )
    server = start_emulator(config)
    yield server
    server.stop()


def _no_retry() -> Any:
    return oci.retry.NoneRetryStrategy()


@pytest.fixture(scope="session")
def inference(native_emulator: ServerThread, oci_config: dict[str, Any]) -> Any:
    return oci.generative_ai_inference.GenerativeAiInferenceClient(
        oci_config, service_endpoint=native_emulator.url, retry_strategy=_no_retry(), timeout=(5, 15)
    )


@pytest.fixture(scope="session")
def management(native_emulator: ServerThread, oci_config: dict[str, Any]) -> Any:
    return oci.generative_ai.GenerativeAiClient(
        oci_config, service_endpoint=native_emulator.url, retry_strategy=_no_retry(), timeout=(5, 15)
    )
