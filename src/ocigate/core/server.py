"""uvicorn servers with the signal behaviour a gateway needs."""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import Callable, Iterator

import uvicorn

from ocigate.core.http_limits import ConnectionLimits, install_limits


class GatewayServer(uvicorn.Server):
    """Drains on SIGTERM or SIGINT, then exits 0.

    On the signal uvicorn stops accepting connections, closes idle keep-alive ones, and lets requests and streams
    in flight run to their end for up to the grace period (``OCIGATE_GRACE_PERIOD``, 30 s by default: the gateway's
    settings set ``timeout_graceful_shutdown``); then the lifespan closes the upstream pool and flushes the logs.
    uvicorn re-raises a caught signal once its graceful shutdown is over, so the process would die of that
    signal; a service manager (systemd, Kubernetes) should see a clean exit after a clean drain instead.

    Every connection is served under ``limits`` (header size, header and body read time, keep-alive, open
    connections: ``core/http_limits.py``). ``on_started`` is called once the lifespan has started and the sockets
    accept (a worker tells its parent it serves).
    """

    def __init__(
        self, config: uvicorn.Config, limits: ConnectionLimits, on_started: Callable[[], None] | None = None
    ) -> None:
        install_limits(config, limits)
        self._on_started = on_started
        runtime = getattr(config.app, "runtime", None)
        grace = getattr(getattr(runtime, "settings", None), "grace_period_s", None)
        if isinstance(grace, int | float):
            config.timeout_graceful_shutdown = int(math.ceil(grace))
        super().__init__(config)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


class NestedServer(uvicorn.Server):
    """A second server inside the gateway's process (the embedded emulator): the gateway's own server owns the
    signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
