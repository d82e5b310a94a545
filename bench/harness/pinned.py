"""Running an in-process timing module (``native_cost``, ``dispatch_cost``) in a fresh process pinned to the proxy's
core, and reading the figures it writes as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.layout import BENCH, PROXY_CORE
from harness.machine import wait_quiet


def run_pinned(module: str, args: list[str], out: Path, quick: bool, quiet_s: float, ours: set[int]) -> dict[str, Any]:
    """Runs ``python -m harness.<module> <args> --budget B --repeats R`` on the proxy's core once the machine is
    quiet; its output goes to ``<out's folder>/cost.log``, and the JSON it wrote at ``out`` is returned. Raises
    RuntimeError when it fails."""
    wait_quiet({os.getpid(), *ours}, quiet_s)
    budget, repeats = (0.05, 3) if quick else (0.2, 7)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    cmd = ["taskset", "-c", str(PROXY_CORE), sys.executable, "-m", f"harness.{module}", *args]
    cmd += ["--budget", str(budget), "--repeats", str(repeats)]
    done = subprocess.run(cmd, cwd=BENCH, capture_output=True, text=True, timeout=300, check=False)
    (out.parent / "cost.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the in-process timing failed ({done.returncode}): {tail[0]}")
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures
