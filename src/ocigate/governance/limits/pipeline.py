"""One Redis connection on which every limit script call is pipelined: what the request path uses.

redis-py costs 50-150 µs of event-loop time per call (a pooled connection checked out and back, a timeout
wrapper, its observability hooks), measured on the project's machine; at 32 concurrent requests the two calls
of an admission and its settlement cost about 240 µs a request, as much as the rest of the gateway. Here calls
made while others are in flight are written together in one ``write`` and their replies read back in order
by one protocol object, as ioredis and Lettuce do ("auto-pipelining"): about 10 µs a call. Only the commands
the limits need go this way (``EVALSHA``, ``SCRIPT LOAD``); everything else uses redis-py.

Usage::

    pipe = ScriptPipeline.for_client(redis)        # None when the client's connection is not plain TCP/TLS/Unix
    reply = await pipe.evalsha(sha, script, keys, args)
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from redis.asyncio import Redis

Reply = Any  # int | bytes | list[Reply] | None


class RedisReplyError(Exception):
    """An error reply (``-ERR …``, ``-NOSCRIPT …``)."""


def encode(args: Sequence[bytes | str | int]) -> bytes:
    """A command in RESP. The request path's arguments are ASCII text and numbers: one string, one encode."""
    parts = [f"*{len(args)}\r\n"]
    for arg in args:
        text = arg if type(arg) is str else str(arg)
        if type(arg) is bytes or not text.isascii():
            return _encode_bytes(args)
        parts.append(f"${len(text)}\r\n{text}\r\n")
    return "".join(parts).encode()


def _encode_bytes(args: Sequence[bytes | str | int]) -> bytes:
    out = bytearray(b"*%d\r\n" % len(args))
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return bytes(out)


class _Incomplete(Exception):
    pass


def _parse(buf: bytearray, pos: int) -> tuple[Reply, int]:
    """One RESP2 reply from ``buf`` at ``pos``: the value and where the next reply starts."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line = buf[pos], bytes(buf[pos + 1 : end])
    pos = end + 2
    if kind == 58:  # ':' integer
        return int(line), pos
    if kind == 36:  # '$' bulk string
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == 42:  # '*' array
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == 43:  # '+' simple string
        return line, pos
    if kind == 45:  # '-' error
        return RedisReplyError(line.decode(errors="replace")), pos
    raise ConnectionError(f"unexpected reply from Redis: {bytes(buf[pos - 2 - len(line) - 1 : pos])!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self, reply_timeout_s: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: deque[asyncio.Future[Reply]] = deque()
        self.out: list[bytes] = []
        self.flushing = False
        self.lost: BaseException | None = None
        self._buf = bytearray()
        self._timeout = reply_timeout_s
        self._waiting_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though not always a subclass of asyncio.Transport (uvloop's TCPTransport is not).
        self.transport = cast(asyncio.Transport, transport)
        asyncio.get_running_loop().call_later(self._timeout / 2, self._watch)

    def send(self, command: bytes) -> asyncio.Future[Reply]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reply] = loop.create_future()
        if not self.waiters:
            self._waiting_since = loop.time()
        self.waiters.append(waiter)
        self.out.append(command)
        if not self.flushing:
            self.flushing = True
            loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        self.flushing = False
        out, self.out = self.out, []
        if self.transport is not None and self.lost is None:
            self.transport.write(b"".join(out))

    def _watch(self) -> None:
        """Drops a connection on which Redis has not answered for ``reply_timeout_s``: its callers get an
        error (and the limiter fails open or closed) instead of waiting for ever."""
        if self.lost is not None or self.transport is None:
            return
        loop = asyncio.get_running_loop()
        if self.waiters and loop.time() - self._waiting_since > self._timeout:
            self.transport.abort()
            return
        loop.call_later(self._timeout / 2, self._watch)

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        try:
            while pos < len(buf):
                reply, pos = _parse(buf, pos)
                waiter = self.waiters.popleft()
                if waiter.done():  # its caller was cancelled; the reply is read all the same
                    continue
                if isinstance(reply, RedisReplyError):
                    waiter.set_exception(reply)
                else:
                    waiter.set_result(reply)
        except _Incomplete:
            pass
        except (ConnectionError, ValueError, IndexError) as exc:
            self._fail(ConnectionError(f"cannot read Redis' reply: {exc}"))
            if self.transport is not None:
                self.transport.abort()
            return
        del buf[:pos]
        self._waiting_since = asyncio.get_running_loop().time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("Redis closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        self.lost = exc
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError(str(exc) or repr(exc)))


class ScriptPipeline:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        connect_timeout_s: float = 5.0,
        reply_timeout_s: float = 5.0,
    ) -> None:
        self._target = (host, port, path, tls)
        self._hello: list[bytes] = []
        if password:
            self._hello.append(encode(["AUTH", *([username] if username else []), password]))
        if db:
            self._hello.append(encode(["SELECT", db]))
        self._connect_timeout = connect_timeout_s
        self._reply_timeout = reply_timeout_s
        self._protocol: _Protocol | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0

    @classmethod
    def for_client(cls, redis: Redis) -> ScriptPipeline | None:
        """A pipeline to the server a redis-py client talks to, with its credentials and database; None for
        connection kinds it does not speak (Sentinel, Cluster, custom classes)."""
        from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection

        pool = redis.connection_pool
        kwargs = pool.connection_kwargs
        db, user, password = int(kwargs.get("db") or 0), kwargs.get("username"), kwargs.get("password")
        host, port = kwargs.get("host", "localhost"), int(kwargs.get("port", 6379))
        if pool.connection_class is SSLConnection:
            context = ssl.create_default_context(cafile=kwargs.get("ssl_ca_certs"))
            if kwargs.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            return cls(host=host, port=port, db=db, username=user, password=password, tls=context)
        if pool.connection_class is Connection:
            return cls(host=host, port=port, db=db, username=user, password=password)
        if pool.connection_class is UnixDomainSocketConnection:
            return cls(path=kwargs["path"], db=db, username=user, password=password)
        return None

    async def call(self, *args: bytes | str | int) -> Reply:
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connect()
        return await protocol.send(encode(args))

    async def evalsha(self, sha: str, script: str, keys: Sequence[str], args: Sequence[str | int]) -> Reply:
        """Runs a script by its SHA, loading it first if Redis does not know it (a restart, a failover)."""
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.call("SCRIPT", "LOAD", script)
        return await self.call("EVALSHA", sha, len(keys), *keys, *args)

    async def _connect(self) -> _Protocol:
        async with self._lock:
            if self._protocol is not None and self._protocol.lost is None:
                return self._protocol
            loop = asyncio.get_running_loop()
            if loop.time() < self._retry_at:
                # Redis was unreachable a moment ago: fail at once rather than make every request wait to connect.
                raise ConnectionError("Redis was unreachable less than a second ago")
            host, port, path, tls = self._target
            try:
                if path is not None:
                    opening = loop.create_unix_connection(lambda: _Protocol(self._reply_timeout), path)
                else:
                    opening = loop.create_connection(lambda: _Protocol(self._reply_timeout), host, port, ssl=tls)
                transport, protocol = await asyncio.wait_for(opening, self._connect_timeout)
                try:
                    for hello in self._hello:
                        await asyncio.wait_for(protocol.send(hello), self._reply_timeout)
                except BaseException:
                    transport.close()
                    raise
            except (OSError, TimeoutError, RedisReplyError) as exc:
                self._retry_at = loop.time() + 1.0
                raise ConnectionError(f"cannot connect to Redis: {exc!r}") from exc
            self._protocol = protocol  # only now: no command may overtake the hello
            return protocol

    async def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
