"""The memory soak (issue 15): a steady mix of requests against one gateway, its RSS sampled as it goes.

    python bench/soak.py [--seconds 120] [--requests N] [--rate 100] [--keys both|master|team]
                         [--backend sqlite|postgres-redis] [--sample 5] [--warmup 10000] [--team-keys 4]
                         [--stream-delay 0.005]
                         [--tracemalloc] [--snapshots 5000,10000,40000] [--max-slope MB]

The bundled emulator stands in for Oracle (its own process, each stream event ``--stream-delay`` apart); the
gateway is ``python -m ocigate serve`` as shipped (access log, usage records, stored responses), with the master
key and ``--team-keys`` virtual keys made through ``POST /admin/keys``, its store in SQLite (``bench/out/soak-data``)
or, with ``--backend postgres-redis``, in a fresh Postgres database on 127.0.0.1 (dropped afterwards) with its
limits and key announcements in Redis (database 14). The traffic is ``harness/soak.py``'s mix. Every ``--sample``
seconds a line gives the requests answered, the rate and the gateway's RSS (``VmRSS``, MB = 10^6 bytes); at the
end, the least-squares slope of RSS against requests answered after ``--warmup`` requests, in MB per 100,000
requests, and RSS at the end over RSS after the warm-up.

``--tracemalloc`` has the gateway start tracing allocations at the first ``--snapshots`` count (slow: for finding
causes, not for the figures) and take a snapshot at each later one, then prints the top growth between the first
snapshot and the last. ``--max-slope`` makes the exit status 1 when the slope is above it (for CI). ``--gateway-env
PYTHONPATH=DIR/src`` serves another checkout of the gateway (a before/after). Stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from harness.layout import HOST, OUT, PROXY_CORE, ROOT
from harness.processes import Child, clean_env, free_port, running
from harness.soak import CHAT_MODEL, RESPONSES_MODEL, Traffic
from harness.soak_diff import print_diff

MASTER = "sk-ocigate-soak-master"
REDIS_URL = "redis://127.0.0.1:6379/14"
TEAM_KEY = {"rpm": 1_000_000_000, "tpm": 2_000_000_000, "max_concurrent": 100_000}


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) * 1024 / 1e6 if match else 0.0


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of RSS (MB) against requests, in MB per 100,000 requests."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / var * 100_000


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    import asyncpg  # type: ignore[import-untyped]

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    name = f"ocigate_soak_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_team_key(port: int, n: int) -> str:
    body = json.dumps({"name": f"soak-{n}", "team": "soak", **TEAM_KEY}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{port}/admin/keys",
        data=body,
        headers={"Authorization": f"Bearer {MASTER}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return str(json.loads(reply.read())["secret"])


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop after this long (default 120)")
    parser.add_argument("--requests", type=int, default=10**9, help="stop after this many requests")
    parser.add_argument("--rate", type=float, default=100.0, help="requests started a second (default 100)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight at most (default 64)")
    parser.add_argument("--keys", choices=("both", "master", "team"), default="both")
    parser.add_argument("--backend", choices=("sqlite", "postgres-redis"), default="sqlite")
    parser.add_argument("--team-keys", type=int, default=4)
    parser.add_argument(
        "--stream-delay",
        type=float,
        default=0.005,
        help="seconds between the emulator's stream events (default 0.005: a stream lasts ~0.2 s, so a client that "
        "leaves after two events leaves mid-stream)",
    )
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples (default 5)")
    parser.add_argument("--warmup", type=int, default=10_000, help="requests before the slope's first point")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocations and diff snapshots")
    parser.add_argument(
        "--snapshots",
        default="5000,10000,40000",
        help="request counts: the first starts tracing, each later one takes a snapshot (default 5000,10000,40000)",
    )
    parser.add_argument("--max-slope", type=float, default=None, help="exit 1 above this MB per 100k requests")
    parser.add_argument("--gateway-env", action="append", default=[], metavar="KEY=VALUE")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the gateway and emulator are stopped too
    data = OUT / "soak-data"
    shutil.rmtree(data, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        env = {"OCIGATE_DATA_DIR": str(data)}
        if args.backend == "postgres-redis":
            env["OCIGATE_DATABASE_URL"] = stack.enter_context(postgres())
            env["OCIGATE_REDIS_URL"] = REDIS_URL
        return soak(args, env, stack)


def soak(args: argparse.Namespace, extra: dict[str, str], stack: contextlib.ExitStack) -> int:
    upstream_port, port = free_port(), free_port()
    command = [sys.executable, "-m", "ocigate", "emulator", "--port", str(upstream_port)]
    emulator = Child("soak-emulator", [*command, "--stream-delay", str(args.stream_delay)], 1)
    stack.enter_context(running(emulator))
    emulator.wait_ready(upstream_port, "/healthz")
    env = clean_env(
        {
            "ORACLE_BASE_URL": f"http://{HOST}:{upstream_port}/20231130/actions/v1",
            "ORACLE_API_KEY": "sk-emulator-chicago",
            "ORACLE_REGION": "us-chicago-1",
            "ORACLE_MODELS": f"{CHAT_MODEL},{RESPONSES_MODEL}",
            "OCIGATE_MASTER_KEY": MASTER,
            "OCIGATE_PORT": str(port),
            **extra,
        }
    )
    env.update(dict(item.split("=", 1) for item in args.gateway_env))
    traced = OUT / "soak-tracemalloc"
    wrapper = [sys.executable, str(ROOT / "bench" / "harness" / "soak_serve.py")]
    if args.tracemalloc:
        shutil.rmtree(traced, ignore_errors=True)
        wrapper += ["--tracemalloc", str(traced)]
    gateway = Child("soak-gateway", [*wrapper, "serve"], PROXY_CORE, env)
    stack.enter_context(running(gateway))
    gateway.wait_ready(port, "/readyz", timeout=120)
    team = [create_team_key(port, n) for n in range(args.team_keys)]
    traffic = Traffic(
        f"http://{HOST}:{port}", MASTER, team, keys=args.keys, rate=args.rate, concurrency=args.concurrency
    )
    marks = sorted(int(x) for x in args.snapshots.split(",") if x) if args.tracemalloc else []
    points: list[tuple[int, float]] = []
    began = time.monotonic()
    last = [began]
    print(f"soak: keys={args.keys} backend={args.backend} rate={args.rate}/s; gateway pid {gateway.pid}", flush=True)
    print(f"{'s':>6} {'requests':>9} {'rps':>6} {'RSS MB':>7}", flush=True)
    start_rss = rss_mb(gateway.pid)
    points.append((0, start_rss))
    print(f"{0:6.0f} {0:9d} {0:6.0f} {start_rss:7.1f}", flush=True)

    async def tick() -> None:
        done = traffic.counts.done
        while marks and done >= marks[0]:
            marks.pop(0)
            os.kill(gateway.pid, signal.SIGUSR1)
        now = time.monotonic()
        if now - last[0] >= args.sample:
            last[0] = now
            rss = rss_mb(gateway.pid)
            points.append((done, rss))
            rps = done / (now - began)
            print(f"{now - began:6.0f} {done:9d} {rps:6.0f} {rss:7.1f}", flush=True)

    asyncio.run(traffic.run(args.requests, args.seconds, tick))
    time.sleep(1.0)
    points.append((traffic.counts.done, rss_mb(gateway.pid)))
    return report(args, traffic, points, traced)


def report(args: argparse.Namespace, traffic: Traffic, points: list[tuple[int, float]], traced: Path) -> int:
    counts = traffic.counts
    print(f"requests: {counts.done} by kind {dict(counts.by_kind)}; by status {dict(counts.by_status)}")
    if counts.unexpected:
        print(f"UNEXPECTED answers (first {len(counts.unexpected)}): {counts.unexpected}")
    after = [(x, y) for x, y in points if x >= args.warmup]
    figure = slope(after)
    base = after[0][1] if after else None
    if figure is None or base is None:
        print(f"slope: n/a (fewer than 3 samples after the {args.warmup}-request warm-up)")
    else:
        end = points[-1][1]
        print(
            f"RSS after warm-up ({after[0][0]} requests): {base:.1f} MB; at the end ({points[-1][0]} requests): "
            f"{end:.1f} MB ({end / base:.2f}x)"
        )
        print(f"slope after warm-up: {figure:+.2f} MB per 100,000 requests ({len(after)} samples)")
    if args.tracemalloc:
        snaps = sorted(traced.glob("snapshot-*.pickle"), key=lambda p: int(p.stem.split("-")[1]))
        if len(snaps) >= 2:
            print_diff(snaps[0], snaps[-1])
    status = 1 if counts.unexpected else 0  # a wrong answer (a 5xx, a refused team key...) spoils the figures
    if args.max_slope is not None and (figure is None or figure > args.max_slope):
        print(f"FAIL: slope above {args.max_slope} MB per 100,000 requests")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
