"""The machine: CPU used by each process (the benchmark's own and everything else's, the noise), the hypervisor's
steal, and the facts a report starts with."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import subprocess
import time
from pathlib import Path

from harness.layout import ROOT, log


def process_cpu() -> dict[int, tuple[str, float]]:
    """User + system CPU seconds of every process on the machine, by pid: (name, seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        head, _, rest = text.rpartition(")")
        fields = rest.split()
        found[int(entry.name)] = (head.partition("(")[2], (int(fields[11]) + int(fields[12])) / tick)
    return found


def pid_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (its threads included), or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def foreign_cpu(before: dict[int, tuple[str, float]], ours: set[int], wall: float) -> tuple[float, list[str]]:
    """CPU used since ``before`` by processes outside the benchmark, % of one core, and the busiest of them."""
    used: list[tuple[float, str]] = []
    for pid, (name, seconds) in process_cpu().items():
        if pid in ours:
            continue
        delta = seconds - before.get(pid, (name, 0.0))[1]
        if delta > 0:
            used.append((100 * delta / wall, f"{name}[{pid}]"))
    used.sort(reverse=True)
    return sum(pct for pct, _ in used), [f"{label} {pct:.0f} %" for pct, label in used[:3]]


def wait_quiet(ours: set[int], limit_s: float, threshold: float = 10.0) -> None:
    """Wait (up to ``limit_s``) until processes outside the benchmark use under ``threshold`` % of a core."""
    if limit_s <= 0:
        return
    deadline = time.perf_counter() + limit_s
    while True:
        before = process_cpu()
        time.sleep(0.5)
        used, busiest = foreign_cpu(before, ours, 0.5)
        if used < threshold:
            return
        if time.perf_counter() > deadline:
            log(f"  the machine is still busy ({', '.join(busiest)}); measuring anyway")
            return
        log(f"  waiting for a quiet machine: {', '.join(busiest)}")
        time.sleep(1.0)


def steal_seconds() -> float:
    """CPU time the hypervisor took from this machine's cores so far (/proc/stat, all cores)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def facts() -> dict[str, str]:
    """The CPU, kernel, Python, wrk and ocigate commit a report names."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = found.group(1).strip() if found else cpu
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr or "unknown").splitlines()[0].split(" Copyright")[0].strip(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() + (" (src/ modified)" if dirty.stdout.strip() else ""),
    }
