"""``ocigate serve --workers N``: requests per second at 1 and 2 workers, and the CPU time each request costs,
summed over every process of the server (the parent with its limit broker, and its workers).

Four gateways run at once behind one emulator: the OpenAI-compatible path at 1 and at 2 workers, and the
native path (``type: oci``, every request translated and signed with RSA-2048, about 295 µs of CPU) at 1 and
2 workers. wrk loads them in turn, round after round, so that the machine's drift falls on both alike:

- ``chat``: the master key, usage on (the gateway as shipped);
- ``chat, virtual key``: a key with every limit set (rpm, tpm, concurrency, a USD budget; none reached), so
  that each request is admitted and settled: in one process in memory, with 2 workers through the parent's
  limit broker (one round trip over a Unix socket per request);
- ``native``: the master key on the IAM-signed path, where the signing makes workers matter most.

The 1-worker gateway is pinned to the proxy core, as every other target of the benchmark; one 2-worker gateway
to the same core (the same CPU to spend, so the difference is what the process model costs: the broker's round
trips, the metrics in files, two event loops each less busy), another to both cores, where its second worker
shares the load core with wrk and the emulator: on this 2-core machine the requests per second of 2 workers are
bounded by that, and CPU time per request is the figure that says whether workers cost anything. The CPU is
read from /proc for the gateway's whole process tree before and after each load; ``workers_cost.py`` times what
workers add to a request in-process, which a busy machine disturbs far less.
"""

from __future__ import annotations

import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.governance import create_key
from harness.layout import HOST, LOAD_CORE, OUT, PROXY_CORE, log
from harness.machine import foreign_cpu, process_cpu, steal_seconds, wait_quiet
from harness.pinned import run_pinned
from harness.processes import Child, clean_env, free_port
from harness.targets import (
    EMULATOR_PREFIX,
    MASTER_KEY,
    NATIVE_DISABLED,
    data_dir,
    emulator_cmd,
    native_emulator_args,
    native_env,
    ocigate_env,
)
from harness.workloads import BODY, post
from harness.wrk import lua_script, run_wrk

VARIANTS: dict[str, tuple[int, str]] = {
    "1": (1, f"{PROXY_CORE}"),
    "2, one core": (2, f"{PROXY_CORE}"),
    "2": (2, f"{PROXY_CORE},{LOAD_CORE}"),
}
"""Name -> (workers, cores): 2 workers on the proxy core alone cost what the process model adds (the same CPU
to spend as 1 worker), on both cores what they gain."""
CONNECTIONS = 32
COST_JSON = OUT / "workers" / "cost.json"
LOADS = {"chat": "chat, master key", "key": "chat, virtual key (limits)", "native": "native, IAM-signed"}


@dataclass
class Cell:
    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    """CPU µs per request, the server's whole process tree."""

    def median(self, values: list[float]) -> float | None:
        return statistics.median(values) if values else None


@dataclass
class WorkersResult:
    rounds: int
    seconds: float
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    noise_pct: list[float] = field(default_factory=list)
    """CPU of processes outside the benchmark during each load, % of one core."""
    steal_pct: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)
    """The in-process timings of ``workers_cost.py``, µs per request."""


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and every process below it (workers, the resource tracker)."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, wanted = 0.0, {root}
    changed = True
    while changed:  # the descendants, however deep
        changed = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += seconds.get(pid, 0.0)
    return total


def _gateway(name: str, variant: str, env: dict[str, str]) -> tuple[Child, int]:
    count, cores = VARIANTS[variant]
    port = free_port()
    command = [sys.executable, "-m", "ocigate", "serve", "--port", str(port), "--workers", str(count)]
    child = Child(name, command, PROXY_CORE, clean_env(env))
    child.cmd = ["taskset", "-c", cores, *command]
    return child, port


def measure_workers(quick: bool, quiet_s: float) -> WorkersResult:
    rounds, seconds = (1, 2.0) if quick else (3, 5.0)
    result = WorkersResult(rounds, seconds)
    native = NATIVE_DISABLED is None
    emulator_port = free_port()
    upstream = f"http://{HOST}:{emulator_port}{EMULATOR_PREFIX}"
    extra = native_emulator_args() if native else []
    emulator = Child("workers-emulator", emulator_cmd(emulator_port, "", extra), LOAD_CORE, clean_env({}))
    gateways: dict[tuple[str, str], tuple[Child, int]] = {}
    try:
        emulator.start().wait_ready(emulator_port, "/healthz")
        for number, variant in enumerate(VARIANTS):
            env = {**ocigate_env(upstream), "OCIGATE_DATA_DIR": str(data_dir(f"workers-chat-{number}"))}
            gateways[("chat", variant)] = _gateway(f"workers-chat-{number}", variant, env)
            if native:
                env = {**native_env(upstream), "OCIGATE_DATA_DIR": str(data_dir(f"workers-native-{number}"))}
                gateways[("native", variant)] = _gateway(f"workers-native-{number}", variant, env)
        for child, _ in gateways.values():
            child.start()
        for child, port in gateways.values():
            child.wait_ready(port, "/readyz", timeout=60)
        ours = {os.getpid(), emulator.pid, *(child.pid for child, _ in gateways.values())}
        loads = ["chat", "key", *(["native"] if native else [])]
        if quick:
            loads = ["key", *(["native"] if native else [])]
        for load in loads:
            _run_load(load, gateways, result, ours, quiet_s)
        for child, _ in gateways.values():
            child.stop()
        result.cost = run_pinned("workers_cost", ["--out", str(COST_JSON)], COST_JSON, quick, quiet_s, ours)
    finally:
        for child, _ in gateways.values():
            child.stop()
        emulator.stop()
    if not native:
        result.problems.append(f"native: not measured, {NATIVE_DISABLED}")
    return result


def _run_load(
    load: str, gateways: dict[tuple[str, str], tuple[Child, int]], result: WorkersResult, ours: set[int], quiet: float
) -> None:
    scripts: dict[str, tuple[Child, int, Path]] = {}
    for variant in VARIANTS:
        child, port = gateways[("native" if load == "native" else "chat", variant)]
        key = create_key(child.name, port, MASTER_KEY).secret if load == "key" else MASTER_KEY
        status, answer = post(port, "/v1/chat/completions", BODY, key)
        if status != 200:
            raise RuntimeError(f"{child.name} {load}: the check request got {status}: {answer[:200]!r}")
        scripts[variant] = (child, port, lua_script(f"{child.name}-{load}", BODY, key))
        run_wrk(f"{child.name}-{load}-warm", _url(port), scripts[variant][2], CONNECTIONS, 1.0)
    for round_ in range(result.rounds):
        for variant in VARIANTS:
            child, port, script = scripts[variant]
            wait_quiet(ours, quiet)
            cell = result.cells.setdefault((load, variant), Cell())
            cpu_before, others, steal_before = tree_cpu(child.pid), process_cpu(), steal_seconds()
            run = run_wrk(f"{child.name}-{load}-{round_}", _url(port), script, CONNECTIONS, result.seconds)
            used = tree_cpu(child.pid) - cpu_before
            noise, _ = foreign_cpu(others, ours, run.duration_s or result.seconds)
            result.noise_pct.append(noise)
            result.steal_pct.append(100 * (steal_seconds() - steal_before) / (run.duration_s or result.seconds))
            if not run.valid or not run.requests:
                result.problems.append(f"{load} at {variant} worker(s), round {round_}: {run.problem}")
                continue
            cell.rps.append(run.rps)
            cell.cpu_us.append(1e6 * used / run.requests)
        log(f"workers {load} round {round_}: " + ", ".join(f"{v}: {result.cells[(load, v)].rps}" for v in VARIANTS))


def _url(port: int) -> str:
    return f"http://{HOST}:{port}/v1/chat/completions"


def workers_section(result: WorkersResult | None) -> list[str]:
    if result is None:
        return []
    lines = [
        "",
        f"Workers (`ocigate serve --workers N`): the same gateway at 1 and 2 workers, loaded in turn for "
        f"{result.rounds} round(s) of {result.seconds:g} s per load ({CONNECTIONS} connections); medians of the "
        "rounds. CPU per request is every process of the server (parent, limit broker, workers) from /proc. "
        "1 worker and '2, one core' run on the proxy core (the same CPU to spend: the difference is what the "
        "process model costs); '2' on both cores, the second shared with wrk and the emulator.",
        "",
        "| load | workers | req/s | x of 1 worker | CPU µs/request | CPU x of 1 worker | req/s by round |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for load, label in LOADS.items():
        base = result.cells.get((load, "1"))
        for variant in VARIANTS:
            cell = result.cells.get((load, variant))
            if cell is None or base is None:
                continue
            rps, cpu = cell.median(cell.rps), cell.median(cell.cpu_us)
            base_rps, base_cpu = base.median(base.rps), base.median(base.cpu_us)
            ratio = f"{rps / base_rps:.2f}" if rps and base_rps else "-"
            cpu_ratio = f"{cpu / base_cpu:.2f}" if cpu and base_cpu else "-"
            rounds = ", ".join(f"{v:.0f}" for v in cell.rps)
            lines.append(
                f"| {label} | {variant} | {rps or 0:.0f} | {ratio} | {cpu or 0:.0f} | {cpu_ratio} | {rounds} |"
            )
    if result.noise_pct:
        lines += [
            "",
            f"Noise: processes outside the benchmark used {statistics.median(result.noise_pct):.0f} % of a core "
            f"(median; up to {max(result.noise_pct):.0f} %) during these loads; steal up to "
            f"{max(result.steal_pct):.0f} %.",
        ]
    cost = result.cost
    if cost:
        lines += [
            "",
            "What workers add per request, timed in-process on the proxy core (workers_cost.py, medians): a virtual "
            f"key's admission and settlement {cost['limits_memory_us']:.1f} µs in memory, "
            f"{cost['limits_broker_us']:.1f} µs through the limit broker (both ends); one request's metrics "
            f"{cost['metrics_memory_us']:.1f} µs in one process, {cost['metrics_worker_us']:.1f} µs in a worker, "
            f"which copies them to the shared files once a second in {cost['metrics_sync_us']:.0f} µs "
            f"(prometheus_client's own multiprocess mode: {cost['metrics_prometheus_multiprocess_us']:.1f} µs a "
            "request).",
        ]
    lines += [f"- {problem}" for problem in result.problems]
    return lines
