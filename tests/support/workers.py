"""``ocigate serve --workers N`` run as an operator runs it, in a subprocess, with what the tests need to see
inside it: its log lines, its workers' pids, and which worker answered how many requests (``/metrics``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
import openai

from tests.support.cli import clean_env
from tests.support.governance import MODEL

Outcome = tuple[int, str, int]
"""Status, error code (empty on success), total tokens of the answer (0 on an error)."""

SERVING = re.compile(r"(\d+) workers serving \S+ \(pids ([\d, ]+)\)")
WORKER_LINE = re.compile(r'^ocigate_worker_requests\{pid="(\d+)"\} ([\d.e+]+)$', re.M)
REQUESTS_LINE = re.compile(r'^ocigate_requests_total\{[^}]*status_class="2xx"[^}]*\} ([\d.e+]+)$', re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WorkerGateway:
    """``start()`` returns once every worker serves; ``stop()`` sends SIGTERM and returns the exit status."""

    def __init__(self, env: Mapping[str, str], *, workers: int = 2, master: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env(**env, OCIGATE_PORT=str(self.port))
        self.workers = workers
        self.master = master
        self.lines: list[str] = []
        self.pids: list[int] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 90.0) -> WorkerGateway:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ocigate", "serve", "--workers", str(self.workers)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self.pids:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError("the workers did not start:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.05)
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            found = SERVING.search(line)
            if found:
                self.pids = [int(pid) for pid in found.group(2).split(", ")]

    def metrics(self) -> str:
        headers = {"Authorization": f"Bearer {self.master}"} if self.master else {}
        reply = httpx.get(f"{self.url}/metrics", headers=headers, timeout=10)
        reply.raise_for_status()
        return reply.text

    def per_worker(self) -> dict[int, int]:
        """Requests answered so far, per worker pid (``ocigate_worker_requests``)."""
        return {int(pid): int(float(value)) for pid, value in WORKER_LINE.findall(self.metrics())}

    def succeeded(self) -> int:
        """Every worker's 2xx requests, from one ``/metrics`` answer."""
        return sum(int(float(value)) for value in REQUESTS_LINE.findall(self.metrics()))

    def stop(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def spread(before: Mapping[int, int], after: Mapping[int, int]) -> dict[int, int]:
    """Requests each worker answered between two :meth:`WorkerGateway.per_worker` readings."""
    return {pid: count - before.get(pid, 0) for pid, count in after.items() if count - before.get(pid, 0) > 0}


def moved(gateway: WorkerGateway, before: Mapping[int, int], workers: int = 2, timeout: float = 10.0) -> dict[int, int]:
    """:func:`spread` since ``before``, read until ``workers`` workers show requests (the other workers' figures
    reach /metrics within a second) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        found = spread(before, gateway.per_worker())
        if len(found) >= workers or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def open_connections(pid: int, port: int) -> int:
    """Established TCP connections to ``port`` that process ``pid`` holds (from /proc: its socket descriptors
    matched against the kernel's connection tables)."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            target = os.readlink(f"{fd_dir}/{name}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


async def _one(client: openai.AsyncOpenAI, **options: Any) -> Outcome:
    try:
        reply = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Say hello"}], max_tokens=16, **options
        )
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        return exc.status_code, str(body.get("code", "")), 0
    return 200, "", reply.usage.total_tokens if reply.usage else 0


def burst(url: str, secret: str, count: int) -> list[Outcome]:
    """``count`` chat requests at once, each on a connection of its own."""

    async def run() -> list[Outcome]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0, http_client=http)  # type: ignore[arg-type]
            return await asyncio.gather(*(_one(client) for _ in range(count)))

    return asyncio.run(run())
