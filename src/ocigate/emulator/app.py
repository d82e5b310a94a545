"""The emulator's ASGI app: Oracle's OpenAI-compatible inference paths for one region, plus its test controls.

Usage::

    app = create_emulator_app(EmulatorConfig(region="us-ashburn-1"))
    uvicorn.run(app, host="127.0.0.1", port=8081)
"""

from __future__ import annotations

import asyncio

from ocigate.core.asgi import ASGIApp, Handler, Message, Receive, Request, Response, Router, Scope, Send, json_response
from ocigate.emulator import admin, native_routes
from ocigate.emulator.chat import chat_handler
from ocigate.emulator.config import EmulatorConfig
from ocigate.emulator.context import Context
from ocigate.emulator.errors import OracleError, not_found
from ocigate.emulator.faults import ConnectionDropped, StreamCut
from ocigate.emulator.responses import responses_handler

# The older base needs no project; the current one wants an OpenAI-Project header (doc §1.3, §2.1).
BASES: tuple[tuple[str, bool], ...] = (("/20231130/actions/v1", False), ("/openai/v1", True))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REQUEST_ID = b"opc-request-id"
_TRACE_CONTEXT = (b"traceparent", b"tracestate")
"""Recorded by the harness (``/_emulator/traces``), so that tests see the trace context the gateway sent."""


async def _models(request: Request) -> Response:
    # Oracle has no model listing on the API-key path: there is no such resource, with or without a project.
    raise not_found()


async def _healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _unknown_path(request: Request) -> Response:
    raise not_found()


def _method_not_allowed(allowed: list[str]) -> Handler:
    message = f"Method not allowed; use {', '.join(sorted(allowed))}."

    async def refuse(request: Request) -> Response:
        raise OracleError(405, "MethodNotAllowed", message)

    return refuse


def _routes(ctx: Context, stats: admin.Stats) -> Router:
    routes: list[tuple[str, str, Handler]] = [("GET", "/healthz", _healthz), *admin.routes(ctx, stats)]
    for base, needs_project in BASES:
        routes.append(("POST", base + "/chat/completions", chat_handler(ctx, needs_project)))
        routes.append(("POST", base + "/responses", responses_handler(ctx, needs_project)))
        routes.append(("GET", base + "/models", _models))
    routes.extend(native_routes.routes(ctx))
    router = Router()
    allowed: dict[str, list[str]] = {}
    for method, path, handler in routes:
        router.add(method, path, handler)
        allowed.setdefault(path, []).append(method)
    # The Router's own 404 and 405 use the gateway's OpenAI envelope; Oracle answers in its own shape.
    for path, methods in allowed.items():
        refuse = _method_not_allowed(methods)
        for method in METHODS:
            if method not in methods:
                router.add(method, path, refuse)
    for method in METHODS:
        router.add(method, "/", _unknown_path)
        router.add_prefix(method, "/", _unknown_path)
    return router


async def _close_connection(receive: Receive) -> bool:
    """Closes the client connection under the response, if the server lets us reach it (uvicorn's cycle keeps
    the transport); returns False otherwise."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        return False
    transport.close()
    # Waiting for the disconnect keeps uvicorn from writing a 500 into the closed connection.
    try:
        await asyncio.wait_for(receive(), 1.0)
    except TimeoutError:
        pass
    return True


def _with_request_ids(app: ASGIApp, ctx: Context, stats: admin.Stats) -> ASGIApp:
    """Stamps every response with an opc-request-id, counts it, and carries out connection-level faults."""
    new_id = ctx.ids.request_id

    async def emulator(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path: str = scope["path"]
        request_id = new_id().encode()
        trace: dict[str, str] | None = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                # Oracle appends its own segments to a caller's id: "<caller>/<oracle>".
                request_id = value + b"/" + request_id
            elif name in _TRACE_CONTEXT:
                trace = trace or {"path": path}
                trace[name.decode()] = value.decode("latin-1")
        counted = not path.startswith(admin.PREFIX)
        if trace is not None:
            stats.traces.append(trace)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (_REQUEST_ID, request_id)]
                if counted:
                    stats.record(path, message["status"])
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        except ConnectionDropped:
            stats.record(path, "dropped")
            if not await _close_connection(receive):
                raise
        except StreamCut:
            stats.record(path, "cut", new_request=False)
            if not await _close_connection(receive):
                raise

    return emulator


def create_emulator_app(config: EmulatorConfig | None = None) -> ASGIApp:
    ctx = Context(config or EmulatorConfig())
    stats = admin.Stats()
    return _with_request_ids(_routes(ctx, stats).asgi(catch_all=False), ctx, stats)
