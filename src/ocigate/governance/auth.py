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
from ocigate.governance.keys import KeyRecord, is_virtual_key, visible_prefix

if TYPE_CHECKING:
    from ocigate.governance.service import Governance

NO_KEY = "No API key was presented. Send the gateway's key as 'Authorization: Bearer <key>' or 'x-api-key'."
WRONG_KEY = "The API key presented to the gateway is not valid."


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
        self._expected = master_key.encode("utf-8")
        self._governance = governance

    async def __call__(self, request: Request) -> None:
        path = request.path
        admin = path.startswith("/admin")
        if not (admin or path.startswith("/v1")):
            return
        if admin and request.method == "GET" and path in ("/admin", "/admin/"):
            return  # the admin page itself: its script asks for the master key and sends it on every call
        started = time.perf_counter()
        key = presented_key(request)
        record: KeyRecord | None = None
        try:
            if key is None:
                raise AuthenticationFailed(NO_KEY)
            if hmac.compare_digest(key.encode("utf-8"), self._expected):
                return
            if not is_virtual_key(key):
                raise AuthenticationFailed(WRONG_KEY)
            record = await self._governance.cache.authenticate(key)
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
