"""One function invocation driven through the gateway's ASGI application, in process.

OCI Functions calls the function once per HTTP request that API Gateway received; there is no server socket of
the gateway's own. :class:`AsgiBridge` turns an :class:`Invocation` (method, URL, headers and body, as the FDK
hands them over) into an ASGI ``http`` scope, runs the application the server would run (``create_app``: the
same edge, authentication and pipeline), and collects the answer. The application's lifespan is started once,
at the container's first invocation (the cold start), and kept for the next ones; :meth:`AsgiBridge.close` runs
its shutdown.

Functions answers are not streamed: a stream's events are collected and returned whole, as one
``text/event-stream`` body (the SDKs parse it as they parse a live stream). Nothing here imports the FDK.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ocigate.core.asgi import ASGIApp, Headers, Message, Scope

HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding", "host"})
"""Headers the FDK and API Gateway set themselves on either side; the application's are dropped."""


@dataclass(frozen=True, slots=True)
class Invocation:
    method: str
    url: str
    """``Fn-Http-Request-Url``: a path with its query, or a full URL."""
    headers: Headers
    body: bytes


@dataclass(slots=True)
class Answer:
    status: int = 500
    headers: Headers = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    def header_map(self) -> dict[str, str]:
        """The headers as one value per name (repeated ones joined with ", "), hop-by-hop ones left out."""
        found: dict[str, str] = {}
        for raw_name, raw_value in self.headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name not in HOP_BY_HOP:
                found[name] = f"{found[name]}, {value}" if name in found else value
        return found


def split_url(url: str, prefix: str = "") -> tuple[str, bytes, bytes]:
    """The ASGI ``path``, ``raw_path`` and ``query_string`` of a request URL; ``prefix`` (the API Gateway
    deployment's path prefix) is taken off the path when the path starts with it."""
    parts = urlsplit(url or "/")
    raw = parts.path or "/"
    if prefix and (raw == prefix or raw.startswith(prefix + "/")):
        raw = raw[len(prefix) :] or "/"
    if not raw.startswith("/"):
        raw = "/" + raw
    return unquote(raw), raw.encode("latin-1", "replace"), parts.query.encode("latin-1", "replace")


class AsgiBridge:
    """An ASGI application, started once and called once per invocation."""

    def __init__(self, app: ASGIApp, *, path_prefix: str = "") -> None:
        self._app = app
        self._prefix = path_prefix
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Runs the lifespan's startup; raises ``RuntimeError`` with the application's message if it failed."""
        if self._lifespan is not None:
            return
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._lifespan = asyncio.ensure_future(self._app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(str(reply.get("message") or "the gateway did not start"))

    async def close(self) -> None:
        """Runs the lifespan's shutdown (usage and audit flushed, connections closed)."""
        task, self._lifespan = self._lifespan, None
        if task is None or task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        with contextlib.suppress(Exception):
            await self._outbox.get()
            await task

    async def call(self, invocation: Invocation) -> Answer:
        """The application's whole answer to one request."""
        path, raw_path, query = split_url(invocation.url, self._prefix)
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": invocation.method.upper() or "POST",
            "scheme": "https",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": invocation.headers,
            "client": None,  # API Gateway's address says nothing about the caller
            "server": None,
        }
        answer = Answer()
        done = asyncio.Event()
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": invocation.body, "more_body": False}
            await done.wait()  # the client is there until the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = int(message["status"])
                answer.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")
                if not message.get("more_body", False):
                    done.set()

        try:
            await self._app(scope, receive, send)
        finally:
            done.set()
        return answer
