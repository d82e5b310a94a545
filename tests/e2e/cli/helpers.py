"""Running ``ocigate`` as an operator does: a subprocess, with a clean environment and its own data folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCI_", "OCIGATE_"))}
    env["OCIGATE_DATA_DIR"] = tempfile.mkdtemp(prefix="ocigate-e2e-cli-")
    env.update(extra)
    return env


def ocigate(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """The command's outcome; a command that keeps running (serving when it should have refused) fails the test
    with ``subprocess.TimeoutExpired``."""
    return subprocess.run(
        [sys.executable, "-m", "ocigate", *args],
        env=env if env is not None else clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
