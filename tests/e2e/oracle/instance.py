"""A stand-in for an OCI compute instance's surroundings, so that Oracle's own instance-principal signer runs end to
end on loopback: the instance metadata service (region, leaf certificate and key, intermediate certificate), the
auth service's X.509 federation endpoint, and behind them an emulator that knows every token issued so far.

The SDK is pointed at it with ``OCI_METADATA_BASE_URL`` (which it reads itself) and the provider's
``federation_endpoint``."""

from __future__ import annotations

import datetime
import time
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ocigate.core.asgi import ASGIApp, Receive, Scope, Send
from ocigate.emulator import EmulatorConfig, create_emulator_app
from ocigate.emulator.config import IamKey
from ocigate.emulator.signing import make_security_token


def _certificate(subject: x509.Name, key: rsa.RSAPrivateKey) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


class FakeInstance:
    def __init__(self, tenancy: str, region: str, compartments: tuple[str, ...], *, first_token_s: float) -> None:
        self.region = region
        self.compartments = compartments
        self.first_token_s = first_token_s
        self.leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        leaf = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "ocid1.instance.oc1..aaaaaaaafake"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"opc-tenant:{tenancy}"),
            ]
        )
        self.leaf = _certificate(leaf, self.leaf_key)
        self.intermediate = _certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PKISVC Identity Intermediate")]),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
        self.keys: list[IamKey] = []
        self.tokens: list[str] = []
        self._emulator: ASGIApp | None = None

    def _metadata(self, path: str) -> bytes | None:
        return {
            "/opc/v2/instance/region": self.region.encode(),
            "/opc/v2/identity/cert.pem": self.leaf,
            "/opc/v2/identity/intermediate.pem": self.intermediate,
            "/opc/v2/identity/key.pem": self.leaf_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        }.get(path)

    def _federate(self, body: bytes) -> bytes:
        request: dict[str, Any] = orjson.loads(body)
        assert request["certificate"] and request["intermediateCertificates"]
        raw = request["publicKey"]
        lines = [raw[i : i + 64] for i in range(0, len(raw), 64)]
        public_pem = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
        lifetime = self.first_token_s if not self.tokens else 3600.0
        token = make_security_token(f"ocid1.instance.oc1..fake{len(self.tokens)}", expires_at=time.time() + lifetime)
        self.tokens.append(token)
        self.keys.append(IamKey("ST$" + token, public_pem, compartments=self.compartments))
        self._emulator = create_emulator_app(EmulatorConfig(region=self.region, iam_keys=tuple(self.keys)))
        return orjson.dumps({"token": token})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        metadata = self._metadata(path)
        if metadata is None and path != "/v1/x509":
            if self._emulator is None:
                await _reply(send, 503, b'{"code":"NotReady","message":"no token issued yet"}')
            else:
                await self._emulator(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await _reply(send, 200, metadata if metadata is not None else self._federate(body))


async def _reply(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
