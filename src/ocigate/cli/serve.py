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

from ocigate.config.settings import Settings, load_settings
from ocigate.core.logs import redact

CONFIG_ERROR = 2
CANNOT_LISTEN = 1


def print_errors(command: str, errors: Iterable[str]) -> int:
    """The configuration's errors on stderr, one line each; the exit status for them."""
    for error in errors:
        print(f"ocigate {command}: {redact(error)}", file=sys.stderr)
    return CONFIG_ERROR


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ocigate.app.runtime import create_app
    from ocigate.core.logs import setup_logging
    from ocigate.core.server import GatewayServer

    settings = load_settings(
        os.environ, config_file=args.config, host=args.host, port=args.port, force_emulator=args.emulator
    )
    if settings.errors:
        return print_errors("serve", settings.errors)
    try:
        app = create_app(settings)
    except ValueError as exc:
        return print_errors("serve", str(exc).splitlines())
    try:
        sockets = listen(settings.host, settings.port)
    except OSError as exc:
        print(f"ocigate serve: {cannot_listen(settings, exc)}", file=sys.stderr)
        return CANNOT_LISTEN
    setup_logging(settings.log_level, settings.log_format)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop=event_loop(),
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    GatewayServer(config, settings.http).run(sockets=sockets)
    return 0


def listen(host: str, port: int) -> list[socket.socket]:
    """Bound sockets for every address ``host`` names (as asyncio's ``create_server`` binds them); an OSError
    when one cannot be bound, with none left open."""
    bound: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free to take
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
