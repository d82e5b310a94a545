"""The IAM user the native emulator suites sign as: its tenancy, compartments and endpoint, and its key pair."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
