"""The key a client presented: the master key or a virtual key, checked by ``service.GatewayAuth``."""

from __future__ import annotations

from ocigate.core.asgi import Request


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
