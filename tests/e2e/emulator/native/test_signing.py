"""Request signing on the native paths: what Oracle's SDK signs passes, and each broken part of a signature gets
401 NotAuthenticated naming the check; API keys work on inference paths only."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import oci  # type: ignore[import-untyped]
import pytest
from oci._vendor import requests  # type: ignore[import-untyped]

from ocigate.core.jwt import token_expiry
from ocigate.emulator import DEFAULT_KEY, EmulatorConfig
from ocigate.emulator.config import IamKey
from ocigate.emulator.signing import make_security_token
from tests.support.native import COMPARTMENT, TENANCY, USER, Identity, make_identity
from tests.support.servers import ServerThread, start_emulator

CHAT = "/20231130/actions/chat"
BODY = {
    "compartmentId": COMPARTMENT,
    "servingMode": {"servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"},
    "chatRequest": {
        "apiFormat": "GENERIC",
        "messages": [{"role": "USER", "content": [{"type": "TEXT", "text": "Hi"}]}],
        "maxTokens": 50,
    },
}


def signer(identity: Identity) -> Any:
    return oci.signer.Signer(TENANCY, USER, identity.fingerprint, None, private_key_content=identity.private_pem)


def signed(sign: Any, method: str, url: str, body: bytes | None = None) -> dict[str, str]:
    """The headers Oracle's SDK signer puts on this request."""
    prepared = requests.Request(method, url, data=body, headers={"content-type": "application/json"}).prepare()
    sign(prepared)
    return dict(prepared.headers)


def post(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(url + CHAT, content=body, headers=headers, timeout=10)


def rejected(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "NotAuthenticated"
    assert fragment in body["message"], body["message"]


RAW = json.dumps(BODY).encode()


def test_signed_request_passes(native_emulator: ServerThread, identity: Identity) -> None:
    headers = signed(signer(identity), "POST", native_emulator.url + CHAT, RAW)
    assert set(headers) >= {"authorization", "date", "host", "x-content-sha256", "content-length"}
    assert post(native_emulator.url, headers, RAW).status_code == 200


def test_tampered_body(native_emulator: ServerThread, identity: Identity) -> None:
    headers = signed(signer(identity), "POST", native_emulator.url + CHAT, RAW)
    tampered = RAW.replace(b"Hi", b"Yo")
    rejected(post(native_emulator.url, headers, tampered), "x-content-sha256")


def test_tampered_digest_too(native_emulator: ServerThread, identity: Identity) -> None:
    """A forger who also fixes x-content-sha256 breaks the signature instead."""
    import base64
    import hashlib

    tampered = RAW.replace(b"Hi", b"Yo")
    headers = signed(signer(identity), "POST", native_emulator.url + CHAT, RAW)
    headers["x-content-sha256"] = base64.b64encode(hashlib.sha256(tampered).digest()).decode()
    rejected(post(native_emulator.url, headers, tampered), "does not verify")


def test_old_date(native_emulator: ServerThread, identity: Identity) -> None:
    url = native_emulator.url + CHAT
    prepared = requests.Request("POST", url, data=RAW, headers={"content-type": "application/json"}).prepare()
    prepared.headers["date"] = email.utils.formatdate(time.time() - 600, usegmt=True)
    signer(identity)(prepared)
    rejected(post(native_emulator.url, dict(prepared.headers), RAW), "away from the server's clock")


def test_missing_body_headers_in_signature(native_emulator: ServerThread, identity: Identity) -> None:
    url = native_emulator.url + CHAT
    prepared = requests.Request("POST", url, data=RAW, headers={"content-type": "application/json"}).prepare()
    signer(identity).without_content_headers(prepared)  # signs only date (request-target) host
    rejected(post(native_emulator.url, dict(prepared.headers), RAW), "must cover the 'content-length' header")


def test_signed_header_missing_from_request(native_emulator: ServerThread, identity: Identity) -> None:
    headers = signed(signer(identity), "POST", native_emulator.url + CHAT, RAW)
    del headers["x-content-sha256"]
    rejected(post(native_emulator.url, headers, RAW), "missing from the request")


def test_unknown_key_and_wrong_key(native_emulator: ServerThread, identity: Identity) -> None:
    stranger = make_identity()
    headers = signed(signer(stranger), "POST", native_emulator.url + CHAT, RAW)
    rejected(post(native_emulator.url, headers, RAW), "No key is known")
    # The right keyId, signed with another private key.
    impostor = Identity(stranger.private_pem, stranger.public_pem, identity.fingerprint)
    headers = signed(signer(impostor), "POST", native_emulator.url + CHAT, RAW)
    rejected(post(native_emulator.url, headers, RAW), "does not verify")


def test_no_or_foreign_authorization(native_emulator: ServerThread) -> None:
    rejected(post(native_emulator.url, {"content-type": "application/json"}, RAW), "not an OCI request signature")
    rejected(post(native_emulator.url, {"authorization": "Bearer sk-unknown"}, RAW), "authentication")


def test_api_key_on_native_chat_but_not_on_management(native_emulator: ServerThread) -> None:
    bearer = {"authorization": f"Bearer {DEFAULT_KEY}"}
    answer = post(native_emulator.url, bearer, RAW)
    assert answer.status_code == 200
    assert answer.json()["chatResponse"]["choices"][0]["finishReason"] == "stop"
    listing = httpx.get(native_emulator.url + "/20231130/models", params={"compartmentId": COMPARTMENT}, headers=bearer)
    assert listing.status_code == 401


def test_signed_get(native_emulator: ServerThread, identity: Identity) -> None:
    url = native_emulator.url + f"/20231130/models?compartmentId={COMPARTMENT}&limit=2"
    headers = signed(signer(identity), "GET", url)
    answer = httpx.get(url, headers=headers)
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2
    assert answer.headers["opc-next-page"]
    # The query string is signed: another limit breaks the signature.
    answer = httpx.get(url.replace("limit=2", "limit=3"), headers=headers)
    rejected(answer, "does not verify")


@pytest.fixture(scope="module")
def token_emulator() -> Iterator[tuple[ServerThread, Identity, str, str]]:
    identity = make_identity()
    valid = make_security_token("ocid1.user.oc1..session", expires_at=time.time() + 3600)
    expired = make_security_token("ocid1.user.oc1..session", expires_at=time.time() - 60)
    keys = tuple(IamKey("ST$" + token, identity.public_pem) for token in (valid, expired))
    server = start_emulator(EmulatorConfig(iam_keys=keys))
    yield server, identity, valid, expired
    server.stop()


def test_security_tokens(token_emulator: tuple[ServerThread, Identity, str, str]) -> None:
    server, identity, valid, expired = token_emulator
    assert token_expiry(valid) is not None and token_expiry("opaque") is None
    private_key = oci.signer.load_private_key(identity.private_pem, None)
    good = signed(oci.auth.signers.SecurityTokenSigner(valid, private_key), "POST", server.url + CHAT, RAW)
    assert good["authorization"].count('keyId="ST$') == 1
    assert post(server.url, good, RAW).status_code == 200
    old = signed(oci.auth.signers.SecurityTokenSigner(expired, private_key), "POST", server.url + CHAT, RAW)
    rejected(post(server.url, old, RAW), "expired")
