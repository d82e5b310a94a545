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
import logging
import threading
import time
from collections.abc import Callable, Mapping
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
        out = {name.lower(): value for name, value in headers.items()}
        out["date"] = email.utils.formatdate(self.clock(), usegmt=True)
        if method in BODY_METHODS:
            body = body or b""
            out.setdefault("content-type", "application/json")
            out["content-length"] = str(len(body))  # the SDK sets it for str bodies only
        prepared = _Prepared(method, url, out, body)
        with self._lock:
            credential.sdk(prepared)
        return prepared.headers


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
