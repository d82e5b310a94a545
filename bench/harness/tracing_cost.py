"""What tracing costs: gateways with tracing off and on, side by side, loaded in turn (interleaved rounds).

Three gateways run at once, each pinned to the proxy core behind one emulator, configured alike but for tracing:

- ``off``: tracing off (the default: no OpenTelemetry imported);
- ``on``: ``OCIGATE_TRACING=otlp``, every request sampled (the SDK's default sampler), spans batched and exported
  over OTLP/HTTP to a sink on the load core (``harness/otlp_sink.py``) that decodes and counts them;
- ``10%``: the same with ``OTEL_TRACES_SAMPLER=traceidratio``, ``OTEL_TRACES_SAMPLER_ARG=0.1``.

wrk loads them in turn, round after round. The figures per gateway and load: requests/s divided by ``off``'s in
the same round (median of the rounds), and the gateway's own CPU time per request (user + system, its export
thread included: read before the load and again once its batch processor had time to export what the load left;
``OTEL_BSP_SCHEDULE_DELAY`` is 1 s, about when a batch of 512 spans, the most the SDK sends at once, fills at
these rates anyway), whose difference to ``off`` is what tracing costs a request. The sink's count of spans
shows whether any were dropped (two spans a request: the server span and its attempt).

Usage: ``python bench/tracing.py`` (``--quick``: one round of 2 s per load, as CI runs it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.layout import HOST, LOAD_CORE, PROXY_CORE, ROOT, log
from harness.machine import wait_quiet
from harness.processes import Child, clean_env, free_port
from harness.targets import EMULATOR_PREFIX, MASTER_KEY, MODELS, UPSTREAM_KEY, data_dir, emulator_cmd
from harness.workloads import BODY, STREAM_BODY, post
from harness.wrk import lua_script, run_wrk

VARIANTS: dict[str, dict[str, str]] = {
    "off": {},
    "on": {"OCIGATE_TRACING": "otlp"},
    "10%": {"OCIGATE_TRACING": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
}
LOADS = {"non-stream": BODY, "stream": STREAM_BODY}
SETTLE_S = 1.5  # after a load: the batch processor's 1 s delay, and its export


@dataclass
class Rounds:
    rounds: int
    seconds: float
    rps: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # load -> variant -> per round
    cpu_us: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # CPU µs per request
    requests: dict[str, int] = field(default_factory=dict)  # variant -> requests answered, in all
    spans: dict[str, int] = field(default_factory=dict)  # variant -> spans the sink received
    problems: list[str] = field(default_factory=list)

    def ratio(self, load: str, variant: str) -> float | None:
        pairs = zip(self.rps[load][variant], self.rps[load]["off"], strict=True)
        found = [mine / base for mine, base in pairs if base]
        return statistics.median(found) if found else None

    def cpu(self, load: str, variant: str) -> float | None:
        found = [v for v in self.cpu_us[load][variant] if v > 0]
        return statistics.median(found) if found else None


def _gateway_env(name: str, upstream: str, sink: str) -> dict[str, str]:
    return clean_env(
        {
            "ORACLE_BASE_URL": upstream,
            "ORACLE_API_KEY": UPSTREAM_KEY,
            "ORACLE_MODELS": MODELS,
            "OCIGATE_MASTER_KEY": MASTER_KEY,
            "OCIGATE_DATA_DIR": str(data_dir(f"trace-{name}")),
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
            "OTEL_BSP_SCHEDULE_DELAY": "1000",
            "OTEL_SERVICE_NAME": f"ocigate-bench-{name}",
            **VARIANTS[name],
        }
    )


def _sink_count(port: int) -> int:
    with urllib.request.urlopen(f"http://{HOST}:{port}/count", timeout=5) as answer:
        return int(json.load(answer)["spans"])


def measure(quick: bool, quiet_s: float) -> Rounds:
    result = Rounds(*((1, 2.0) if quick else (5, 4.0)))
    emulator_port, sink_port = free_port(), free_port()
    ours: set[int] = set()
    emulator = Child("trace-emulator", emulator_cmd(emulator_port), LOAD_CORE, clean_env({}))
    sink = Child("trace-sink", [sys.executable, str(ROOT / "bench/harness/otlp_sink.py"), "--port", str(sink_port)],
                 LOAD_CORE, clean_env({}))  # fmt: skip
    gateways: dict[str, tuple[Child, int]] = {}
    try:
        emulator.start().wait_ready(emulator_port, "/healthz")
        sink.start().wait_ready(sink_port, "/count")
        ours |= {emulator.pid, sink.pid}
        upstream, sink_url = f"http://{HOST}:{emulator_port}{EMULATOR_PREFIX}", f"http://{HOST}:{sink_port}"
        for name in VARIANTS:
            port = free_port()
            command = [sys.executable, "-m", "ocigate", "serve", "--port", str(port)]
            gateways[name] = (
                Child(f"trace-{name}", command, PROXY_CORE, _gateway_env(name, upstream, sink_url)).start(),
                port,
            )
        for name, (child, port) in gateways.items():
            child.wait_ready(port, "/readyz")
            ours.add(child.pid)
            result.requests[name] = 0
            for load, body in LOADS.items():
                if post(port, "/v1/chat/completions", body, MASTER_KEY)[0] != 200:
                    raise RuntimeError(f"trace-{name}: the check request ({load}) failed")
                result.requests[name] += 1
        before = _sink_count(sink_port)
        for load, body in LOADS.items():
            _load(result, load, lua_script(f"trace-{load}", body, MASTER_KEY), gateways, ours, quiet_s)
        time.sleep(SETTLE_S)
        result.spans = {"all": _sink_count(sink_port) - before}
    finally:
        for child, _ in gateways.values():
            child.stop()
        sink.stop()
        emulator.stop()
    return result


def _load(
    result: Rounds, load: str, script: Path, gateways: dict[str, tuple[Child, int]], ours: set[int], quiet_s: float
) -> None:
    """One load's rounds: each gateway in turn, its requests/s and its CPU time per request."""
    result.rps[load] = {name: [] for name in VARIANTS}
    result.cpu_us[load] = {name: [] for name in VARIANTS}
    for name, (_, port) in gateways.items():  # a warm-up each
        run = run_wrk(f"trace-{name}-{load}-warm", _url(port), script, 32, 1.0)
        result.requests[name] += run.requests
    for round_ in range(result.rounds):
        wait_quiet(ours, quiet_s)
        for name, (child, port) in gateways.items():
            time.sleep(SETTLE_S)
            cpu = child.cpu_seconds()
            run = run_wrk(f"trace-{name}-{load}-{round_}", _url(port), script, 32, result.seconds)
            time.sleep(SETTLE_S)
            used = child.cpu_seconds() - cpu
            result.requests[name] += run.requests
            if not run.valid:
                result.problems.append(f"{name} {load} round {round_}: {run.problem}")
            result.rps[load][name].append(run.rps if run.valid else 0.0)
            result.cpu_us[load][name].append(used / run.requests * 1e6 if run.valid else 0.0)
    log(f"tracing {load}: " + ", ".join(f"{n} {result.rps[load][n]}" for n in VARIANTS))


def _url(port: int) -> str:
    return f"http://{HOST}:{port}/v1/chat/completions"


def section(result: Rounds) -> list[str]:
    lines = [
        f"Tracing, interleaved: three gateways on the proxy core, loaded in turn for {result.rounds} round(s) of "
        f"{result.seconds:g} s per load (32 connections). x of off: requests/s divided by off's in the same round "
        "(median); CPU: the gateway's own CPU time per request (median of the rounds), export thread included.",
        "",
        "| gateway | load | x of off | CPU µs/request | + µs vs off | req/s by round |",
        "|---|---|---:|---:|---:|---|",
    ]
    for load in LOADS:
        base = result.cpu(load, "off")
        for name in VARIANTS:
            ratio, cpu = result.ratio(load, name), result.cpu(load, name)
            extra = "" if name == "off" or cpu is None or base is None else f"{cpu - base:+.0f}"
            per_round = ", ".join(f"{v:.0f}" for v in result.rps[load][name])
            lines.append(
                f"| {name} | {load} | {'-' if ratio is None else f'{ratio:.2f}'} | "
                f"{'-' if cpu is None else f'{cpu:.0f}'} | {extra} | {per_round} |"
            )
    sampled = result.requests.get("on", 0) * 2
    lines += [
        "",
        f"Spans the sink received: {result.spans.get('all', 0)} (the fully sampled gateway answered "
        f"{result.requests.get('on', 0)} requests, {sampled} spans; the 10 % one about a tenth of its "
        f"{result.requests.get('10%', 0) * 2}).",
    ]
    lines += [f"- invalid load: {problem}" for problem in result.problems]
    return lines


def in_process(count: int) -> list[str]:
    """``harness/tracing_micro.py`` on the proxy core, exporting to a sink on the load core: the table's lines."""
    port = free_port()
    sink = Child("trace-sink-micro", [sys.executable, str(ROOT / "bench/harness/otlp_sink.py"), "--port", str(port)],
                 LOAD_CORE, clean_env({}))  # fmt: skip
    try:
        sink.start().wait_ready(port, "/count")
        command = ["taskset", "-c", str(PROXY_CORE), sys.executable, "-m", "harness.tracing_micro"]
        done = subprocess.run(
            [*command, "--sink", f"http://{HOST}:{port}", "--count", str(count)],
            cwd=ROOT / "bench", capture_output=True, text=True, timeout=600, check=True,
        )  # fmt: skip
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        spans = _sink_count(port)
    finally:
        sink.stop()
    lines = [
        "",
        f"In process (harness/tracing_micro.py, {count} requests a batch, median of 5): the CPU time tracing adds to "
        f"one request, its export thread included; the same loop untraced took {figures.pop('base'):.1f} µs.",
        "",
        "| tracing | + CPU µs/request |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {value:.1f} |" for name, value in figures.items()]
    lines.append(f"\nThe sink received {spans} spans from the OTLP run.")
    return lines
