"""Who may call the gateway: the master key, and the virtual keys when governance is on.

:class:`GatewayAuth` accepts the master key or an active virtual key on ``/v1`` (the key's record goes in
``request.state["key"]``) and the master key only on ``/admin``. With the audit log on, each refusal (401 at
authentication, 403 on ``/admin`` for a team key) is an audit row (:meth:`Governance.audit_refusal`): the client's
address, method, path and status, and the key when a virtual key was presented (its id and visible prefix; never
its secret, and nothing at all of any other key).
"""

from __future__ import annotations

import contextlib
import hmac
import time
from typing import TYPE_CHECKING

from ocigate.core.asgi import Request
from ocigate.core.errors import AuthenticationFailed, GatewayError
from ocigate.governance.keys import MISSING, KeyRecord, active, is_virtual_key, visible_prefix

if TYPE_CHECKING:
    from ocigate.governance.service import Governance

NO_KEY = "No API key was presented. Send the gateway's key as 'Authorization: Bearer <key>' or 'x-api-key'."
WRONG_KEY = "The API key presented to the gateway is not valid."
KEYS_EXIST = " This gateway has team keys: present yours (an ogk-... key)."


def presented_key(request: Request) -> str | None:
    """The key a client sent, as ``Authorization: Bearer`` (OpenAI SDKs, VS Code, Postman) or ``x-api-key``."""
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = headers.get("x-api-key") or headers.get("api-key")
    return key.strip() if key else None


class GatewayAuth:
    """``/v1``: the master key or an active virtual key; ``/admin``: the master key only."""

    def __init__(self, master_key: str, governance: Governance) -> None:
        """``master_key`` empty: a gateway without one (loopback only). A team key presented to it is still
        checked and enforced (revocation, allowed models, limits, usage under its name), and once any team key
        exists every request must present one: keys never silently stop meaning something."""
        self._expected = master_key.encode("utf-8")
        self._open = not master_key
        self._governance = governance

    async def __call__(self, request: Request) -> None:
        path = request.path
        admin = path.startswith("/admin")
        if not (admin or path.startswith("/v1")):
            return
        if admin and (self._open or (request.method == "GET" and path in ("/admin", "/admin/"))):
            return  # no admin API without a master key; the admin page's script sends the key on every call
        started = time.perf_counter()
        key = presented_key(request)
        record: KeyRecord | None = None
        try:
            if self._open and not (key is not None and is_virtual_key(key)):
                if await self._governance.keys_required():
                    raise AuthenticationFailed((NO_KEY if key is None else WRONG_KEY) + KEYS_EXIST)
                return
            if key is None:
                raise AuthenticationFailed(NO_KEY)
            if not self._open and hmac.compare_digest(key.encode("utf-8"), self._expected):
                return
            if not is_virtual_key(key):
                raise AuthenticationFailed(WRONG_KEY)
            cache = self._governance.cache
            found = cache.cached(key)  # a key in use is in the cache: no coroutine to await
            record = active(found if found is not MISSING else await cache.read(key))
            if admin:
                raise GatewayError(
                    f"The key {record.display} is a team key; the admin API needs the gateway's master key.",
                    status=403,
                    type="permission_error",
                    code="master_key_required",
                )
        except GatewayError as err:
            await self._refused(request, err, key, record, started)
            raise
        request.state["key"] = record

    async def _refused(
        self, request: Request, error: GatewayError, key: str | None, record: KeyRecord | None, started: float
    ) -> None:
        governance = self._governance
        if governance.audit is None:
            return
        prefix = None
        if key is not None and is_virtual_key(key):
            prefix = visible_prefix(key)
            if record is None:
                # A revoked or expired key: authentication just read it, so this is the cache's answer. Should
                # the store fail, the row still names the key by its prefix.
                with contextlib.suppress(Exception):
                    record = await governance.cache.lookup(key)
        governance.audit_refusal(request, error, (time.perf_counter() - started) * 1000, record, prefix)
