"""IAM request signing for Oracle's APIs, on Oracle's own ``oci`` SDK signers (doc §2.2).

Usage::

    signer = signer_for(provider_config)       # cheap: nothing is imported or read yet
    await signer.ensure_ready()                 # imports oci, reads the key or federates, in a worker thread
    headers = signer.sign("POST", url, {"content-type": "application/json"}, body)   # the headers to send

The SDK is imported only here and only when a provider signs, so the API-key path starts as fast as before. The
principals (``oci_credentials.py``) are the SDK's signers: ``oci.signer.Signer`` for user principals,
``SecurityTokenSigner`` for session tokens, ``InstancePrincipalsSecurityTokenSigner`` and
``get_resource_principals_signer()``. Token signers are refreshed before their tokens expire, in a worker thread
(instance principals federate over HTTP), and signing holds a lock so that a refresh never tears a signature.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import logging
import operator
import threading
import time
from binascii import b2a_base64
from collections.abc import Callable, Mapping, Sequence
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from ocigate.config.settings import ProviderConfig
from ocigate.core.errors import ProviderUnavailable

log = logging.getLogger("ocigate.providers.oracle.signing")
INSTALL_HINT = "pip install 'ocigate[oci]'"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# A failed refresh (a token that cannot be renewed yet) is not retried more often than this.
REFRESH_BACKOFF_S = 30.0


def oci_installed() -> bool:
    """Whether Oracle's ``oci`` SDK can be imported, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec("oci") is not None
    except (ImportError, ValueError):
        return False


class SignerSetupError(Exception):
    """The principal cannot sign: its message says what to fix."""


class _Prepared:
    """What the SDK's signers read and write of a request (the attributes of a ``requests.PreparedRequest``)."""

    __slots__ = ("method", "url", "headers", "body", "path_url")

    def __init__(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> None:
        parts = urlsplit(url)
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.path_url = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class OciRequestSigner:
    """Signs requests for one provider's principal; thread-safe, one instance per provider."""

    def __init__(self, auth: str, build: Callable[[], Any], *, describe: str, provider: str = "oci") -> None:
        self.auth = auth
        self.provider = provider
        self.describe = describe
        """The principal in words, for hints: "user principal (profile DEFAULT of ~/.oci/config)"."""
        self.clock: Callable[[], float] = time.time
        """The time the ``date`` header states (tests set it to make Oracle see a skewed clock)."""
        self._build = build
        self._credential: Any = None
        self._lock = threading.Lock()
        self._ready_lock: asyncio.Lock | None = None
        self._refreshing: asyncio.Future[None] | None = None
        self._last_refresh = float("-inf")
        self._date_second = -1
        self._date_text = ""
        self._plans: dict[tuple[str, str], _Plan] = {}  # by method and URL

    @property
    def ready(self) -> bool:
        return self._credential is not None

    @property
    def key_id(self) -> str | None:
        """The signature's keyId (a security token shortened), for hints."""
        credential = self._credential
        if credential is None:
            return None
        key_id: str = credential.key_id
        return key_id if not key_id.startswith("ST$") else key_id[:24] + "... (a security token)"

    @property
    def tenancy(self) -> str | None:
        return None if self._credential is None else self._credential.tenancy

    @property
    def region(self) -> str | None:
        return None if self._credential is None else self._credential.region

    @property
    def default_compartment(self) -> str | None:
        """Where requests run when the provider names no compartment: the resource principal's compartment, else
        the tenancy (its root compartment)."""
        credential = self._credential
        return None if credential is None else credential.compartment or credential.tenancy

    def build(self) -> None:
        """Loads the principal (blocking: reads files, may federate over HTTP). Raises :class:`SignerSetupError`."""
        try:
            credential = self._build()
        except SignerSetupError:
            raise
        except Exception as exc:  # noqa: BLE001 - the SDK's and configparser's errors, said once for a person
            raise SignerSetupError(f"Cannot load the {self.describe}: {type(exc).__name__}: {exc}") from exc
        with self._lock:
            self._credential = credential

    async def ensure_ready(self) -> None:
        """Builds the principal once, in a worker thread; a refresh when its token is about to expire."""
        if self._credential is None:
            if self._ready_lock is None:
                self._ready_lock = asyncio.Lock()
            async with self._ready_lock:
                if self._credential is None:
                    try:
                        await asyncio.to_thread(self.build)
                    except SignerSetupError as exc:
                        raise ProviderUnavailable(f"Provider '{self.provider}' cannot sign requests: {exc}") from None
            return
        credential = self._credential
        if credential.stale() and (
            credential.watches_file or time.monotonic() - self._last_refresh > REFRESH_BACKOFF_S
        ):
            try:
                await self.refresh_async()
            except ProviderUnavailable as err:
                # The token in hand may still be good for minutes: sign with it; Oracle's 401 says when it is not.
                log.warning("%s", err.message)

    async def refresh_async(self) -> None:
        """Refreshes in a worker thread; concurrent callers share one refresh."""
        if self._credential is None:
            await self.ensure_ready()
            return
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(asyncio.to_thread(self.refresh))
        try:
            await asyncio.shield(self._refreshing)
        except SignerSetupError as exc:
            raise ProviderUnavailable(f"Provider '{self.provider}' cannot sign requests: {exc}") from None

    def refresh(self) -> None:
        """Reloads keys and tokens (blocking): after a 401, or before a token expires."""
        self._last_refresh = time.monotonic()
        credential = self._credential
        if credential is None:
            self.build()
            return
        try:
            credential.refresh(self._lock)
        except SignerSetupError:
            raise
        except Exception as exc:  # noqa: BLE001 - federation and file errors of the SDK alike
            raise SignerSetupError(f"Refreshing the {self.describe} failed: {type(exc).__name__}: {exc}") from exc

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send: ``headers`` (names lower-cased) plus the signed ones. ``ensure_ready`` first."""
        credential = self._credential
        if credential is None:
            raise ProviderUnavailable(f"The {self.describe} is not loaded yet; retry in a moment.")
        method = method.upper()
        out: dict[str, str] = {}
        for name, value in headers.items():
            out[name.lower()] = value
        out["date"] = self._date()
        with_body = method in BODY_METHODS
        if with_body:
            body = body or b""
            out.setdefault("content-type", "application/json")
            out["content-length"] = str(len(body))  # the SDK sets it for str bodies only
        with self._lock:
            sdk = credential.sdk
            signer = _header_signer(sdk, with_body)
            if signer is None:  # a signer of the SDK's that does more than sign: it signs the request itself
                prepared = _Prepared(method, url, out, body)
                sdk(prepared)
                return prepared.headers
            template, key, names = signer.signature_template, signer._rsa_private, signer.headers
        host, path = _target(url)
        out.setdefault("host", host)
        if with_body and "x-content-sha256" not in out:
            out["x-content-sha256"] = b2a_base64(sha256(body or b"").digest(), newline=False).decode()
        plan = self._plans.get((method, url))
        if plan is None or plan.names is not names or plan.template is not template:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            plan = self._plans[(method, url)] = _Plan(names, template, method, path, host)
        padding, algorithm = _RSA_SHA256 or _rsa_sha256()
        signature = b2a_base64(key.sign(plan.signable(out), padding, algorithm), newline=False).decode()
        out["authorization"] = plan.authorization(signature)
        return out

    def _date(self) -> str:
        """The ``date`` header: RFC 7231's format, made once a second."""
        now = int(self.clock())
        if now != self._date_second:
            self._date_text, self._date_second = email.utils.formatdate(now, usegmt=True), now
        return self._date_text


def canonical_string(names: Sequence[str], headers: Mapping[str, str], method: str, path: str, host: str) -> bytes:
    """The signing string of draft-cavage-http-signatures (§2.3), as Oracle checks it: one ``name: value`` line per
    signed header, in the signature's order; ``(request-target)`` is the method in lower case and the path with its
    query. Raises KeyError for a signed header the request lacks."""
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        elif name == "host":
            lines.append(f"host: {host}")
        else:
            lines.append(f"{name}: {headers[name]}")
    return "\n".join(lines).encode("ascii")


class _Plan:
    """The signing string and the ``authorization`` header of one method and URL under one header signer, made once:
    per request only the values of the signed headers are put in (:func:`canonical_string`'s result, faster)."""

    __slots__ = ("names", "template", "_text", "_values", "_head", "_tail")

    def __init__(self, names: Sequence[str], template: str, method: str, path: str, host: str) -> None:
        self.names = names  # the header signer's own list and template: a refreshed signer gets a new plan
        self.template = template
        lines: list[str] = []
        dynamic: list[str] = []
        for name in names:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {path}".replace("%", "%%"))
            elif name == "host":
                lines.append(f"host: {host}".replace("%", "%%"))
            else:
                lines.append(name.replace("%", "%%") + ": %s")
                dynamic.append(name)
        self._text = "\n".join(lines)
        # One name: itemgetter gives its value alone, which % takes as well as a tuple of one.
        self._values: Callable[[Mapping[str, str]], Any] = operator.itemgetter(*dynamic) if dynamic else _nothing
        head, _, tail = template.partition("%s")
        plain = template.count("%") == 1 and "%s" in template
        self._head: str | None = head if plain else None
        self._tail = tail

    def signable(self, headers: Mapping[str, str]) -> bytes:
        """As :func:`canonical_string`; KeyError for a signed header the request lacks."""
        text: str = self._text % self._values(headers)
        return text.encode("ascii")

    def authorization(self, signature: str) -> str:
        if self._head is None:
            return self.template % signature
        return self._head + signature + self._tail


def _nothing(_: object) -> tuple[()]:
    return ()


_MAX_PLANS = 64  # the URLs a provider signs for are few; a query string may vary
_RSA_SHA256: tuple[Any, Any] | None = None


def _rsa_sha256() -> tuple[Any, Any]:
    """RSASSA-PKCS1-v1_5 with SHA-256 (``rsa-sha256``), made once; imported only when a provider signs."""
    global _RSA_SHA256
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.hashes import SHA256

    _RSA_SHA256 = PKCS1v15(), SHA256()
    return _RSA_SHA256


_TARGETS: dict[str, tuple[str, str]] = {}


def _target(url: str) -> tuple[str, str]:
    """A URL's host (``netloc``) and path with its query, remembered: a provider calls a handful of URLs."""
    found = _TARGETS.get(url)
    if found is None:
        parts = urlsplit(url)
        found = (parts.netloc, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        if len(_TARGETS) < 1024:
            _TARGETS[url] = found
    return found


def _header_signer(sdk: Any, body: bool) -> Any | None:
    """The SDK signer's own header signer for a request (its key, keyId and list of signed headers, as the SDK
    keeps them current), or None when the SDK signer must sign the request itself: a class that adds to the
    request or refreshes its token on every call in ways this module does not know. Instance principals
    (``X509FederationClientBasedSecurityTokenSigner``) re-read their token on every call: done here only when
    the federation client's token changed or is about to expire, which is when the SDK's call would change it."""
    kind: Any = type(sdk)
    mode = _signing_mode(kind)
    if mode is None:
        return None
    if mode == "federated":
        container = getattr(sdk.federation_client, "security_token", None)
        if (
            container is None
            or not container.valid_with_jitter()
            or getattr(sdk, "api_key", None) != f"ST${container.security_token}"
        ):
            sdk._reset_signers()
    signer = getattr(sdk, "_body_signer" if body else "_basic_signer", None)
    if signer is None or not hasattr(signer, "_rsa_private") or not hasattr(signer, "signature_template"):
        return None
    return signer


@functools.cache
def _signing_mode(kind: Any) -> str | None:
    """How an SDK signer class is signed for: ``plain`` (``AbstractBaseSigner``'s own call), ``federated``
    (instance principals' call, which re-reads the token first), or None (the class signs itself)."""
    from oci.auth.signers.security_token_signer import (  # type: ignore[import-untyped]
        X509FederationClientBasedSecurityTokenSigner as Federated,
    )
    from oci.signer import AbstractBaseSigner  # type: ignore[import-untyped]

    sign = getattr(kind, "do_request_sign", None)
    call = next((c.__dict__["__call__"] for c in kind.__mro__ if "__call__" in c.__dict__), None)
    if sign is not AbstractBaseSigner.do_request_sign:
        return None
    if call is AbstractBaseSigner.__call__:
        return "plain"
    return "federated" if call is Federated.__call__ else None


def signer_for(config: ProviderConfig) -> OciRequestSigner:
    """The signer for a provider's ``auth``; nothing is loaded until :meth:`OciRequestSigner.ensure_ready`."""
    from ocigate.providers.oracle import principals as creds

    where = f"profile {config.profile} of {config.config_file}"
    builds: dict[str, tuple[Callable[[], Any], str]] = {
        "user_principal": (lambda: creds.user_principal(config), f"user principal ({where})"),
        "session_token": (lambda: creds.session_token(config), f"session token ({where})"),
        "instance_principal": (lambda: creds.instance_principal(config), "instance principal"),
        "resource_principal": (creds.resource_principal, "resource principal"),
        "oke_workload_identity": (creds.oke_workload_identity, "OKE workload identity"),
    }
    if config.auth not in builds:
        raise ValueError(f"auth {config.auth!r} does not sign requests")
    build, describe = builds[config.auth]
    return OciRequestSigner(config.auth, build, describe=describe, provider=config.name)
