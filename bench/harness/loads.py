"""One target's loads: warm-ups that must succeed, and measured loads with the CPU each process used (and that of a
shared service the server uses, such as Redis). Every load and warm-up is kept in ``sent``, so that what the
server recorded can be checked against what was sent (governance.py)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.cells import fmt
from harness.layout import OUT, ROOT, log
from harness.machine import foreign_cpu, pid_cpu_seconds, process_cpu, steal_seconds, wait_quiet
from harness.processes import Child
from harness.wrk import WrkRun, run_wrk


@dataclass
class LoadRunner:
    """The processes a target's loads run against: the server under test (for ``direct``, the emulator itself)
    and the emulator behind it."""

    name: str
    child: Child
    emulator: Child
    duration: float
    quiet_s: float
    helper: tuple[str, int] | None = None  # (name, pid) of a shared service the server uses (redis-server): not noise
    sent: list[WrkRun] = field(default_factory=list)  # every warm-up and load run so far

    @property
    def proxied(self) -> bool:
        return self.child is not self.emulator

    def ours(self) -> set[int]:
        return {os.getpid(), self.child.pid, self.emulator.pid} | ({self.helper[1]} if self.helper else set())

    def warm_up(self, label: str, url: str, script: Path, seconds: float) -> None:
        """A short load at 32 connections, not measured; an error answer means the request itself is wrong."""
        run = run_wrk(f"{self.name}-warm-{label}", url, script, 32, seconds)
        self.sent.append(run)
        if run.non_2xx:
            report = (OUT / f"wrk-{run.label}.txt").relative_to(ROOT)
            raise RuntimeError(f"warm-up {label}: {run.non_2xx} of {run.requests} answers failed; see {report}")

    def load(self, key: str, url: str, script: Path, connections: int, expected_bytes: int | None) -> WrkRun:
        """One measured load, once the machine is quiet, with the CPU every process used during it."""
        wait_quiet(self.ours(), self.quiet_s)
        proxy_before, upstream_before, others = self.child.cpu_seconds(), self.emulator.cpu_seconds(), process_cpu()
        steal_before = steal_seconds()
        helper_before = pid_cpu_seconds(self.helper[1]) if self.helper else None
        started = time.perf_counter()
        run = run_wrk(f"{self.name}-{key}", url, script, connections, self.duration, expected_bytes)
        wall = time.perf_counter() - started
        self.sent.append(run)
        if self.helper and helper_before is not None:
            helper_after = pid_cpu_seconds(self.helper[1])
            if helper_after is not None:
                run.helper_cpu_pct = 100 * (helper_after - helper_before) / wall
        if self.proxied:
            run.proxy_cpu_pct = 100 * (self.child.cpu_seconds() - proxy_before) / wall
        run.upstream_cpu_pct = 100 * (self.emulator.cpu_seconds() - upstream_before) / wall
        run.steal_pct = 100 * (steal_seconds() - steal_before) / wall
        run.other_cpu_pct, run.other_busiest = foreign_cpu(others, self.ours(), wall)
        self.describe(key, run)
        return run

    def describe(self, key: str, run: WrkRun) -> None:
        if run.valid:
            flag = ""
        elif run.errors:
            flag = f"  INVALID: {run.non_2xx} non-2xx, socket errors {run.socket_errors}"
        else:
            flag = f"  INVALID: {run.problem}"
        log(
            f"{self.name} {key:9} c={run.connections:<2} {run.rps:8.0f} req/s  p50 {run.p50_ms:.3f} ms  "
            f"p99 {run.p99_ms:.3f} ms  ({run.requests} requests)  CPU: proxy {fmt(run.proxy_cpu_pct, 0)} %, "
            f"emulator {fmt(run.upstream_cpu_pct, 0)} %, "
            + (f"{self.helper[0]} {fmt(run.helper_cpu_pct, 0)} %, " if self.helper else "")
            + f"others {fmt(run.other_cpu_pct, 0)} %, "
            f"steal {fmt(run.steal_pct, 0)} %"
            + (f" ({', '.join(run.other_busiest)})" if (run.other_cpu_pct or 0) >= 5 else "")
            + flag
        )
