"""The native path's identity: a user principal's API signing key, its OCI config file, and the gateway's YAML with
one ``type: oci`` provider, all written in bench/out/native/ (a fresh key every run).

The emulator learns the public key with ``ocigate emulator --iam-key <tenancy>/<user>/<fingerprint>=<public.pem>``;
the gateway signs every request with the private key, as Oracle's SDK does for a profile of ``~/.oci/config``.
The provider's endpoint is ``${BENCH_OCI_ENDPOINT}``, expanded by the gateway from its environment, so one file
serves every emulator of the run (each target gets its own, on its own port).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness.layout import OUT
from harness.workloads import MODEL

NATIVE_DIR = OUT / "native"
GATEWAY_YAML = NATIVE_DIR / "ocigate.yaml"  # OCIGATE_CONFIG
TENANCY = "ocid1.tenancy.oc1..aaaaaaaabenchtenancy"
USER = "ocid1.user.oc1..aaaaaaaabenchuser"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaabenchcompartment"
REGION = "us-chicago-1"
ENDPOINT_VAR = "BENCH_OCI_ENDPOINT"  # the emulator's root URL, in the gateway's environment
PROVIDER = "oci"


@dataclass(frozen=True, slots=True)
class NativeFiles:
    key_id: str  # <tenancy>/<user>/<fingerprint>, the signatures' keyId
    public_pem: Path
    private_pem: Path
    oci_config: Path  # [DEFAULT] user, fingerprint, tenancy, region, key_file
    gateway_yaml: Path  # OCIGATE_CONFIG

    def emulator_args(self) -> list[str]:
        return ["--iam-key", f"{self.key_id}={self.public_pem}"]


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """OCI's key fingerprint: the MD5 of the DER public key, as colon-separated hex pairs."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - OCI's fingerprint is MD5 by definition
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


@functools.cache
def native_files() -> NativeFiles:
    """Writes the key pair, the OCI config file and the gateway's YAML (once per run)."""
    NATIVE_DIR.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = NATIVE_DIR / "bench-user.pem"
    private_pem.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    private_pem.chmod(0o600)
    public_pem = NATIVE_DIR / "bench-user.pub.pem"
    public_pem.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    fp = fingerprint(private.public_key())
    oci_config = NATIVE_DIR / "config"
    oci_config.write_text(
        f"[DEFAULT]\nuser={USER}\nfingerprint={fp}\ntenancy={TENANCY}\nregion={REGION}\nkey_file={private_pem}\n"
    )
    GATEWAY_YAML.write_text(
        "providers:\n"
        f"  {PROVIDER}:\n"
        "    type: oci\n"
        f'    endpoint: "${{{ENDPOINT_VAR}}}"\n'
        f"    compartment_id: {COMPARTMENT}\n"
        "    auth: user_principal\n"
        f"    config_file: {oci_config}\n"
        "    discovery: false\n"
        f"    models: [{MODEL}]\n"
    )
    return NativeFiles(f"{TENANCY}/{USER}/{fp}", public_pem, private_pem, oci_config, GATEWAY_YAML)
