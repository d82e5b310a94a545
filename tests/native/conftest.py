"""A real emulator on loopback that knows one IAM user key, and Oracle's own SDK clients signed with it.

The key pair is made per test session; the SDK reads a temporary ``~/.oci/config``-style file, as a user's
installation would."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oci  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ocigate.emulator import EmulatorConfig
from ocigate.emulator.config import IamKey

from servers import ServerThread, start_emulator

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaemulatortenancy"
USER = "ocid1.user.oc1..aaaaaaaaemulatoruser"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaemulatorcompartment"
OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaothercompartment"
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaaemulatorendpoint"
REGION = "us-chicago-1"


@dataclass(frozen=True, slots=True)
class Identity:
    private_pem: str
    public_pem: str
    fingerprint: str

    @property
    def key_id(self) -> str:
        return f"{TENANCY}/{USER}/{self.fingerprint}"


def make_identity() -> Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - OCI's key fingerprint is MD5 by definition
    return Identity(private_pem, public_pem, ":".join(digest[i : i + 2] for i in range(0, 32, 2)))


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


def key_path(config: dict[str, Any]) -> Path:
    return Path(config["key_file"])
