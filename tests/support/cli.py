"""The ``ocigate`` command run as a user runs it: ``python -m ocigate`` in a subprocess, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any gateway or Oracle setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_"))}
    env.update(extra)
    return env


def run_ocigate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ocigate", *args], env=env, capture_output=True, text=True, timeout=60)
