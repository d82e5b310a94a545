"""A lean ASGI layer: request, responses and a routing table.

Why not Starlette: on the benchmark's pass-through path (one core, 32 connections) Starlette's request and
response objects cost 15-20 % of throughput, measured against this layer (docs/dependencies.md). The gateway
needs little of it: exact paths, one path parameter, JSON bodies and server-sent events. Both the gateway and
the emulator build on this module.

Usage::

    router = Router()
    router.add("GET", "/healthz", healthz)          # async def healthz(req) -> Response
    router.add_prefix("GET", "/v1/models/", model)  # req.path_tail holds what follows the prefix
    app = router.asgi(prepare=auth, answered=access_log.answer)  # an ASGI callable

The edge is where every answer is made safe: a :class:`GatewayError` raised anywhere becomes OpenAI's error
envelope, and any other exception becomes a 500 in the same envelope carrying the request's id, its traceback
logged once (``unexpected``); a stream that fails after its first byte ends with an SSE error event instead of a
cut connection where its handler gave it ``on_error`` (every model stream does). ``answered`` sees every request
once its answer is complete (the access log).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from ocigate.core.errors import GatewayError, MethodNotAllowed, NotFound, PayloadTooLarge
from ocigate.core.ids import next_id
from ocigate.core.notes import AccessNote

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_HEADERS: Headers = [(b"content-type", b"application/json")]
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
DEFAULT_MAX_BODY = 32 * 1024 * 1024
log = logging.getLogger("ocigate.core.asgi")


class Request:
    """One HTTP request. Headers are decoded lazily and only once. ``note`` is what the request's handler learnt
    for its access line (model, deployment, attempts...); ``failure`` the error it was answered with."""

    __slots__ = (
        "scope",
        "receive",
        "method",
        "path",
        "path_tail",
        "state",
        "note",
        "failure",
        "started",
        "_id",
        "_headers",
        "_body",
        "max_body",
    )

    def __init__(self, scope: Scope, receive: Receive, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.path_tail = ""
        self.state: dict[str, Any] = {}
        self.note: AccessNote | None = None
        self.failure: GatewayError | None = None
        self.started = time.perf_counter()
        self._id: str | None = None
        self._headers: dict[str, str] | None = None
        self._body: bytes | None = None
        self.max_body = max_body

    @property
    def id(self) -> str:
        """The request's id: ``x-request-id``, the access line, the usage record and the audit row."""
        if self._id is None:
            self._id = next_id()
        return self._id

    @property
    def raw_body(self) -> bytes | None:
        """The body once read (None before): for the audit log, which must not read it again."""
        return self._body

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope["headers"]}
        return self._headers

    @property
    def query(self) -> dict[str, list[str]]:
        raw: bytes = self.scope.get("query_string", b"")
        return parse_qs(raw.decode("latin-1")) if raw else {}

    @property
    def client_host(self) -> str:
        client = self.scope.get("client")
        return str(client[0]) if client else ""

    async def body(self) -> bytes:
        if self._body is None:
            message = await self.receive()
            chunk: bytes = message.get("body", b"")
            if not message.get("more_body", False):
                self._body = chunk
            else:
                parts = [chunk]
                size = len(chunk)
                while message.get("more_body", False):
                    message = await self.receive()
                    part: bytes = message.get("body", b"")
                    size += len(part)
                    if size > self.max_body:
                        raise PayloadTooLarge(f"Request body is larger than {self.max_body} bytes.")
                    parts.append(part)
                self._body = b"".join(parts)
            if len(self._body) > self.max_body:
                raise PayloadTooLarge(f"Request body is larger than {self.max_body} bytes.")
        return self._body


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, body: bytes, status: int = 200, headers: Headers | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else JSON_HEADERS

    async def send(self, send: Send, receive: Receive) -> None:
        # With a content-length, uvicorn sends the body as is instead of in chunked encoding.
        headers = [*self.headers, (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def json_response(obj: object, status: int = 200, headers: Headers | None = None) -> Response:
    extra = headers or []
    return Response(orjson.dumps(obj), status, [*JSON_HEADERS, *extra])


ErrorFormat = Callable[[GatewayError, str | None], tuple[int, bytes]]
"""A route's own error envelope: its status and body for an error (Anthropic's for the Messages API)."""


def error_response(err: GatewayError, request_id: str | None = None, form: ErrorFormat | None = None) -> Response:
    headers = [*JSON_HEADERS, *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items())]
    if request_id is not None and "x-request-id" not in err.headers:
        headers.append((b"x-request-id", request_id.encode()))
    if form is not None:
        status, body = form(err, request_id or err.headers.get("x-request-id"))
        return Response(body, status, headers)
    return Response(err.to_json(), err.status, headers)


def unexpected(exc: BaseException, request_id: str) -> GatewayError:
    """The 500 a client gets for an exception nobody expected; its traceback is logged here, once."""
    log.error("request %s failed unexpectedly", request_id, exc_info=(type(exc), exc, exc.__traceback__))
    return GatewayError(
        f"The gateway failed unexpectedly while answering this request (request id {request_id}); the error is "
        "in its log under that id.",
        code="internal_error",
        headers={"x-request-id": request_id},
    )


class StreamingResponse:
    """Sends chunks as the iterator yields them; nothing is buffered.

    ``on_error`` turns an exception raised after the first byte into a last chunk (an SSE error event), so a
    client sees a well-formed end of stream instead of a cut connection. ``on_abandon`` runs when the iterator
    was never started (the client left before the response began): a generator that never ran cannot run its
    own ``finally``, so this is where the upstream is closed and the request recorded.
    """

    __slots__ = ("chunks", "status", "headers", "on_error", "on_abandon")

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        status: int = 200,
        headers: Headers | None = None,
        on_error: Callable[[BaseException], bytes] | None = None,
        on_abandon: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.chunks = chunks
        self.status = status
        self.headers = headers if headers is not None else SSE_HEADERS
        self.on_error = on_error
        self.on_abandon = on_abandon

    async def send(self, send: Send, receive: Receive) -> None:
        """Streams until the iterator ends, or until the client disconnects: then the iterator is closed at
        once, so that the upstream stops generating (and billing) for nobody.

        uvicorn's ``send`` returns silently once the client is gone, so a watcher task waits for
        ``http.disconnect`` and cancels this task. It can only run while this task is suspended inside
        ``_pump``, and it is cancelled before ``send`` returns, so it cannot cancel anything after."""
        task = asyncio.current_task()
        assert task is not None
        gone = False

        async def watch() -> None:
            nonlocal gone
            await _wait_for_disconnect(receive)
            gone = True
            task.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await self._pump(send)
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()
        finally:
            watcher.cancel()

    async def _pump(self, send: Send) -> None:
        began = False
        try:
            await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
            began = True
            async for chunk in self.chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception as exc:  # noqa: BLE001 - the stream must end well-formed whatever failed
            if self.on_error is None:
                raise
            await send({"type": "http.response.body", "body": self.on_error(exc), "more_body": True})
        finally:
            aclose = getattr(self.chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            if not began and self.on_abandon is not None:
                await self.on_abandon()
        await send({"type": "http.response.body", "body": b""})


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


AnyResponse = Response | StreamingResponse
Handler = Callable[[Request], Awaitable[AnyResponse]]


class Router:
    """Exact paths and path prefixes, matched by a dict lookup first (the hot path) and then prefixes."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, Handler]] = {}
        self._prefixes: list[tuple[str, dict[str, Handler]]] = []
        self._formats: dict[str, ErrorFormat] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        self._exact.setdefault(path, {})[method] = handler

    def add_error_format(self, path: str, form: ErrorFormat) -> None:
        """The path's own error envelope, for every error answered on it (authentication included); OpenAI's
        elsewhere."""
        self._formats[path] = form

    def error_format(self, path: str) -> ErrorFormat | None:
        formats = self._formats
        return (formats.get(path) or formats.get(path.rstrip("/"))) if formats else None

    def add_prefix(self, method: str, prefix: str, handler: Handler) -> None:
        for existing, methods in self._prefixes:
            if existing == prefix:
                methods[method] = handler
                return
        self._prefixes.append((prefix, {method: handler}))
        self._prefixes.sort(key=lambda item: -len(item[0]))

    def resolve(self, request: Request) -> Handler:
        path = request.path
        methods = self._exact.get(path)
        if methods is None and len(path) > 1 and path.endswith("/"):
            methods = self._exact.get(path.rstrip("/"))
        if methods is None:
            for prefix, candidates in self._prefixes:
                if path.startswith(prefix) and len(path) > len(prefix):
                    request.path_tail = path[len(prefix) :]
                    methods = candidates
                    break
        if methods is None:
            raise NotFound(f"No route for {request.method} {path}.", code="unknown_url")
        handler = methods.get(request.method)
        if handler is None:
            if request.method == "HEAD" and "GET" in methods:
                return methods["GET"]
            allowed = ", ".join(sorted(methods))
            raise MethodNotAllowed(f"{request.method} is not allowed on {path}; use {allowed}.")
        return handler

    def asgi(
        self,
        *,
        prepare: Callable[[Request], Awaitable[None]] | None = None,
        lifespan: Callable[[str], Awaitable[None]] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        answered: Callable[[Request, int], None] | None = None,
        catch_all: bool = True,
    ) -> ASGIApp:
        """The ASGI callable. ``prepare`` runs before every handler (authentication); a :class:`GatewayError`
        from it or from a handler becomes an OpenAI-style error response, any other exception a 500 (see the
        module docstring). ``lifespan`` receives "startup" and "shutdown"; ``answered`` every request, with the
        status of its answer, once the answer was sent. ``catch_all=False`` lets an unexpected exception through
        to the server, which drops the connection: the emulator's fault injection needs exactly that."""
        resolve = self.resolve

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            kind = scope["type"]
            if kind == "http":
                request = Request(scope, receive, max_body)
                try:
                    handler = resolve(request)
                    if prepare is not None:
                        await prepare(request)
                    response = await handler(request)
                    if request.note is None:  # model routes name the request themselves, with who served it
                        response.headers = [*response.headers, (b"x-request-id", request.id.encode())]
                except GatewayError as err:
                    request.failure = err
                    response = error_response(err, request.id, self.error_format(request.path))
                except Exception as exc:  # noqa: BLE001 - the edge: whatever failed, the client gets the envelope
                    if not catch_all:
                        raise
                    failure = request.failure = unexpected(exc, request.id)
                    response = error_response(failure, None, self.error_format(request.path))
                await response.send(send, receive)
                if answered is not None:
                    note = request.note
                    answered(request, note.status if note is not None and note.status else response.status)
            elif kind == "lifespan":
                await _run_lifespan(receive, send, lifespan)

        return app


def stream_failure(exc: BaseException, request_id: str) -> GatewayError:
    """The error a stream ends with: the gateway's own, or an unexpected one logged once."""
    return exc if isinstance(exc, GatewayError) else unexpected(exc, request_id)


async def _run_lifespan(receive: Receive, send: Send, hook: Callable[[str], Awaitable[None]] | None) -> None:
    while True:
        message = await receive()
        phase = "startup" if message["type"] == "lifespan.startup" else "shutdown"
        try:
            if hook is not None:
                await hook(phase)
        except Exception as exc:
            await send({"type": f"lifespan.{phase}.failed", "message": str(exc)})
            if phase == "startup":
                return
            raise
        await send({"type": f"lifespan.{phase}.complete"})
        if phase == "shutdown":
            return
