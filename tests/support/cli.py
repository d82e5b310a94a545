"""The ``ocigate`` command run as a user runs it: ``python -m ocigate`` in a subprocess, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any gateway or Oracle setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_"))}
    env.update(extra)
    return env


def run_ocigate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ocigate", *args], env=env, capture_output=True, text=True, timeout=60)


@contextmanager
def serving(env: dict[str, str], port: int, timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """``ocigate serve`` in a subprocess with ``env`` (which sets ``OCIGATE_PORT=port``), once ``/readyz`` answers
    200; stopped with SIGTERM on the way out. Its output is discarded (a pipe nobody reads would fill and stall it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ocigate", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, timeout)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Returns once the gateway at ``url`` answers ``/readyz`` with 200; fails if ``process`` exits first or
    ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
