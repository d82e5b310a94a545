"""A forward proxy on loopback for the corporate-network tests: HTTP ``CONNECT`` tunnels and plain-HTTP requests in
absolute form, counted by target, with optional Basic credentials and a host table standing in for the proxy's DNS.

The host table is what makes a test prove that traffic went through the proxy: a provider at ``https://genai.test``
can only be reached by way of a proxy that maps ``genai.test`` to the emulator's loopback address.

Bounded: at most ``max_connections`` at once (more are refused with 503), heads of at most 64 KiB read within
``idle_s``, and a tunnel that carries nothing for ``idle_s`` is closed; :meth:`ForwardProxy.stop` closes everything.

Usage::

    proxy = ForwardProxy(hosts={"genai.test": "127.0.0.1"}, credentials=("alice", "s3cret")).start()
    ...  # HTTPS_PROXY=proxy.url, or proxy: proxy.url_with_credentials
    assert proxy.targets["genai.test:8443"] == 1
    proxy.stop()
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from collections import Counter
from collections.abc import Mapping
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


class ForwardProxy:
    def __init__(
        self,
        *,
        hosts: Mapping[str, str] | None = None,
        credentials: tuple[str, str] | None = None,
        max_connections: int = 64,
        idle_s: float = 20.0,
        stall: bool = False,
    ) -> None:
        """``stall``: read each request's head and never answer (until ``idle_s``), as a proxy that hangs."""
        self.hosts = dict(hosts or {})
        self.credentials = credentials
        self.max_connections = max_connections
        self.idle_s = idle_s
        self.stall = stall
        self.stalled = 0
        self.targets: Counter[str] = Counter()
        """``host:port`` of every connection let through (a CONNECT tunnel or a plain-HTTP connection)."""
        self.methods: Counter[str] = Counter()
        """``CONNECT`` or the plain-HTTP method of each connection's first request."""
        self.refused: Counter[int] = Counter()
        """Connections answered with an error status (407, 502, 503), by status."""
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_with_credentials(self) -> str:
        assert self.credentials is not None
        user, password = self.credentials
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def total(self) -> int:
        return sum(self.targets.values())

    def start(self) -> ForwardProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._open):
            task.cancel()
        await asyncio.gather(*self._open, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._open) >= self.max_connections:
            await self._refuse(writer, 503, "Service Unavailable")
            return
        self._open.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:  # stop(): the connection's task ends quietly
            pass
        finally:
            self._open.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_s)
        if len(head) > MAX_HEAD:
            await self._refuse(writer, 431, "Request Header Fields Too Large")
            return
        if self.stall:
            self.stalled += 1
            await asyncio.sleep(self.idle_s)
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if not self._authorized(headers.get("proxy-authorization", "")):
            await self._refuse(writer, 407, "Proxy Authentication Required", b'Proxy-Authenticate: Basic realm="t"\r\n')
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
        else:
            parts = urlsplit(target)
            host, port = parts.hostname or "", str(parts.port or 80)
            kept = [line for line in lines if not line.lower().startswith("proxy-authorization:")]
            head = "\r\n".join(kept).encode("latin-1")
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(self.hosts.get(host.strip("[]"), host.strip("[]")), int(port)), self.idle_s
            )
        except (OSError, TimeoutError, ValueError):
            await self._refuse(writer, 502, "Bad Gateway")
            return
        self.targets[f"{host}:{port}"] += 1
        self.methods[method] += 1
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream_writer.write(head)
        try:
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        finally:
            upstream_writer.close()

    def _authorized(self, header: str) -> bool:
        if self.credentials is None:
            return True
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        with contextlib.suppress(ValueError):
            return base64.b64decode(value).decode() == ":".join(self.credentials)
        return False

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), self.idle_s)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError):
                if writer.can_write_eof():
                    writer.write_eof()

    async def _refuse(self, writer: asyncio.StreamWriter, status: int, reason: str, extra: bytes = b"") -> None:
        self.refused[status] += 1
        writer.write(f"HTTP/1.1 {status} {reason}\r\n".encode() + extra + b"Content-Length: 0\r\n\r\n")
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()
