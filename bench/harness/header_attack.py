"""``/healthz`` latency while one client sends an endless header: what one unauthenticated client costs everyone.

Not part of ``bench/run.py`` (a measurement, no target): ``cd bench && python -m harness.header_attack``.

A gateway (``python -m ocigate serve`` on its embedded emulator) runs pinned to the proxy core. First the harness
samples ``GET /healthz`` alone (the floor); then an attacker process opens a connection, sends
``GET / HTTP/1.1`` and one header line that never ends, as fast as it can, and reconnects whenever the gateway
closes it, for ``--seconds``; meanwhile the harness keeps sampling ``/healthz``, each sample on a fresh connection
(as a load balancer's health check does), one every ``--interval`` seconds. Each phase prints p50, p99 and max
latency in ms; the attack's line adds what the attacker got through, the status lines it read back, and the
gateway's CPU and peak memory.

The attacker runs at the lowest priority on the gateway's core by default, which is the harder case for the
gateway: it takes what CPU the gateway leaves, and the kernel's loopback work for its gigabytes lands on that core.
On the sampler's core (``--attacker-core 1``) that kernel work delays the samples themselves, by tens of
milliseconds at p99 whatever the gateway does; in real life the attacker and the health check are different
machines.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue

from harness.layout import HOST, LOAD_CORE, OUT, PROXY_CORE
from harness.machine import wait_quiet
from harness.processes import Child, clean_env, free_port
from harness.targets import data_dir

PREFIX = b"GET / HTTP/1.1\r\nHost: attack\r\nX-Pad: "
HEALTHZ = f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
SAMPLE_TIMEOUT_S = 30.0


@dataclass
class AttackTally:
    sent_bytes: int = 0
    connections: int = 0
    statuses: str = ""


def _attack(port: int, seconds: float, core: int, results: Queue[AttackTally]) -> None:
    """Endless headers as fast as the gateway takes them; a new connection whenever it closes one."""
    os.sched_setaffinity(0, {core})
    os.nice(19)  # all the CPU that the gateway (or the sampler) leaves, and no more
    chunk = b"a" * 65536
    tally = AttackTally()
    seen: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock = socket.create_connection((HOST, port))
        sock.settimeout(0.2)  # so that a gateway that stops reading cannot hold the attacker past its deadline
        tally.connections += 1
        try:
            sock.sendall(PREFIX)
            while time.monotonic() < deadline:
                try:
                    tally.sent_bytes += sock.send(chunk)
                except TimeoutError:
                    continue
        except OSError:
            pass
        status = _status_line(sock)
        seen[status] = seen.get(status, 0) + 1
        sock.close()
    tally.statuses = ", ".join(f"{count} x {status}" for status, count in sorted(seen.items()))
    results.put(tally)


def _status_line(sock: socket.socket) -> str:
    """What the gateway answered on a connection the attacker gave up on or lost: a status line, or why none."""
    try:
        head = sock.recv(64)
    except OSError as exc:
        return type(exc).__name__
    return head.split(b"\r\n", 1)[0].decode("latin-1") if head else "closed without an answer"


def sample(port: int) -> float:
    """Seconds for one ``GET /healthz`` on a fresh connection, up to the end of the answer."""
    started = time.perf_counter()
    try:
        with socket.create_connection((HOST, port), timeout=SAMPLE_TIMEOUT_S) as sock:
            sock.sendall(HEALTHZ)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    except OSError:
        return SAMPLE_TIMEOUT_S
    if not answer.startswith(b"HTTP/1.1 200"):
        return SAMPLE_TIMEOUT_S
    return time.perf_counter() - started


def sample_for(port: int, seconds: float, interval: float) -> list[float]:
    found: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found.append(sample(port))
        time.sleep(interval)
    return found


def summary(label: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    failed = sum(1 for latency in latencies if latency >= SAMPLE_TIMEOUT_S)
    return (
        f"{label}: {len(latencies)} samples, p50 {statistics.median(ordered) * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms, max {ordered[-1] * 1000:.2f} ms, {failed} failed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="/healthz latency while one client sends an endless header.")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the attack lasts (default 5)")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between /healthz samples")
    parser.add_argument(
        "--attacker-core",
        type=int,
        default=PROXY_CORE,
        help=f"the attacker's core (default {PROXY_CORE}, the gateway's; {LOAD_CORE} is the sampler's)",
    )
    parser.add_argument("--wait-quiet", type=float, default=30.0, help="seconds to wait for other processes to quiet")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {LOAD_CORE})
    port = free_port()
    env = clean_env({"OCIGATE_DATA_DIR": str(data_dir("header-attack")), "OCIGATE_NO_ACCESS_LOG": "1"})
    gateway = Child(
        "header-attack-gateway", [sys.executable, "-m", "ocigate", "serve", "--port", str(port)], PROXY_CORE, env
    )
    try:
        gateway.start().wait_ready(port, "/readyz")
        ours = {os.getpid(), gateway.pid}
        sample_for(port, 0.5, args.interval)  # warm-up
        wait_quiet(ours, args.wait_quiet)
        print(summary("/healthz alone", sample_for(port, args.seconds, args.interval)))
        wait_quiet(ours, args.wait_quiet)
        results: Queue[AttackTally] = multiprocessing.get_context("spawn").Queue()
        attacker = multiprocessing.get_context("spawn").Process(
            target=_attack, args=(port, args.seconds, args.attacker_core, results)
        )
        cpu_before = gateway.cpu_seconds()
        attacker.start()
        latencies = sample_for(port, args.seconds, args.interval)
        tally = results.get(timeout=args.seconds + 30)
        attacker.join(timeout=10)
        print(summary("/healthz under the header attack", latencies))
        print(
            f"attacker: {tally.sent_bytes / 1e6:.1f} MB sent over {tally.connections} connections; answers: "
            f"{tally.statuses}; gateway: {gateway.cpu_seconds() - cpu_before:.1f} s CPU, "
            f"peak RSS {gateway.peak_rss_mb() or 0:.0f} MB"
        )
    finally:
        gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
