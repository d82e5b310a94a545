"""OCI request signatures ("Signature Version 1", draft-cavage-http-signatures-08), checked the way Oracle does
(doc §2.2, signingrequests.htm). Every failure is 401 NotAuthenticated, with a message that names the check.

The header the SDK sends::

    Authorization: Signature version="1",keyId="<tenancy>/<user>/<fingerprint>",algorithm="rsa-sha256",
                   headers="date (request-target) host content-length content-type x-content-sha256",
                   signature="<base64 RSA-SHA256 of the signing string>"

The signing string is one ``name: value`` line per signed header, joined by ``\\n``; ``(request-target)`` is the
lower-case method, a space, and the path with its query string.

Security tokens (``keyId="ST$<token>"``: session, instance- and resource-principal auth) are an emulator
simplification: Oracle reads the public key out of the token, which IAM signed; the emulator instead looks the whole
``ST$<token>`` up among its configured keys, and rejects a JWT-shaped token whose ``exp`` has passed. Any string
works as a token; :func:`make_security_token` mints a JWT-shaped one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ocigate.core.asgi import Request
from ocigate.core.jwt import token_expiry
from ocigate.emulator.config import IamKey
from ocigate.emulator.errors import OracleError

TOKEN_PREFIX = "ST$"
GET_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = (*GET_HEADERS, "content-length", "content-type", "x-content-sha256")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def failed(check: str) -> OracleError:
    return OracleError(401, "NotAuthenticated", check)


class SignatureVerifier:
    """Checks a request's signature against the configured keys; returns the key that signed it."""

    def __init__(
        self, keys: Iterable[IamKey], *, max_skew_s: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys: dict[str, tuple[IamKey, rsa.RSAPublicKey]] = {}
        for key in keys:
            public = serialization.load_pem_public_key(key.public_key_pem.encode())
            if not isinstance(public, rsa.RSAPublicKey):
                raise ValueError(f"IAM key {key.key_id} is not an RSA public key")
            self._keys[key.key_id] = (key, public)
        self.max_skew_s = max_skew_s
        self.clock = clock

    def verify(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> IamKey:
        """``target`` is the path and query string as sent; ``headers`` have lower-case names."""
        params = parse_authorization(headers.get("authorization", ""))
        version = params.get("version", "1")
        if version != "1":
            raise failed(f"Unsupported signature version {version!r}: only version 1 is supported.")
        for name in ("keyId", "signature"):
            if not params.get(name):
                raise failed(f"The signature is missing its '{name}' parameter.")
        if params.get("algorithm", "rsa-sha256") != "rsa-sha256":
            raise failed(f"Unsupported signature algorithm {params['algorithm']!r}: use rsa-sha256.")
        signed = params.get("headers", "date").lower().split()
        required = BODY_HEADERS if method.upper() in BODY_METHODS else GET_HEADERS
        for name in required:
            if name == "date" and "date" not in signed and "x-date" in signed:
                continue  # x-date may stand in for date (clients that cannot set date)
            if name not in signed:
                raise failed(f"The signature must cover the '{name}' header; it covers: {' '.join(signed)}.")
        lines = []
        for name in signed:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {target}")
                continue
            value = headers.get(name)
            if value is None:
                raise failed(f"Header '{name}' is signed but missing from the request.")
            lines.append(f"{name}: {value}")
        self._check_date(headers.get("x-date") or headers.get("date", ""))
        if method.upper() in BODY_METHODS:
            _check_body(headers, body)
        key, public = self._key(params["keyId"])
        try:
            signature = base64.b64decode(params["signature"], validate=True)
            public.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            raise failed("The signature does not verify with the key named by keyId.") from None
        return key

    def _check_date(self, value: str) -> None:
        try:
            sent = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            raise failed(f"The date header {value!r} is not an RFC 1123 date.") from None
        skew = abs(self.clock() - sent)
        if skew > self.max_skew_s:
            raise failed(
                f"The date header is {int(skew)} s away from the server's clock; at most "
                f"{int(self.max_skew_s)} s is allowed."
            )

    def _key(self, key_id: str) -> tuple[IamKey, rsa.RSAPublicKey]:
        if key_id.startswith(TOKEN_PREFIX):
            expiry = token_expiry(key_id[len(TOKEN_PREFIX) :])
            if expiry is not None and expiry < self.clock():
                raise failed("The security token has expired.")
        elif key_id.count("/") != 2:
            raise failed("keyId must be '<tenancy OCID>/<user OCID>/<fingerprint>' or 'ST$<security token>'.")
        found = self._keys.get(key_id)
        if found is None:
            raise failed("No key is known for this keyId.")
        return found


def _check_body(headers: Mapping[str, str], body: bytes) -> None:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if headers.get("x-content-sha256") != digest:
        raise failed("x-content-sha256 does not match the SHA-256 of the request body.")
    if headers.get("content-length") != str(len(body)):
        raise failed("content-length does not match the length of the request body.")


def parse_authorization(value: str) -> dict[str, str]:
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature":
        raise failed("The Authorization header is missing or is not an OCI request signature.")
    return dict(_PARAM.findall(rest))


def make_security_token(subject: str, *, expires_at: float) -> str:
    """A JWT-shaped, unsigned security token for the emulator (register ``"ST$" + token`` as an IamKey)."""

    def encode(part: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode({'sub': subject, 'exp': int(expires_at)})}.emulator"


def request_target(request: Request) -> str:
    """The path and query string exactly as the client sent them, for ``(request-target)``."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) and raw_path else request.path
    query: bytes = request.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path
