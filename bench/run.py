"""ocigate's benchmark: added latency, throughput, memory and start-up time against the bundled Oracle emulator.

    python bench/run.py [--duration 10] [--quick] [--write-results] [--peers litellm]

Targets, each measured in one run on this machine:

- ``direct``: wrk straight to the emulator (the reference every "added" figure subtracts);
- ``bare``: ``bench/bare_proxy.py``, a pass-through proxy that parses nothing (the floor of a Python gateway);
- ``ocigate``: ``python -m ocigate serve``, the gateway as shipped;
- ``litellm`` (with ``--peers litellm``, when it is importable): ``litellm --config cfg.yaml``.

Placement: the proxy under test runs on core 0 (``taskset -c 0``, one worker); the emulator, wrk and this
harness share core 1. See bench/README.md for what each figure means and the caveats.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = OUT / "results.json"

PROXY_CORE = 0
LOAD_CORE = 1
HOST = "127.0.0.1"
# A non-reasoning model: its 14-word reply streams as 17 SSE events (role, one per word, finish, [DONE]).
MODEL = "meta.llama-3.3-70b-instruct"
MODELS = "openai.gpt-oss-120b,meta.llama-3.3-70b-instruct"
UPSTREAM_KEY = "sk-emulator-chicago"
MASTER_KEY = "sk-ocigate-bench-key"
EMULATOR_PREFIX = "/20231130/actions/v1"
BODY: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say hello in one sentence."}],
    "max_tokens": 64,
}
STREAM_BODY: dict[str, Any] = {**BODY, "stream": True}

# The targets for ocigate: (figure, label, comparison, threshold).
TARGETS: list[tuple[str, str, str, float]] = [
    ("added_p50_ms", "added p50 latency (ms)", "<", 0.75),
    ("rps_nonstream", "non-streaming requests/s at 32 connections", ">=", 4000),
    ("rps_stream", "streaming requests/s at 32 connections", ">=", 3000),
    ("peak_rss_mb", "peak RSS (MB)", "<", 80),
    ("ready_ms", "time to ready (ms)", "<", 1000),
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------- processes


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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_", "LITELLM_"))}
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------------------------- targets


@dataclass
class Server:
    """How to start one server under test and talk to it."""

    name: str
    build: Callable[[int, str], list[str]]  # (port, upstream base URL) -> command
    core: int
    ready_path: str
    request_path: str
    key: str
    env: dict[str, str] = field(default_factory=dict)


def emulator_cmd(port: int, _upstream: str = "") -> list[str]:
    return [sys.executable, "-m", "ocigate", "emulator", "--port", str(port)]


def make_servers(peers: list[str], ocigate_env: dict[str, str], notes: list[str]) -> list[Server]:
    py = sys.executable
    servers = [
        Server("direct", emulator_cmd, LOAD_CORE, "/healthz", f"{EMULATOR_PREFIX}/chat/completions", UPSTREAM_KEY),
        Server(
            "bare",
            lambda port, up: [
                py,
                str(BENCH / "bare_proxy.py"),
                "--port",
                str(port),
                "--upstream",
                up,
                "--key",
                UPSTREAM_KEY,
            ],
            PROXY_CORE,
            "/healthz",
            "/v1/chat/completions",
            MASTER_KEY,
        ),
        Server(
            "ocigate",
            lambda port, _up: [py, "-m", "ocigate", "serve", "--port", str(port)],
            PROXY_CORE,
            "/readyz",
            "/v1/chat/completions",
            MASTER_KEY,
            env=ocigate_env,
        ),
    ]
    if "litellm" in peers:
        executable = shutil.which("litellm", path=f"{Path(py).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        if importlib.util.find_spec("litellm") is None or executable is None:
            notes.append("litellm: skipped, not importable in this Python (the benchmark does not install it)")
        else:
            exe: str = executable

            def litellm_cmd(port: int, up: str) -> list[str]:
                config = OUT / "litellm.yaml"
                config.write_text(
                    "model_list:\n"
                    f"  - model_name: {MODEL}\n"
                    "    litellm_params:\n"
                    f"      model: openai/{MODEL}\n"
                    f"      api_base: {up}\n"
                    f"      api_key: {UPSTREAM_KEY}\n"
                    "litellm_settings:\n"
                    "  telemetry: false\n"
                )
                return [exe, "--config", str(config), "--host", HOST, "--port", str(port), "--num_workers", "1"]

            servers.append(
                Server(
                    "litellm",
                    litellm_cmd,
                    PROXY_CORE,
                    "/health/liveliness",
                    "/v1/chat/completions",
                    MASTER_KEY,
                    env={"LITELLM_LOG": "ERROR"},
                )
            )
    return servers


def server_env(server: Server, upstream: str) -> dict[str, str]:
    env: dict[str, str] = {}
    if server.name == "ocigate":
        env = {
            "ORACLE_BASE_URL": upstream,
            "ORACLE_API_KEY": UPSTREAM_KEY,
            "ORACLE_MODELS": MODELS,
            "OCIGATE_MASTER_KEY": MASTER_KEY,
        }
    env.update(server.env)
    return clean_env(env)


# --------------------------------------------------------------------------------------------------------- wrk

LUA = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"connect\\":%d,\\"read\\":%d," ..
    "\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50_us\\":%.1f,\\"p90_us\\":%.1f,\\"p99_us\\":%.1f," ..
    "\\"mean_us\\":%.1f,\\"max_us\\":%.1f}}\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass
class WrkRun:
    label: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    bytes_per_response: float
    non_2xx: int
    socket_errors: dict[str, int]
    command: str
    proxy_cpu_pct: float | None = None  # CPU the proxy under test used during the load, % of one core
    upstream_cpu_pct: float | None = None  # the same for the emulator
    other_cpu_pct: float | None = None  # CPU used by processes outside the benchmark: noise
    other_busiest: list[str] = field(default_factory=list)
    steal_pct: float | None = None  # CPU the hypervisor took from this VM during the load, % of one core

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    @property
    def valid(self) -> bool:
        return self.errors == 0 and self.requests > 0


def lua_script(name: str, body: dict[str, Any], key: str) -> Path:
    path = OUT / f"{name}.lua"
    path.write_text(LUA.format(body=json.dumps(body, separators=(",", ":")), key=key))
    return path


def run_wrk(label: str, url: str, script: Path, connections: int, duration: float) -> WrkRun:
    cmd = [
        "taskset", "-c", str(LOAD_CORE), "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s",
        "--latency", "--timeout", "5s", "-s", str(script), url,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=False)
    (OUT / f"wrk-{label}.txt").write_text(f"$ {shlex.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    match = re.search(r"^BENCH-JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    raw = json.loads(match.group(1))
    # Cross-check the summary with wrk's own report of failed responses.
    shown = re.search(r"Non-2xx or 3xx responses: (\d+)", proc.stdout)
    non_2xx = max(int(raw["status"]), int(shown.group(1)) if shown else 0)
    requests = int(raw["requests"])
    seconds = int(raw["duration_us"]) / 1e6
    return WrkRun(
        label=label,
        connections=connections,
        duration_s=seconds,
        requests=requests,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        bytes_per_response=int(raw["bytes"]) / requests if requests else 0.0,
        non_2xx=non_2xx,
        socket_errors={k: int(raw[k]) for k in ("connect", "read", "write", "timeout")},
        command=shlex.join(cmd),
    )


# ------------------------------------------------------------------------------------------------- measurement


@dataclass
class TargetResult:
    name: str
    placement: str
    runs: dict[str, WrkRun] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    ready_ms: list[float] = field(default_factory=list)
    sanity: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    profiles: dict[str, str] = field(default_factory=dict)

    def figure(self, key: str) -> float | None:
        run = {"p50_ms": "latency", "p99_ms": "latency", "rps_nonstream": "nonstream", "rps_stream": "stream"}.get(key)
        if run is not None:
            if run not in self.runs:
                return None
            wrk = self.runs[run]
            return wrk.rps if key.startswith("rps") else float(getattr(wrk, key))
        if key == "peak_rss_mb":
            return self.peak_rss_mb
        if key == "ready_ms":
            return statistics.median(self.ready_ms) if self.ready_ms else None
        raise KeyError(key)

    def valid(self, key: str) -> bool:
        run = {"p50_ms": "latency", "p99_ms": "latency", "rps_nonstream": "nonstream", "rps_stream": "stream"}.get(key)
        return run is None or (run in self.runs and self.runs[run].valid)


def post(port: int, path: str, body: dict[str, Any], key: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def sanity_check(port: int, server: Server) -> dict[str, Any]:
    """One request of each kind before the loads: a wrong answer must not be counted as throughput."""
    status, data = post(port, server.request_path, BODY, server.key)
    reply = json.loads(data) if status == 200 else None
    if not reply or not reply.get("choices"):
        raise RuntimeError(f"{server.name}: non-streaming check failed: {status} {data[:300]!r}")
    status, stream = post(port, server.request_path, STREAM_BODY, server.key)
    events = [line for line in stream.split(b"\n") if line.startswith(b"data:")]
    if status != 200 or not events or events[-1].strip() != b"data: [DONE]":
        raise RuntimeError(f"{server.name}: streaming check failed: {status} {stream[-300:]!r}")
    return {
        "nonstream_bytes": len(data),
        "stream_bytes": len(stream),
        "stream_events": len(events),
        "content": reply["choices"][0].get("message", {}).get("content"),
    }


def measure_ready(server: Server, upstream: str, spawns: int, quiet_s: float, ours: set[int]) -> list[float]:
    times: list[float] = []
    for index in range(spawns):
        wait_quiet({os.getpid(), *ours}, quiet_s)
        port = free_port()
        child = Child(f"{server.name}-ready", server.build(port, upstream), server.core, server_env(server, upstream))
        with running(child):
            seconds = child.wait_ready(port, server.ready_path)
        times.append(seconds * 1000)
        log(f"  {server.name}: ready #{index + 1} in {seconds * 1000:.0f} ms")
        time.sleep(0.2)
    return times


def py_spy_record(pid: int, label: str, seconds: float) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if exe is None:
        return None
    out = OUT / f"py-spy-{label}.txt"
    cmd = ["taskset", "-c", str(LOAD_CORE), exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
           "--rate", "200", "--nonblocking", "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(OUT / "py-spy.log").open("ab"))


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


def measure(server: Server, args: argparse.Namespace) -> TargetResult:
    placement = (
        f"emulator + wrk on core {LOAD_CORE}"
        if server.name == "direct"
        else f"{server.name} on core {PROXY_CORE} (1 worker); emulator + wrk on core {LOAD_CORE}"
    )
    result = TargetResult(server.name, placement)
    emu_port = free_port()
    upstream = f"http://{HOST}:{emu_port}{EMULATOR_PREFIX}"
    emulator = Child(f"emulator-for-{server.name}", emulator_cmd(emu_port), LOAD_CORE, clean_env({}))
    with running(emulator):
        emulator.wait_ready(emu_port, "/healthz")
        if server.name == "direct":
            child, port = emulator, emu_port
            context: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        else:
            port = free_port()
            child = Child(server.name, server.build(port, upstream), server.core, server_env(server, upstream))
            context = running(child)
        with context:
            if child is not emulator:
                child.wait_ready(port, server.ready_path, timeout=60)
            result.sanity = sanity_check(port, server)
            url = f"http://{HOST}:{port}{server.request_path}"
            plain = lua_script(f"{server.name}-plain", BODY, server.key)
            stream = lua_script(f"{server.name}-stream", STREAM_BODY, server.key)
            log(f"{server.name}: warming up")
            run_wrk(f"{server.name}-warm-plain", url, plain, 32, args.warmup)
            run_wrk(f"{server.name}-warm-stream", url, stream, 32, max(1.0, args.warmup / 2))
            for key, script, conns in (("latency", plain, 1), ("nonstream", plain, 32), ("stream", stream, 32)):
                wait_quiet({os.getpid(), child.pid, emulator.pid}, args.wait_quiet)
                proxy_before, upstream_before, others = child.cpu_seconds(), emulator.cpu_seconds(), process_cpu()
                steal_before = steal_seconds()
                started = time.perf_counter()
                run = run_wrk(f"{server.name}-{key}", url, script, conns, args.duration)
                wall = time.perf_counter() - started
                if child is not emulator:
                    run.proxy_cpu_pct = 100 * (child.cpu_seconds() - proxy_before) / wall
                run.upstream_cpu_pct = 100 * (emulator.cpu_seconds() - upstream_before) / wall
                run.steal_pct = 100 * (steal_seconds() - steal_before) / wall
                run.other_cpu_pct, run.other_busiest = foreign_cpu(others, {os.getpid(), child.pid, emulator.pid}, wall)
                result.runs[key] = run
                flag = "" if run.valid else f"  INVALID: {run.non_2xx} non-2xx, socket errors {run.socket_errors}"
                log(
                    f"{server.name} {key:9} c={conns:<2} {run.rps:8.0f} req/s  p50 {run.p50_ms:.3f} ms  "
                    f"p99 {run.p99_ms:.3f} ms  ({run.requests} requests)  CPU: proxy {fmt(run.proxy_cpu_pct, 0)} %, "
                    f"emulator {fmt(run.upstream_cpu_pct, 0)} %, others {fmt(run.other_cpu_pct, 0)} %, "
                    f"steal {fmt(run.steal_pct, 0)} %"
                    + (f" ({', '.join(run.other_busiest)})" if (run.other_cpu_pct or 0) >= 5 else "")
                    + flag
                )
            result.peak_rss_mb = child.peak_rss_mb()
            if args.py_spy and server.name != "direct":
                for key, script in (("nonstream", plain), ("stream", stream)):
                    spy = py_spy_record(child.pid, f"{server.name}-{key}", args.duration)
                    if spy is None:
                        log("py-spy is not installed: no profile (pip install py-spy)")
                        break
                    time.sleep(0.3)
                    run_wrk(f"{server.name}-profiled-{key}", url, script, 32, args.duration)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        spy.wait(timeout=30)
                    result.profiles[key] = str(OUT / f"py-spy-{server.name}-{key}.txt")
        # Time to ready, on fresh processes; the emulator (the upstream of the proxies) is still up.
        if server.name != "direct":
            result.ready_ms = measure_ready(server, upstream, args.ready_spawns, args.wait_quiet, {emulator.pid})
    if server.name == "direct":
        result.ready_ms = measure_ready(server, "", args.ready_spawns, args.wait_quiet, set())
    return result


# ------------------------------------------------------------------------------------------------------ report


def fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def cell(result: TargetResult, key: str, digits: int) -> str:
    value = result.figure(key)
    if value is None:
        return "n/a"
    if not result.valid(key):
        run = result.runs["latency" if key.endswith("_ms") else key.removeprefix("rps_")]
        return f"INVALID ({run.errors} errors)"
    return fmt(value, digits)


def added(result: TargetResult, direct: TargetResult | None, key: str) -> float | None:
    if direct is None or result.name == "direct":
        return 0.0 if result.name == "direct" else None
    mine, base = result.figure(key), direct.figure(key)
    if mine is None or base is None or not result.valid(key) or not direct.valid(key):
        return None
    return mine - base


def table(results: list[TargetResult]) -> list[str]:
    direct = next((r for r in results if r.name == "direct"), None)
    head = ["target", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "rps non-stream", "rps stream"]
    head += ["peak RSS MB", "ready ms"]
    rows = [head, ["---"] + ["---:"] * (len(head) - 1)]
    for r in results:
        if r.error:
            rows.append([r.name, f"FAILED: {r.error}"] + [""] * (len(head) - 2))
            continue
        rows.append(
            [
                r.name,
                cell(r, "p50_ms", 3),
                cell(r, "p99_ms", 3),
                fmt(added(r, direct, "p50_ms"), 3),
                fmt(added(r, direct, "p99_ms"), 3),
                cell(r, "rps_nonstream", 0),
                cell(r, "rps_stream", 0),
                fmt(r.peak_rss_mb, 1),
                fmt(r.figure("ready_ms"), 0),
            ]
        )
    return ["| " + " | ".join(row) + " |" for row in rows]


def ratios(results: list[TargetResult]) -> list[str]:
    by_name = {r.name: r for r in results if not r.error}
    ours = by_name.get("ocigate")
    if ours is None:
        return []
    peers = [name for name in ("direct", "bare", "litellm") if name in by_name]
    lines = ["| ocigate vs | " + " | ".join(peers) + " |", "|---|" + "---:|" * len(peers)]
    for key, label in (
        ("p50_ms", "p50 latency (x)"),
        ("p99_ms", "p99 latency (x)"),
        ("rps_nonstream", "rps non-stream (x)"),
        ("rps_stream", "rps stream (x)"),
        ("peak_rss_mb", "peak RSS (x)"),
        ("ready_ms", "time to ready (x)"),
    ):
        cells = []
        for name in peers:
            mine, theirs = ours.figure(key), by_name[name].figure(key)
            ok = ours.valid(key) and by_name[name].valid(key)
            cells.append(f"{mine / theirs:.2f}" if ok and mine is not None and theirs else "n/a")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if "bare" in by_name:
        mine_added, bare_added = (
            added(ours, by_name.get("direct"), "p50_ms"),
            added(by_name["bare"], by_name.get("direct"), "p50_ms"),
        )
        if mine_added is not None and bare_added is not None:
            lines.append(f"| added p50 (ms over bare) | | {mine_added - bare_added:+.3f} |" + " |" * (len(peers) - 2))
    return lines


def cpu_table(results: list[TargetResult]) -> list[str]:
    rows = ["| target | c=1 | c=32 non-stream | c=32 stream |", "|---|---:|---:|---:|"]
    for r in results:
        if r.error:
            continue
        cells = []
        for key in ("latency", "nonstream", "stream"):
            run = r.runs.get(key)
            if run is None:
                cells.append("n/a")
            else:
                proxy = "-" if run.proxy_cpu_pct is None else fmt(run.proxy_cpu_pct, 0)
                cells.append(f"{proxy} / {fmt(run.upstream_cpu_pct, 0)} / {fmt(run.other_cpu_pct, 0)}")
        rows.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return rows


def ceiling_notes(results: list[TargetResult]) -> list[str]:
    """Say when a throughput target is above what even the references (direct, bare) reached: the upstream's core
    (emulator + wrk) is then the limit, and the target cannot be judged on this machine."""
    notes = []
    for key, label, _op, threshold in TARGETS:
        if not key.startswith("rps"):
            continue
        best = {
            r.name: value
            for r in results
            if r.name in ("direct", "bare") and not r.error and r.valid(key) and (value := r.figure(key)) is not None
        }
        if best and max(best.values()) < threshold:
            reached = ", ".join(f"{name} {value:.0f}/s" for name, value in best.items())
            notes.append(
                f"the {label} target ({threshold:g}) is above what the references reached here ({reached}): "
                "the emulator's core, shared with wrk, is the limit, so this target cannot be judged on this machine"
            )
    return notes


def verdicts(results: list[TargetResult]) -> list[str]:
    ours = next((r for r in results if r.name == "ocigate" and not r.error), None)
    if ours is None:
        return ["ocigate was not measured: no verdict."]
    direct = next((r for r in results if r.name == "direct" and not r.error), None)
    lines = ["| target | threshold | ocigate | verdict |", "|---|---|---:|---|"]
    for key, label, op, threshold in TARGETS:
        value = added(ours, direct, "p50_ms") if key == "added_p50_ms" else ours.figure(key)
        valid = ours.valid("p50_ms" if key == "added_p50_ms" else key)
        if value is None or not valid:
            verdict, shown = "FAIL (not measured or invalid)", "n/a"
        else:
            passed = value < threshold if op == "<" else value >= threshold
            verdict, shown = ("PASS" if passed else "FAIL"), f"{value:.3f}" if key.endswith("_ms") else f"{value:.1f}"
        lines.append(f"| {label} | {op} {threshold:g} | {shown} | {verdict} |")
    return lines


def machine() -> dict[str, str]:
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


def report(results: list[TargetResult], facts: dict[str, str], command: str, notes: list[str], dur: float) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {facts['cpu']}, {facts['nproc']} cores, Linux {facts['kernel']}, Python {facts['python']}, "
        f"{facts['wrk']}; {facts['date']}; ocigate {facts['commit']}",
        "",
        f"Placement: proxy under test on core {PROXY_CORE}, one worker; emulator + wrk on core {LOAD_CORE}. "
        f"{dur:g} s per load; latency at 1 connection, throughput at 32.",
        "",
        *table(results),
        "",
    ]
    lines += [
        "CPU used during each load, % of one core: proxy (core 0) / emulator (core 1, shared with wrk) / processes "
        "outside the benchmark (noise):",
        "",
        *cpu_table(results),
        "",
    ]
    ratio_lines = ratios(results)
    if ratio_lines:
        lines += ["Ratios (ocigate figure / peer figure):", "", *ratio_lines, ""]
    lines += ["Targets:", "", *verdicts(results), ""]
    lines += [f"Note: {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


RUN_MARK = "<!-- bench-run -->"
RESULTS_HEAD = """# Benchmark results

Written by `python bench/run.py --write-results`; the newest run first. See README.md in this folder for what
each figure means. The machine is noisy: compare runs made back to back, not across days.
"""


def write_results_md(text: str) -> None:
    previous: list[str] = []
    if RESULTS_MD.exists():
        previous = [part.strip() for part in RESULTS_MD.read_text().split(RUN_MARK)[1:] if part.strip()]
    runs = [text.strip(), *previous][:10]
    body = RESULTS_HEAD
    for index, run in enumerate(runs):
        title = "## Latest run" if index == 0 else "## Earlier run"
        run = re.sub(r"^## (Latest|Earlier) run\n\n", "", run)
        body += f"\n{RUN_MARK}\n{title}\n\n{run}\n"
    RESULTS_MD.write_text(body)


# -------------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark ocigate against a bare proxy and the emulator itself.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load (default 10)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s loads, 1 ready spawn")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--peers", default="", help="comma-separated peers to measure too: litellm")
    parser.add_argument("--targets", default="direct,bare,ocigate", help="which of direct,bare,ocigate to measure")
    parser.add_argument("--ready-spawns", type=int, default=3, help="fresh spawns for time to ready (median)")
    parser.add_argument(
        "--ocigate-env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for ocigate"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="before each load, wait up to this long for other processes to go quiet (default 30; 0: never)",
    )
    parser.add_argument("--py-spy", action="store_true", help="profile the proxies in extra loads after measuring")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.ready_spawns = 1
    args.warmup = 1.0 if args.quick else 2.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/run.py" + ("" if not sys.argv[1:] else " " + shlex.join(sys.argv[1:]))
    OUT.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.log", "*.lua", "wrk-*.txt", "py-spy-*.txt"):  # this run's files only
        for stale in OUT.glob(pattern):
            stale.unlink()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if (os.cpu_count() or 1) < 2:
        print("the benchmark needs 2 cores (proxy on core 0, emulator and wrk on core 1)", file=sys.stderr)
        return 2
    try:
        from ocigate.emulator import create_emulator_app  # noqa: F401
    except ImportError as exc:
        print(f"the emulator is not importable yet: {exc}", file=sys.stderr)
        return 2
    # A SIGTERM (timeout, CI) unwinds like Ctrl-C, so every child is stopped by the `finally` that owns it.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    # The harness itself stays off the proxy's core.
    os.sched_setaffinity(0, {LOAD_CORE})
    notes: list[str] = []
    ocigate_env = dict(item.split("=", 1) for item in args.ocigate_env)
    if ocigate_env:
        notes.append(f"ocigate ran with {' '.join(f'{k}={v}' for k, v in ocigate_env.items())}")
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    wanted = {t.strip() for t in args.targets.split(",") if t.strip()} | set(peers)
    servers = [s for s in make_servers(peers, ocigate_env, notes) if s.name in wanted]
    facts = machine()
    results: list[TargetResult] = []
    for server in servers:
        log(f"== {server.name}")
        try:
            results.append(measure(server, args))
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as exc:
            log(f"{server.name} FAILED: {exc}")
            results.append(TargetResult(server.name, "", error=str(exc)))
    if any(r.runs and not all(run.valid for run in r.runs.values()) for r in results):
        notes.append("some loads had errors: their figures are marked INVALID and count as failures")
    notes += ceiling_notes(results)
    noise = max((run.other_cpu_pct or 0.0 for r in results for run in r.runs.values()), default=0.0)
    if noise > 10:
        notes.append(
            f"processes outside the benchmark used up to {noise:.0f} % of a core during a load: the figures are "
            "disturbed; run again on a quiet machine"
        )
    steal = max((run.steal_pct or 0.0 for r in results for run in r.runs.values()), default=0.0)
    if steal > 10:
        notes.append(
            f"the hypervisor took up to {steal:.0f} % of a core during a load (steal): the figures are disturbed"
        )
    if "direct" not in wanted:
        notes.append("direct was not measured: no added latency")
    text = report(results, facts, command, notes, args.duration)
    print()
    print(text)
    for r in results:
        for key, path in r.profiles.items():
            print(f"py-spy, {r.name} {key} (self time by frame, {path}):")
            print("\n".join(profile_summary(Path(path))))
            print()
    RESULTS_JSON.write_text(
        json.dumps(
            {
                "command": command,
                "machine": facts,
                "duration_s": args.duration,
                "notes": notes,
                "targets": [
                    {
                        **{k: v for k, v in asdict(r).items() if k != "runs"},
                        "runs": {k: {**asdict(run), "valid": run.valid} for k, run in r.runs.items()},
                        "figures": {
                            key: r.figure(key)
                            for key in ("p50_ms", "p99_ms", "rps_nonstream", "rps_stream", "peak_rss_mb", "ready_ms")
                        }
                        if not r.error
                        else {},
                    }
                    for r in results
                ],
            },
            indent=2,
        )
        + "\n"
    )
    log(f"raw figures in {RESULTS_JSON.relative_to(ROOT)}; logs in {OUT.relative_to(ROOT)}/")
    if args.write_results:
        write_results_md(text)
        log(f"updated {RESULTS_MD.relative_to(ROOT)}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
