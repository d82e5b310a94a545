"""The benchmark's child processes: spawned pinned to a core, their output in bench/out/<name>.log, polled until
ready, always stopped."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from harness.layout import HOST, OUT, ROOT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status of ``GET path``, or None when nothing answers (yet)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return None
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return int(match.group(1)) if match else None


class Child:
    """One process of the benchmark, pinned to a core, its output in bench/out/<name>.log; always stopped."""

    def __init__(self, name: str, cmd: list[str], core: int, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.cmd = ["taskset", "-c", str(core), *cmd]
        self.env = env
        self.log_path = OUT / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> Child:
        log_file = self.log_path.open("ab")
        log_file.write(f"\n==== {dt.datetime.now().isoformat()} {shlex.join(self.cmd)}\n".encode())
        log_file.flush()
        self.started = time.perf_counter()
        # taskset execs the command, so the pid is the server's own; a new session lets stop() reach any children.
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )
        log_file.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(self, port: int, path: str, timeout: float = 30.0, interval: float = 0.005) -> float:
        """Poll ``GET path`` every ``interval`` s until it answers 200; the seconds since spawn."""
        assert self.proc is not None
        deadline = self.started + timeout
        while True:
            if http_status(port, path) == 200:
                return time.perf_counter() - self.started
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready; see {self.log_path}"
                )
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} was not ready after {timeout:.0f} s; see {self.log_path}")
            time.sleep(interval)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (its threads included)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float | None:
        """VmHWM, the peak resident set of the process, in MB (10^6 bytes)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        return int(match.group(1)) * 1024 / 1e6 if match else None

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def running(child: Child) -> Iterator[Child]:
    try:
        yield child.start()
    finally:
        child.stop()


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any ocigate, Oracle (``ORACLE_*``, ``OCI_*``) or LiteLLM settings, plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCI_", "OCIGATE_", "LITELLM_"))}
    env.update(extra)
    return env
