"""``ocigate serve --workers N``: N worker processes serving one port, and the parent process that keeps them.

The parent binds the port (one socket per worker with ``SO_REUSEPORT``, so the kernel spreads new connections
evenly; a plain bind first, so that a port already in use, even by another ocigate, is refused as it is for
one process), then starts each worker as a fresh interpreter (``spawn``) running the same gateway on its own
socket. Without Redis it also runs the limit broker (``governance/limits/broker.py``): every worker's limits,
budgets and key changes go through it, so they stay exact across workers; with Redis the workers use Redis as
separate gateways do. Every worker copies its metrics into prometheus_client's multiprocess files in a private
directory (``observe/shared.py``), which any worker's ``/metrics`` sums.

- **SIGTERM or SIGINT**: passed to every worker, each drains as one process does (the grace period is
  ``OCIGATE_GRACE_PERIOD``); the parent exits 0 when every worker did, after the broker has served their last
  settlements. A worker still running ``grace + 15 s`` later is killed, and the exit status is 1.
- **A worker that dies** is replaced at once on the same socket (connections waiting on it are kept), and said
  at ERROR. A worker that fails before it serves, or more than ``MAX_RESTARTS`` deaths in ``RESTART_WINDOW_S``,
  stops the whole server with status 1: it never goes on serving with fewer workers than it was asked for.
- **A parent that dies** takes the workers with it: each watches its parent and drains when it is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from ocigate.app.worker import WorkerRole
from ocigate.cli.serve import CANNOT_LISTEN, cannot_listen, listen, read_settings, uvicorn_config
from ocigate.config.settings import Settings

log = logging.getLogger("ocigate.workers")
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
STOP_MARGIN_S = 15.0


def parse_workers(text: str) -> int:
    """``--workers``: a whole number from 1, or ``auto`` for the machine's CPU count."""
    if text.strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers: give a whole number from 1, or auto")
    return count


def serve_workers(args: argparse.Namespace, settings: Settings, count: int) -> int:
    from ocigate.core.logs import setup_logging

    try:
        sockets = worker_sockets(settings, count)
    except OSError as exc:
        print(f"ocigate serve: {cannot_listen(settings, exc)}", file=sys.stderr)
        return CANNOT_LISTEN
    setup_logging(settings.log_level, settings.log_format, worker="main")
    private = tempfile.mkdtemp(prefix="ocigate-workers-")  # mode 0700: only this user reaches the broker
    metrics = Path(private, "metrics")
    metrics.mkdir()
    # Workers count in memory and copy their values into this folder themselves (observe/shared.py):
    # prometheus_client's own multiprocess mode, which this variable would turn on in every worker, is not used.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    broker = None if settings.redis_url else str(Path(private, "limits.sock"))
    try:
        supervisor = Supervisor(args, settings, sockets, broker, str(metrics))
        return asyncio.run(supervisor.run())
    finally:
        for group in sockets:
            for sock in group:
                sock.close()
        shutil.rmtree(private, ignore_errors=True)


def worker_sockets(settings: Settings, count: int) -> list[list[socket.socket]]:
    """Per worker, its sockets on every address of the host (``SO_REUSEPORT``), after a plain bind has shown
    that the port is free."""
    for probe in listen(settings.host, settings.port):
        probe.close()
    groups: list[list[socket.socket]] = []
    try:
        for _ in range(count):
            groups.append(listen(settings.host, settings.port, reuse_port=True))
    except OSError:
        for group in groups:
            for sock in group:
                sock.close()
        raise
    return groups


class Supervisor:
    def __init__(
        self,
        args: argparse.Namespace,
        settings: Settings,
        sockets: list[list[socket.socket]],
        broker: str | None,
        metrics_dir: str,
    ) -> None:
        self._args = args
        self._settings = settings
        self._sockets = sockets
        self._broker_path = broker
        self._metrics_dir = metrics_dir
        self._context = get_context("spawn")
        self._workers: list[BaseProcess | None] = [None] * len(sockets)
        self._ready: list[bool] = [False] * len(sockets)
        self._deaths: deque[float] = deque()
        self._stopping = False
        self._status = 0
        self._done: asyncio.Future[None] | None = None
        self._announced = False

    async def run(self) -> int:
        from ocigate.governance.limits.broker import LimitBroker

        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        broker = None
        if self._broker_path is not None:
            broker = LimitBroker(self._broker_path)
            await broker.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        for index in range(len(self._workers)):
            self._spawn(index)
        try:
            await self._done
        finally:
            if broker is not None:
                await broker.close()
        return self._status

    def _spawn(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        role = WorkerRole(index + 1, len(self._workers), self._broker_path, self._metrics_dir)
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=worker_main,
            args=(self._args, self._sockets[index], role, sender),
            name=f"ocigate-worker-{index + 1}",
        )
        process.start()
        sender.close()
        self._workers[index] = process
        self._ready[index] = False
        loop.add_reader(receiver.fileno(), self._on_ready, index, receiver)
        loop.add_reader(process.sentinel, self._on_exit, index, process)

    def _on_ready(self, index: int, receiver: Connection) -> None:
        loop = asyncio.get_running_loop()
        try:
            receiver.recv_bytes()
            self._ready[index] = True
        except (EOFError, OSError):
            pass  # the worker ended before it served: _on_exit says so
        loop.remove_reader(receiver.fileno())
        receiver.close()
        if all(self._ready) and not self._announced:
            self._announced = True
            pids = ", ".join(str(p.pid) for p in self._workers if p is not None)
            log.info("%d workers serving http://%s:%d/v1 (pids %s)", len(self._workers), *self._where(), pids)

    def _where(self) -> tuple[str, int]:
        return self._settings.host, self._settings.port

    def _on_exit(self, index: int, process: BaseProcess) -> None:
        asyncio.get_running_loop().remove_reader(process.sentinel)
        process.join()
        code = process.exitcode
        self._forget_metrics(process.pid)
        if self._workers[index] is process:
            self._workers[index] = None
        how = f"exit status {code}" if code is not None and code >= 0 else f"signal {-(code or 0)}"
        if self._stopping:
            if code != 0:
                log.error("worker %d (pid %s) ended with %s while stopping", index + 1, process.pid, how)
                self._status = 1
        elif not self._ready[index]:
            log.error(
                "worker %d (pid %s) ended with %s before serving: stopping the gateway", index + 1, process.pid, how
            )
            self._status = code if code and code > 0 else 1
            self.stop()
        else:
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and self._deaths[0] < now - RESTART_WINDOW_S:
                self._deaths.popleft()
            if len(self._deaths) > MAX_RESTARTS:
                log.error(
                    "worker %d (pid %s) ended with %s, the %d. worker death within %.0f s: stopping the gateway",
                    index + 1,
                    process.pid,
                    how,
                    len(self._deaths),
                    RESTART_WINDOW_S,
                )
                self._status = 1
                self.stop()
            else:
                log.error("worker %d (pid %s) ended with %s: starting a new one", index + 1, process.pid, how)
                self._spawn(index)
        if self._stopping and all(p is None for p in self._workers) and self._done and not self._done.done():
            self._done.set_result(None)

    def _forget_metrics(self, pid: int | None) -> None:
        """A dead worker's live gauges leave /metrics; its counters stay in the totals."""
        if pid is not None:
            from prometheus_client import multiprocess

            with contextlib.suppress(OSError):
                multiprocess.mark_process_dead(pid, self._metrics_dir)  # type: ignore[no-untyped-call]

    def stop(self) -> None:
        """Drains every worker; the listening sockets close here, so new connections are refused at once."""
        loop = asyncio.get_running_loop()
        if not self._stopping:
            self._stopping = True
            for group in self._sockets:
                for sock in group:
                    sock.close()
            loop.call_later(self._settings.grace_period_s + STOP_MARGIN_S, self._kill)
        for process in self._workers:
            if process is not None and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        if all(p is None for p in self._workers) and self._done and not self._done.done():
            self._done.set_result(None)

    def _kill(self) -> None:
        for index, process in enumerate(self._workers):
            if process is not None and process.pid is not None:
                log.error(
                    "worker %d (pid %s) has not stopped after the grace period: killing it", index + 1, process.pid
                )
                self._status = 1
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)


def worker_main(args: argparse.Namespace, sockets: list[socket.socket], role: WorkerRole, ready: Connection) -> None:
    """One worker: the gateway as ``serve`` runs it, on its own sockets, with its place among the workers."""
    from ocigate.app.runtime import create_app
    from ocigate.core.logs import setup_logging
    from ocigate.core.server import GatewayServer

    _watch_parent()
    settings = read_settings(args)
    app = create_app(settings, role)
    setup_logging(settings.log_level, settings.log_format, worker=f"worker {role.index}")

    def started() -> None:
        ready.send_bytes(b"ready")
        ready.close()

    server = GatewayServer(uvicorn_config(app, settings), settings.http, on_started=started)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(3)


def _watch_parent() -> None:
    """Drains this worker when its parent is gone (killed with SIGKILL, say): nobody would replace it or stop it."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="ocigate-parent-watch", daemon=True).start()
