"""What a worker of ``ocigate serve --workers N`` is told by its parent: its place, the limit broker's socket and
where the metrics of every worker are kept. ``cli/workers.py`` starts the workers; ``create_app`` wires this in.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from ocigate.core.asgi import Request
from ocigate.observe.metrics import Metrics

log = logging.getLogger("ocigate")


@dataclass(frozen=True, slots=True)
class WorkerRole:
    index: int
    """1 to ``count``, as the logs name the worker."""
    count: int
    limits_broker: str | None
    """The parent's limit broker (a Unix socket); None when the limits live in Redis."""
    metrics_dir: str
    """prometheus_client's multiprocess directory, shared by every worker."""


def stop_worker() -> None:
    """Drains and stops this worker (as SIGTERM does): it can no longer serve as its parent set it up to."""
    os.kill(os.getpid(), signal.SIGTERM)


def counted(
    role: WorkerRole | None, metrics: Metrics, write: Callable[[Request, int], None]
) -> Callable[[Request, int], None]:
    """What sees every answer: ``write`` (the access log, the server span), and with several workers the worker's
    count on /metrics."""
    if role is None:
        return write
    count = metrics.on_answered

    def answered(request: Request, status: int) -> None:
        count()
        write(request, status)

    return answered
