"""What several workers add to a request in CPU, timed in-process: robust where the loads are not (a shared machine).

Two things change for a request when ``ocigate serve`` runs more than one worker:

- **limits** (a virtual key with limits): the admission and its settlement go to the parent's limit broker over a
  Unix socket instead of a :class:`MemoryBackend` in the process. Timed here with the broker and a worker's
  :class:`BrokerBackend` on one event loop, so the figure holds both ends' CPU (encoding, the socket's system
  calls, the broker's counters), in batches of 32 admissions in flight as under load;
- **metrics**: a worker counts in memory as one process does, plus ``ocigate_worker_requests``, and copies its
  values into prometheus_client's multiprocess files once a second (``observe/shared.py``). Timed as the calls one
  request makes (``on_result``, ``on_tokens`` with four types, ``on_answered``) for one process and for a worker,
  and one copy (``Metrics.sync``) with the series a load leaves; for comparison, the same calls in
  prometheus_client's own multiprocess mode (every value in a memory-mapped file, written on each increment), in
  a fresh process since prometheus_client picks its value class when it is imported.

Run by the harness pinned to the proxy's core: ``python -m harness.workers_cost --out FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BATCH = 32


def _per_request_us(batches: list[float], size: int) -> float:
    return 1e6 * statistics.median(batches) / size


async def _limits(broker: bool, seconds: float, repeats: int) -> float:
    from ocigate.governance.keys import Budget, KeyRecord
    from ocigate.governance.limits import Limiter, MemoryBackend
    from ocigate.governance.limits.backend import LimitBackend
    from ocigate.governance.limits.broker import LimitBroker
    from ocigate.governance.limits.brokered import BrokerBackend

    record = KeyRecord(
        id="bench",
        prefix="ogk-bench",
        name="bench",
        rpm=10**9,
        tpm=2 * 10**9,
        max_concurrent=10**5,
        budget=Budget(10**6, "usd", "month"),
    )
    with tempfile.TemporaryDirectory() as folder:
        server = LimitBroker(str(Path(folder, "limits.sock")))
        backend: LimitBackend = MemoryBackend()
        if broker:
            await server.start()
            backend = await BrokerBackend.connect(server.path)
        limiter = Limiter(backend)

        async def batch() -> None:
            decisions = await asyncio.gather(*(limiter.admit(record, tokens=80, cost_usd=0.0001) for _ in range(BATCH)))
            for decision in decisions:
                limiter.finish_soon(decision.ticket, tokens=60, cost_usd=0.00008)

        await batch()  # the budget seeded, the connection warm
        timings: list[float] = []
        for _ in range(repeats):
            count, started = 0, time.process_time()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                await batch()
                count += 1
            timings.append((time.process_time() - started) / count)
        await limiter.close()
        await backend.close()
        if broker:
            await server.close()
    return _per_request_us(timings, BATCH)


def _metrics(seconds: float, repeats: int, worker: bool = False) -> float:
    from ocigate.observe.metrics import Metrics

    with tempfile.TemporaryDirectory() as folder:
        metrics = Metrics(["m"], ["d"], multiprocess_dir=folder if worker else None)
        return _time_requests(metrics, seconds, repeats)


def _sync_us(repeats: int) -> float:
    from ocigate.observe.metrics import Metrics

    with tempfile.TemporaryDirectory() as folder:
        metrics = Metrics(["m"], ["d"], multiprocess_dir=folder)
        _time_requests(metrics, 0.01, 1)  # the series a load leaves
        timings = []
        for _ in range(repeats * 10):
            started = time.process_time()
            metrics.sync()
            timings.append(time.process_time() - started)
        return 1e6 * statistics.median(timings)


def _time_requests(metrics: Any, seconds: float, repeats: int) -> float:
    tokens = {"prompt": 12, "completion": 30, "reasoning": 4, "cached": 2}

    def request() -> None:
        metrics.on_result("m", "d", 200, 0.01)
        metrics.on_tokens("m", tokens)
        metrics.on_answered()

    timings: list[float] = []
    for _ in range(repeats):
        count, started = 0, time.process_time()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(100):
                request()
            count += 100
        timings.append((time.process_time() - started) / count)
    return 1e6 * statistics.median(timings)


def _prometheus_multiprocess(seconds: float, repeats: int) -> float:
    """The request's metrics calls with prometheus_client's own multiprocess mode on, in a fresh process."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        env["PROMETHEUS_MULTIPROC_DIR"] = folder
        args = ["--part", "metrics", "--budget", str(seconds), "--repeats", str(repeats)]
        done = subprocess.run(
            [sys.executable, "-m", "harness.workers_cost", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--part", default="all")
    parser.add_argument("--budget", type=float, default=0.2)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.part == "metrics":  # PROMETHEUS_MULTIPROC_DIR set by the caller
        from ocigate.observe.metrics import Metrics

        print(_time_requests(Metrics(["m"], ["d"]), args.budget, args.repeats))
        return 0
    figures = {
        "limits_memory_us": asyncio.run(_limits(False, args.budget, args.repeats)),
        "limits_broker_us": asyncio.run(_limits(True, args.budget, args.repeats)),
        "metrics_memory_us": _metrics(args.budget, args.repeats),
        "metrics_worker_us": _metrics(args.budget, args.repeats, worker=True),
        "metrics_sync_us": _sync_us(args.repeats),
        "metrics_prometheus_multiprocess_us": _prometheus_multiprocess(args.budget, args.repeats),
    }
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
