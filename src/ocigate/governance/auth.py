"""Who may call the gateway: the master key, when one is set."""

from __future__ import annotations

import hmac

from ocigate.core.asgi import Request
from ocigate.core.errors import AuthenticationFailed


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


class MasterKeyAuth:
    """Requires the master key on every ``/v1`` request."""

    def __init__(self, master_key: str) -> None:
        self._expected = master_key.encode("utf-8")

    async def __call__(self, request: Request) -> None:
        if not request.path.startswith("/v1"):
            return
        key = presented_key(request)
        if key is None:
            raise AuthenticationFailed(
                "No API key was presented. Send the gateway's key as 'Authorization: Bearer <key>' or 'x-api-key'."
            )
        if not hmac.compare_digest(key.encode("utf-8"), self._expected):
            raise AuthenticationFailed("The API key presented to the gateway is not valid.")
