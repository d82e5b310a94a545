"""uvicorn servers with the signal behaviour a gateway needs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class GatewayServer(uvicorn.Server):
    """Drains on SIGTERM or SIGINT, then exits 0.

    uvicorn re-raises a caught signal once its graceful shutdown is over, so the process would die of that
    signal; a service manager (systemd, Kubernetes) should see a clean exit after a clean drain instead.
    """

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
