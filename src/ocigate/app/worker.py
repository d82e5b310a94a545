"""What a worker of ``ocigate serve --workers N`` is told by its parent: its place, the limit broker's socket and
where the metrics of every worker are kept. ``cli/workers.py`` starts the workers; ``create_app`` wires this in.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass

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
