"""The IAM principals the gateway signs as in front of the emulator's native API, and how the tests set them up.

One emulator knows every key the tests sign with: a user's API signing key (for a plain, an encrypted and a
``key_content`` profile), a session token's key and a resource principal's key. The OCI config file is written the
way ``oci setup config`` and ``oci session authenticate`` write theirs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ocigate.app.runtime import Gateway
from ocigate.emulator.config import IamKey
from ocigate.emulator.native_models import model_ocid
from ocigate.emulator.signing import make_security_token
from tests.support.servers import GatewayFactory, ServerThread

TENANCY = "ocid1.tenancy.oc1..aaaaaaaaiamtenancy"
USER = "ocid1.user.oc1..aaaaaaaaiamuser"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaiamcompartment"
OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaelsewhere"
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaaiamendpoint"
REGION = "us-chicago-1"
PASS_PHRASE = "correct horse battery staple"
COMMAND_R_OCID = model_ocid(REGION, "cohere.command-r-08-2024")


@dataclass(frozen=True, slots=True)
class Key:
    private: rsa.RSAPrivateKey

    def pem(self, pass_phrase: str | None = None) -> str:
        encryption = (
            serialization.BestAvailableEncryption(pass_phrase.encode()) if pass_phrase else serialization.NoEncryption()
        )
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ).decode()

    @property
    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    @property
    def fingerprint(self) -> str:
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.md5(der).hexdigest()  # noqa: S324 - OCI's key fingerprint is MD5 by definition
        return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def new_key() -> Key:
    return Key(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def jwt_token(claims: dict[str, object]) -> str:
    """A JWT-shaped, unsigned token with the given claims (the emulator looks tokens up; it does not verify them)."""

    def encode(part: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode(claims)}.emulator"


@dataclass(frozen=True, slots=True)
class Principals:
    user: Key
    session: Key
    session_token: str
    spare_token: str  # a second session token, for the token file's rotation
    resource: Key
    resource_token: str


def make_principals() -> Principals:
    """New keys and tokens for every principal (made once per test session by the ``principals`` fixture)."""
    hour = time.time() + 3600
    return Principals(
        user=new_key(),
        session=new_key(),
        session_token=make_security_token("ocid1.user.oc1..session", expires_at=hour),
        spare_token=make_security_token("ocid1.user.oc1..spare", expires_at=hour + 60),
        resource=new_key(),
        resource_token=jwt_token(
            {"sub": "ocid1.fnfunc.oc1..fn", "res_tenant": TENANCY, "res_compartment": COMPARTMENT, "exp": int(hour)}
        ),
    )


def iam_keys(p: Principals, compartments: tuple[str, ...] = (COMPARTMENT,)) -> tuple[IamKey, ...]:
    return (
        IamKey(f"{TENANCY}/{USER}/{p.user.fingerprint}", p.user.public_pem, compartments=compartments),
        IamKey("ST$" + p.session_token, p.session.public_pem, compartments=compartments),
        IamKey("ST$" + p.spare_token, p.session.public_pem, compartments=compartments),
        IamKey("ST$" + p.resource_token, p.resource.public_pem, compartments=compartments),
    )


def write_oci_dir(principals: Principals, folder: Path) -> Path:
    """``folder`` made a ``~/.oci`` with a config file of four profiles."""
    (folder / "user.pem").write_text(principals.user.pem())
    (folder / "encrypted.pem").write_text(principals.user.pem(PASS_PHRASE))
    (folder / "session.pem").write_text(principals.session.pem())
    (folder / "token").write_text(principals.session_token)
    identity = f"user={USER}\nfingerprint={principals.user.fingerprint}\ntenancy={TENANCY}\nregion={REGION}\n"
    (folder / "config").write_text(
        f"[DEFAULT]\n{identity}key_file={folder / 'user.pem'}\n\n"
        f"[ENCRYPTED]\n{identity}key_file={folder / 'encrypted.pem'}\npass_phrase={PASS_PHRASE}\n\n"
        f"[CONTENT]\n{identity}\n"
        f"[SESSION]\nfingerprint={principals.session.fingerprint}\nkey_file={folder / 'session.pem'}\n"
        f"tenancy={TENANCY}\nregion={REGION}\nsecurity_token_file={folder / 'token'}\n"
    )
    return folder


def write_config(folder: Path, providers: dict[str, dict[str, object]]) -> str:
    path = folder / f"ocigate-{len(list(folder.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump({"providers": providers}), encoding="utf-8")
    return str(path)


def oci_provider(emulator: ServerThread, oci_dir: Path, **extra: object) -> dict[str, object]:
    return {
        "type": "oci",
        "endpoint": emulator.url,
        "compartment_id": COMPARTMENT,
        "config_file": str(oci_dir / "config"),
        **extra,
    }


def start(factory: GatewayFactory, tmp: Path, providers: dict[str, dict[str, object]]) -> tuple[ServerThread, Gateway]:
    return factory({"OCIGATE_MASTER_KEY": "gw-key"}, config_file=write_config(tmp, providers))
