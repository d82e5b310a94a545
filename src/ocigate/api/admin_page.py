"""``GET /admin``: the admin page, and the files it loads (``GET /admin?asset=admin.js``).

The page is static: HTML, CSS and scripts in ``admin_static/``, with Chart.js vendored there (the page must work
inside a private network, so nothing comes from a CDN). Its script asks for the master key, keeps it in the
tab's ``sessionStorage`` and sends it as ``Authorization: Bearer`` on every ``/admin`` API call.

Why the assets ride on the page's own URL: :class:`~ocigate.governance.service.GatewayAuth` lets only ``GET /admin``
and ``GET /admin/`` through without a key (every other ``/admin`` path is the API and needs the master key),
and a browser loading ``<script src>`` cannot send one. The page refers to its files as ``?asset=NAME``, which
also keeps it working behind a proxy that mounts the gateway under a path prefix.

The HTML goes out with a strict Content-Security-Policy (scripts and styles from this origin only, no inline
script, no framing) and ``cache-control: no-store``; the assets with an ETag, revalidated on every load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ocigate.core.asgi import Headers, Request, Response
from ocigate.core.errors import NotFound

STATIC_DIR = Path(__file__).with_name("admin_static")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

_COMMON: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
PAGE_HEADERS: Headers = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
    *_COMMON,
]

ASSETS: dict[str, str] = {
    "admin.css": "text/css; charset=utf-8",
    "chart.umd.min.js": "text/javascript; charset=utf-8",
    "core.js": "text/javascript; charset=utf-8",
    "usage.js": "text/javascript; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "deployments.js": "text/javascript; charset=utf-8",
    "main.js": "text/javascript; charset=utf-8",
}
"""The files the page may load, by name: nothing else in the folder is served."""


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    etag: bytes


@cache
def _asset(name: str) -> _Asset:
    body = (STATIC_DIR / name).read_bytes()
    return _Asset(body, b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"')


@cache
def _page() -> bytes:
    return (STATIC_DIR / "index.html").read_bytes()


async def admin_page(request: Request) -> Response:
    """The page, or with ``?asset=NAME`` one of its files."""
    wanted = request.query.get("asset")
    if wanted:
        return _serve_asset(request, wanted[0])
    return Response(_page(), 200, PAGE_HEADERS)


def _serve_asset(request: Request, name: str) -> Response:
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"The admin page has no file named '{name}'.", code="unknown_asset")
    asset = _asset(name)
    headers: Headers = [
        (b"content-type", content_type.encode()),
        (b"cache-control", b"no-cache"),
        (b"etag", asset.etag),
        *_COMMON,
    ]
    if request.headers.get("if-none-match", "").encode() == asset.etag:
        return Response(b"", 304, headers)
    return Response(asset.body, 200, headers)
