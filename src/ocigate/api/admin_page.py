"""``GET /admin``: the admin page (placeholder until the page lands)."""

from __future__ import annotations

from ocigate.asgi import Request, Response


async def admin_page(request: Request) -> Response:
    return Response(
        b"<!doctype html><title>ocigate admin</title>", 200, [(b"content-type", b"text/html; charset=utf-8")]
    )
