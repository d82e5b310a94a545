"""What several workers add to a request in CPU, timed in-process: robust where the loads are not (a shared machine).

Two things change for a request when ``ocigate serve`` runs more than one worker:

- **limits** (a virtual key with limits): the admission and its settlement go to the parent's limit broker over a
  Unix socket instead of a :class:`MemoryBackend` in the process. Timed here with the broker and a worker's
  :class:`BrokerBackend` on one event loop, so the figure holds both ends' CPU (encoding, the socket's system
  calls, the broker's counters), in batches of 32 admissions in flight as under load;
- **metrics**: every counter and histogram lives in prometheus_client's memory-mapped files
  (``PROMETHEUS_MULTIPROC_DIR``) so that ``/metrics`` can sum the workers. Timed as the calls one request makes
  (``on_result``, ``on_tokens`` with four types, ``on_answered``), in a fresh process each, since
  prometheus_client picks its value class when it is imported.

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


def _metrics(seconds: float, repeats: int) -> float:
    from ocigate.observe.metrics import Metrics

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics = Metrics(["m"], ["d"], multiprocess_dir=folder)
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


def _metrics_in_child(multiprocess: bool, seconds: float, repeats: int) -> float:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        else:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
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
    if args.part == "metrics":
        print(_metrics(args.budget, args.repeats))
        return 0
    figures = {
        "limits_memory_us": asyncio.run(_limits(False, args.budget, args.repeats)),
        "limits_broker_us": asyncio.run(_limits(True, args.budget, args.repeats)),
        "metrics_memory_us": _metrics_in_child(False, args.budget, args.repeats),
        "metrics_files_us": _metrics_in_child(True, args.budget, args.repeats),
    }
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
