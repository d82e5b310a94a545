"""The cost of keys, limits and usage, measured as interleaved A/B rounds: robust on a machine whose speed drifts.

Separate targets are measured minutes apart; on a shared machine the speed of the gateway's core drifts by more
than the 20 % this target allows (two runs of the same code have differed by 25 %). Here the three gateways run
at once, each pinned to the proxy core and idle while another is loaded, behind one emulator; wrk loads them in
turn, round after round (A, B, C, then A, B, C …), and each round's figures are divided by the A of the same
round. The medians of those ratios are the result:

- A, ``off``: the master key, ``OCIGATE_USAGE=off``: no key, no limit, no usage;
- B, ``keys``: a virtual key with every limit set (rpm, tpm, concurrency, a USD budget; none reached), usage on;
- C, ``usage``: the master key, usage on (the gateway as shipped).

Usage: ``python bench/run.py --interleaved`` (also part of a default run; ``--quick`` makes it short).
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.governance import create_key
from harness.layout import HOST, LOAD_CORE, PROXY_CORE, log
from harness.machine import wait_quiet
from harness.processes import Child, clean_env, free_port
from harness.targets import EMULATOR_PREFIX, MASTER_KEY, MODELS, UPSTREAM_KEY, data_dir, emulator_cmd
from harness.workloads import BODY, STREAM_BODY, post
from harness.wrk import lua_script, run_wrk

VARIANTS: dict[str, dict[str, str]] = {
    "off": {"OCIGATE_USAGE": "off"},
    "keys": {},
    "usage": {},
}
LABELS = {
    "off": "A: master key, usage off",
    "keys": "B: virtual key with every limit, usage on",
    "usage": "C: master key, usage on (as shipped)",
}
THRESHOLD = 0.8


@dataclass
class Interleaved:
    rounds: int
    seconds: float
    rps: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # load -> variant -> per round
    problems: list[str] = field(default_factory=list)

    def ratios(self, load: str, variant: str) -> list[float]:
        base, mine = self.rps[load]["off"], self.rps[load][variant]
        return [m / b for m, b in zip(mine, base, strict=True) if b]

    def median(self, load: str, variant: str) -> float | None:
        found = self.ratios(load, variant)
        return statistics.median(found) if found else None

    def passed(self) -> bool:
        figures = [self.median(load, "keys") for load in ("non-stream", "stream")]
        return all(f is not None and f >= THRESHOLD for f in figures)


def measure_interleaved(quick: bool, quiet_s: float, ours: set[int]) -> Interleaved:
    rounds, seconds = (2, 2.0) if quick else (5, 4.0)
    result = Interleaved(rounds, seconds)
    emulator_port = free_port()
    upstream = f"http://{HOST}:{emulator_port}{EMULATOR_PREFIX}"
    emulator = Child("ab-emulator", emulator_cmd(emulator_port), LOAD_CORE, clean_env({}))
    gateways: dict[str, tuple[Child, int]] = {}
    try:
        emulator.start().wait_ready(emulator_port, "/healthz")
        ours.add(emulator.pid)
        for name, extra in VARIANTS.items():
            port = free_port()
            env = clean_env(
                {
                    "ORACLE_BASE_URL": upstream,
                    "ORACLE_API_KEY": UPSTREAM_KEY,
                    "ORACLE_MODELS": MODELS,
                    "OCIGATE_MASTER_KEY": MASTER_KEY,
                    "OCIGATE_DATA_DIR": str(data_dir(f"ab-{name}")),
                    **extra,
                }
            )
            command = [sys.executable, "-m", "ocigate", "serve", "--port", str(port)]
            child = Child(f"ab-{name}", command, PROXY_CORE, env).start()
            gateways[name] = (child, port)
        for child, port in gateways.values():
            child.wait_ready(port, "/readyz")
            ours.add(child.pid)
        keys = {name: MASTER_KEY for name in VARIANTS}
        keys["keys"] = create_key("ab-keys", gateways["keys"][1], MASTER_KEY).secret
        scripts: dict[tuple[str, str], Path] = {}
        for name, key in keys.items():
            for load, body in (("non-stream", BODY), ("stream", STREAM_BODY)):
                scripts[(name, load)] = lua_script(f"ab-{name}-{load}", body, key)
                status, _ = post(gateways[name][1], "/v1/chat/completions", body, key)
                if status != 200:
                    raise RuntimeError(f"ab-{name}: the check request got {status}")
        for load in ("non-stream", "stream"):
            result.rps[load] = {name: [] for name in VARIANTS}
            for name in VARIANTS:  # a warm-up each
                run_wrk(f"ab-{name}-{load}-warm", _url(gateways[name][1]), scripts[(name, load)], 32, 1.0)
            for round_ in range(rounds):
                wait_quiet(ours, quiet_s)
                for name in VARIANTS:
                    run = run_wrk(
                        f"ab-{name}-{load}-{round_}", _url(gateways[name][1]), scripts[(name, load)], 32, seconds
                    )
                    if not run.valid:
                        result.problems.append(f"{name} {load} round {round_}: {run.problem}")
                    result.rps[load][name].append(run.rps if run.valid else 0.0)
            log(f"interleaved {load}: " + ", ".join(f"{n} {result.rps[load][n]}" for n in VARIANTS))
    finally:
        for child, _ in gateways.values():
            child.stop()
        emulator.stop()
    return result


def _url(port: int) -> str:
    return f"http://{HOST}:{port}/v1/chat/completions"


def interleaved_section(result: Interleaved | None) -> list[str]:
    if result is None:
        return []
    lines = [
        "",
        f"Keys, limits and usage, interleaved: three gateways on the proxy core, loaded in turn for {result.rounds} "
        f"rounds of {result.seconds:g} s per load (32 connections); each figure is divided by A's in the same "
        "round, and the table gives the median of those ratios (and the per-round requests/s).",
        "",
        "| variant | non-stream x of A | stream x of A | non-stream req/s by round | stream req/s by round |",
        "|---|---:|---:|---|---|",
    ]
    for name in VARIANTS:
        cells = []
        for load in ("non-stream", "stream"):
            median = result.median(load, name)
            cells.append("-" if median is None else f"{median:.2f}")
        per_round = [", ".join(f"{v:.0f}" for v in result.rps[load][name]) for load in ("non-stream", "stream")]
        lines.append(f"| {LABELS[name]} | {cells[0]} | {cells[1]} | {per_round[0]} | {per_round[1]} |")
    verdict = "PASS" if result.passed() else "FAIL"
    figures = " and ".join(f"{load} {result.median(load, 'keys') or 0:.2f}x" for load in ("non-stream", "stream"))
    lines += ["", f"Target: throughput with keys, limits and usage >= {THRESHOLD}x without (B/A, median): {figures}: "
              f"{verdict}"]  # fmt: skip
    lines += [f"- invalid load: {problem}" for problem in result.problems]
    return lines
