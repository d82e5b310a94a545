"""``GET /openapi.json``: the gateway's own API as an OpenAPI 3.1 document.

The document is data, ``openapi.yaml`` beside this module, read and rendered as JSON once, on the first request
(no cost at start-up). It needs no key, like ``/healthz``: ``GatewayAuth`` guards only ``/v1`` and ``/admin``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

from ocigate.core.asgi import Request, Response

DOCUMENT = Path(__file__).with_name("openapi.yaml")


@cache
def openapi_document() -> dict[str, Any]:
    import yaml  # here, on the first request for the document: the gateway needs PyYAML for nothing else

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML was built with it
    document: dict[str, Any] = yaml.load(DOCUMENT.read_text(encoding="utf-8"), Loader=loader)
    return document


@cache
def _rendered() -> bytes:
    return orjson.dumps(openapi_document())


async def openapi_json(request: Request) -> Response:
    return Response(_rendered(), 200, [(b"content-type", b"application/json"), (b"cache-control", b"no-cache")])
