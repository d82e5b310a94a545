"""The gateway's signatures against two references that are not its own code: Oracle's SDK signing the same request
(RSA PKCS#1 v1.5 is deterministic, so the headers must be byte for byte the SDK's), and a verifier written here from
draft-cavage-http-signatures (§2.3, the signing string) with ``cryptography``'s RSA verify."""

from __future__ import annotations

import base64
import hashlib
import re

import oci  # type: ignore[import-untyped]
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.hashes import SHA256

from ocigate.providers.oracle.principals import Credential
from ocigate.providers.oracle.signing import OciRequestSigner
from tests.support.iam import Key, new_key

TENANCY = "ocid1.tenancy.oc1..aaaaaaaatenancy"
USER = "ocid1.user.oc1..aaaaaaaauser"
URL = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/chat"
LIST_URL = "https://generativeai.us-chicago-1.oci.oraclecloud.com/20231130/models?compartmentId=ocid1.x&limit=100"
BODY = b'{"compartmentId":"ocid1.compartment.oc1..aaaa","chatRequest":{"apiFormat":"GENERIC","messages":[]}}'
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def key() -> Key:
    return new_key()


def sdk_signer(key: Key) -> oci.signer.Signer:
    return oci.signer.Signer(TENANCY, USER, key.fingerprint, None, private_key_content=key.pem())


def ours(key: Key) -> OciRequestSigner:
    signer = OciRequestSigner("user_principal", lambda: Credential(sdk_signer(key), tenancy=TENANCY, region=None),
                              describe="user principal")  # fmt: skip
    signer.build()
    signer.clock = lambda: NOW
    return signer


def sdk_headers(key: Key, method: str, url: str, body: bytes | None, date: str) -> dict[str, str]:
    prepared = requests.Request(method, url, data=body, headers={"date": date, "content-type": "application/json"})
    signed = sdk_signer(key)(prepared.prepare())
    return {name.lower(): value for name, value in signed.headers.items()}


@pytest.mark.parametrize(("method", "url", "body"), [("POST", URL, BODY), ("GET", LIST_URL, None)])
def test_the_same_headers_as_oracles_sdk(key: Key, method: str, url: str, body: bytes | None) -> None:
    signed = ours(key).sign(method, url, {"content-type": "application/json"}, body)
    expected = sdk_headers(key, method, url, body, signed["date"])
    assert signed["date"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert signed["authorization"] == expected["authorization"]
    for name in ("x-content-sha256", "content-length", "host"):
        assert signed.get(name) == expected.get(name), name


def verify(key: Key, method: str, path: str, headers: dict[str, str]) -> list[str]:
    """What Oracle checks, written from the draft: the parameters, the signing string rebuilt from the headers
    sent, the RSA-SHA256 signature over it with the public key. Returns the signed header names."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', headers["authorization"].removeprefix("Signature ")))
    assert params["algorithm"] == "rsa-sha256" and params["version"] == "1"
    assert params["keyId"] == f"{TENANCY}/{USER}/{key.fingerprint}"
    names: list[str] = params["headers"].split(" ")
    lines = [
        f"(request-target): {method.lower()} {path}" if name == "(request-target)" else f"{name}: {headers[name]}"
        for name in names
    ]
    key.private.public_key().verify(
        base64.b64decode(params["signature"]), "\n".join(lines).encode(), padding.PKCS1v15(), SHA256()
    )  # raises InvalidSignature
    return names


def test_an_independent_verifier_accepts_every_signed_header(key: Key) -> None:
    signer = ours(key)
    signed = signer.sign("POST", URL, {"Content-Type": "application/json", "Accept": "text/event-stream"}, BODY)
    names = verify(key, "POST", "/20231130/actions/chat", signed)
    assert names == ["date", "(request-target)", "host", "content-length", "content-type", "x-content-sha256"]
    assert signed["x-content-sha256"] == base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert signed["content-length"] == str(len(BODY)) and signed["accept"] == "text/event-stream"
    got = signer.sign("GET", LIST_URL, {}, None)
    assert verify(key, "GET", LIST_URL.split(".com", 1)[1], got) == ["date", "(request-target)", "host"]


def test_a_changed_body_or_date_breaks_the_signature(key: Key) -> None:
    signed = ours(key).sign("POST", URL, {}, BODY)
    for name, value in (("x-content-sha256", base64.b64encode(hashlib.sha256(b"{}").digest()).decode()),
                        ("date", "Thu, 01 Jan 2026 00:00:01 GMT")):  # fmt: skip
        with pytest.raises(InvalidSignature):
            verify(key, "POST", "/20231130/actions/chat", {**signed, name: value})


def test_the_date_follows_the_clock(key: Key) -> None:
    signer = ours(key)
    first = signer.sign("POST", URL, {}, BODY)["date"]
    signer.clock = lambda: NOW + 61
    assert signer.sign("POST", URL, {}, BODY)["date"] == "Thu, 01 Jan 2026 00:01:01 GMT" != first
