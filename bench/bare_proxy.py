"""A bare pass-through proxy: the floor any Python gateway on uvicorn + aiohttp can reach.

A raw ASGI app on uvicorn (httptools, uvloop) that forwards the request body to the upstream with one pooled
``aiohttp.ClientSession`` and returns the upstream bytes as received. It parses nothing: no JSON, no
validation, no routing beyond a prefix swap, no logging. An upstream answer of type ``text/event-stream`` is
relayed chunk by chunk as it arrives; any other answer is read whole and returned with its length.

    python bench/bare_proxy.py --port 9000 --upstream http://127.0.0.1:9001/20231130/actions/v1 --key sk-...

``/v1/<rest>`` goes to ``<upstream>/<rest>``; ``GET /healthz`` answers 200 once the pool is open.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HEALTH = b'{"status":"ok"}'
_JSON = (b"content-type", b"application/json")


class BareProxy:
    def __init__(self, upstream: str, key: str) -> None:
        self._upstream = upstream.rstrip("/")
        self._headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30),
                    skip_auto_headers=("User-Agent",),
                )
                await send({"type": "lifespan.startup.complete"})
            else:
                if self._session is not None:
                    await self._session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == "/healthz":
            await _reply(send, 200, _HEALTH, b"application/json")
            return
        if not path.startswith("/v1/") or scope["method"] != "POST" or self._session is None:
            await _reply(send, 404, b'{"error":"not found"}', b"application/json")
            return
        message = await receive()
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):
            parts = [body]
            while message.get("more_body", False):
                message = await receive()
                parts.append(message.get("body", b""))
            body = b"".join(parts)
        url = self._upstream + path[3:]
        async with self._session.post(url, data=body, headers=self._headers) as upstream:
            content_type = upstream.headers.get("Content-Type", "application/json").encode("latin-1")
            if content_type.startswith(b"text/event-stream"):
                await send(
                    {
                        "type": "http.response.start",
                        "status": upstream.status,
                        "headers": [(b"content-type", content_type), (b"cache-control", b"no-cache")],
                    }
                )
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            data = await upstream.read()
        await _reply(send, upstream.status, data, content_type)


async def _reply(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream base URL, e.g. http://h:p/20231130/actions/v1")
    parser.add_argument("--key", required=True, help="the upstream's bearer key")
    args = parser.parse_args()
    uvicorn.run(
        BareProxy(args.upstream, args.key),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
