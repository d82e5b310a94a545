"""``ocigate serve``: the configuration checked, the port taken, then the gateway run.

Nothing is started on a configuration that is not what the operator wrote: each of its errors is one line on
stderr with its place and fix, and the exit status is 2. The listening socket is bound before the gateway
starts, so a port in use is one line that names it (exit 1), never a "serving" line followed by uvicorn's
``[Errno 98]``.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ocigate.config.settings import Settings, load_settings
from ocigate.core.logs import redact

if TYPE_CHECKING:
    import uvicorn

    from ocigate.core.asgi import ASGIApp

CONFIG_ERROR = 2
CANNOT_LISTEN = 1


def print_errors(command: str, errors: Iterable[str]) -> int:
    """The configuration's errors on stderr, one line each; the exit status for them."""
    for error in errors:
        print(f"ocigate {command}: {redact(error)}", file=sys.stderr)
    return CONFIG_ERROR


def read_settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        os.environ,
        config_file=args.config,
        host=args.host,
        port=args.port,
        force_emulator=args.emulator,
        ssl_certfile=getattr(args, "ssl_certfile", None),
        ssl_keyfile=getattr(args, "ssl_keyfile", None),
    )


def serve(args: argparse.Namespace) -> int:
    from ocigate.app.runtime import create_app
    from ocigate.core.logs import setup_logging
    from ocigate.core.server import GatewayServer

    settings = read_settings(args)
    if settings.errors:
        return print_errors("serve", settings.errors)
    try:
        app = create_app(settings)
    except ValueError as exc:
        return print_errors("serve", str(exc).splitlines())
    workers = getattr(args, "workers", 1) or 1
    if workers > 1:
        from ocigate.cli.workers import serve_workers

        return serve_workers(args, settings, workers)
    try:
        sockets = listen(settings.host, settings.port)
    except OSError as exc:
        print(f"ocigate serve: {cannot_listen(settings, exc)}", file=sys.stderr)
        return CANNOT_LISTEN
    setup_logging(settings.log_level, settings.log_format)
    GatewayServer(uvicorn_config(app, settings), settings.http).run(sockets=sockets)
    return 0


def uvicorn_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves the gateway (one process, or each worker)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop=event_loop(),
        http="httptools",
        ws="none",  # the gateway serves no WebSocket: uvicorn loads no WebSocket library (``websockets``, ``wsproto``)
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
        server_header=False,
        timeout_graceful_shutdown=30,
        # HTTPS on the port when a certificate is configured (checked when the settings were read).
        ssl_certfile=settings.tls.certfile if settings.tls else None,
        ssl_keyfile=settings.tls.keyfile if settings.tls else None,
        ssl_keyfile_password=settings.tls.keyfile_password if settings.tls else None,
    )


def listen(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Bound sockets for every address ``host`` names (as asyncio's ``create_server`` binds them); an OSError
    when one cannot be bound, with none left open. ``reuse_port``: each of several workers binds its own, and
    the kernel spreads new connections over them."""
    bound: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free to take
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.set_inheritable(True)
    except OSError:
        for sock in bound:
            sock.close()
        raise
    return bound


def cannot_listen(settings: Settings, exc: OSError) -> str:
    """One line that says why the gateway cannot listen, and which setting changes it."""
    where = f"port {settings.port} on {settings.host}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where} is already in use (another ocigate, or another program): stop it, or choose another port "
            "with --port or OCIGATE_PORT."
        )
    if exc.errno == errno.EACCES:
        return f"{where} needs privileges this user lacks: choose a port above 1023 with --port or OCIGATE_PORT."
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {settings.host}: it is not an address of this machine; check --host or OCIGATE_HOST."
    return f"cannot listen on {where}: {exc.strerror or exc}; check --host/OCIGATE_HOST and --port/OCIGATE_PORT."


def event_loop() -> str:
    """uvloop where it is installed."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
