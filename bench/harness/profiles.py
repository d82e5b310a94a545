"""py-spy: where a proxy spends its CPU, sampled in extra loads after the measured ones so no figure is disturbed."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness.layout import LOAD_CORE, OUT, log
from harness.loads import LoadRunner
from harness.wrk import run_wrk


def py_spy_record(pid: int, label: str, seconds: float) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if exe is None:
        return None
    out = OUT / f"py-spy-{label}.txt"
    cmd = ["taskset", "-c", str(LOAD_CORE), exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
           "--rate", "200", "--nonblocking", "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(OUT / "py-spy.log").open("ab"))


def profile_loads(runner: LoadRunner, loads: list[tuple[str, str, Path]]) -> dict[str, str]:
    """Record each ``(key, url, script)`` load at 32 connections under py-spy; the raw output's path by key."""
    profiles: dict[str, str] = {}
    for key, url, script in loads:
        spy = py_spy_record(runner.child.pid, f"{runner.name}-{key}", runner.duration)
        if spy is None:
            log("py-spy is not installed: no profile (pip install py-spy)")
            break
        time.sleep(0.3)
        run = run_wrk(f"{runner.name}-profiled-{key}", url, script, 32, runner.duration)
        if not run.valid:
            log(f"{runner.name}: the profiled {key} load was invalid ({run.problem}): its profile is not the same work")
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(timeout=30)
        profiles[key] = str(OUT / f"py-spy-{runner.name}-{key}.txt")
    return profiles


def profile_summary(path: Path, limit: int = 12) -> list[str]:
    """Where the samples of py-spy's collapsed ("raw") output land: self time by package of the innermost Python
    frame, then by function. A leaf in asyncio's ``Runner.run`` is time in the event loop's C code (uvloop:
    socket reads and writes, callback dispatch); sampling is of the GIL-holding work, idle time excluded."""
    by_function: dict[str, int] = {}
    by_package: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        function = re.sub(r":\d+\)$", ")", leaf)
        source = leaf.rpartition("(")[2]
        package = "event loop (C)" if leaf.startswith("Runner.run ") else source.split("/")[0].split(".py")[0]
        package = package if leaf.startswith("Runner.run ") or re.fullmatch(r"[\w.<>-]+", package) else "other"
        by_function[function] = by_function.get(function, 0) + int(count)
        by_package[package] = by_package.get(package, 0) + int(count)
        total += int(count)
    if not total:
        return ["  (no samples)"]
    packages = sorted(by_package.items(), key=lambda item: -item[1])
    lines = ["  by package: " + ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in packages[:8])]
    for function, n in sorted(by_function.items(), key=lambda item: -item[1])[:limit]:
        lines.append(f"  {100 * n / total:5.1f} %  {function}")
    return lines
