"""Two versions of the gateway, side by side: interleaved rounds of gateways built from different git revisions.

A refactoring must not cost throughput; separate runs minutes apart cannot show that on a machine whose speed
drifts by more than the change. Here each revision is checked out into a worktree of its own (under bench/out,
removed afterwards), and a gateway runs from each (``PYTHONPATH`` at the worktree's ``src``, the same virtualenv),
all pinned to the proxy core behind one emulator, configured alike (the master key, usage on: as shipped). wrk
loads them in turn, round after round, and each round's figures are divided by the first revision's in the same
round; the medians of those ratios are the result.

Usage::

    python bench/compare.py HEAD~5 HEAD               # non-streaming and streaming chat, 5 rounds of 4 s
    python bench/compare.py --rounds 7 --seconds 5 v1 v2 v3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.layout import HOST, LOAD_CORE, OUT, PROXY_CORE, ROOT, log
from harness.machine import wait_quiet
from harness.processes import Child, clean_env, free_port
from harness.targets import EMULATOR_PREFIX, MASTER_KEY, MODELS, UPSTREAM_KEY, data_dir, emulator_cmd
from harness.workloads import BODY, STREAM_BODY, post
from harness.wrk import lua_script, run_wrk

LOADS = {"non-stream": BODY, "stream": STREAM_BODY}


@dataclass
class Comparison:
    revisions: list[str]
    rounds: int
    seconds: float
    rps: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # load -> revision -> per round
    problems: list[str] = field(default_factory=list)

    def median_ratio(self, load: str, revision: str) -> float | None:
        base, mine = self.rps[load][self.revisions[0]], self.rps[load][revision]
        found = [m / b for m, b in zip(mine, base, strict=True) if b]
        return statistics.median(found) if found else None


def checkout(revision: str) -> tuple[str, Path]:
    """The revision's commit and a worktree of it under bench/out."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    where = OUT / f"rev-{commit[:12]}"
    if not where.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(where), commit], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
    return commit, where


def remove(where: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, capture_output=True)
    shutil.rmtree(where, ignore_errors=True)


def compare(revisions: list[str], rounds: int, seconds: float, quiet_s: float) -> Comparison:
    OUT.mkdir(parents=True, exist_ok=True)
    trees = {rev: checkout(rev) for rev in revisions}
    result = Comparison(revisions, rounds, seconds)
    ours: set[int] = set()
    emulator_port = free_port()
    emulator = Child("cmp-emulator", emulator_cmd(emulator_port), LOAD_CORE, clean_env({}))
    gateways: dict[str, int] = {}
    children: list[Child] = []
    try:
        emulator.start().wait_ready(emulator_port, "/healthz")
        ours.add(emulator.pid)
        for rev, (commit, tree) in trees.items():
            port = free_port()
            env = clean_env(
                {
                    "PYTHONPATH": str(tree / "src"),
                    "ORACLE_BASE_URL": f"http://{HOST}:{emulator_port}{EMULATOR_PREFIX}",
                    "ORACLE_API_KEY": UPSTREAM_KEY,
                    "ORACLE_MODELS": MODELS,
                    "OCIGATE_MASTER_KEY": MASTER_KEY,
                    "OCIGATE_DATA_DIR": str(data_dir(f"cmp-{commit[:12]}")),
                }
            )
            command = [sys.executable, "-m", "ocigate", "serve", "--port", str(port)]
            children.append(Child(f"cmp-{commit[:12]}", command, PROXY_CORE, env).start())
            gateways[rev] = port
        for child, port in zip(children, gateways.values(), strict=True):
            child.wait_ready(port, "/readyz")
            ours.add(child.pid)
        _load_in_turn(result, gateways, ours, quiet_s)
    finally:
        for child in children:
            child.stop()
        emulator.stop()
        for _, tree in trees.values():
            remove(tree)
    return result


def _load_in_turn(result: Comparison, gateways: dict[str, int], ours: set[int], quiet_s: float) -> None:
    for load, body in LOADS.items():
        scripts: dict[str, Path] = {}
        for rev, port in gateways.items():
            status, _ = post(port, "/v1/chat/completions", body, MASTER_KEY)
            if status != 200:
                raise RuntimeError(f"{rev}: the check request got {status}")
            scripts[rev] = lua_script(f"cmp-{load}-{len(scripts)}", body, MASTER_KEY)
            run_wrk(f"cmp-{load}-warm", _url(port), scripts[rev], 32, 1.0)
        result.rps[load] = {rev: [] for rev in gateways}
        for round_ in range(result.rounds):
            wait_quiet(ours, quiet_s)
            for rev, port in gateways.items():
                run = run_wrk(f"cmp-{load}-{round_}", _url(port), scripts[rev], 32, result.seconds)
                if not run.valid:
                    result.problems.append(f"{rev} {load} round {round_}: {run.problem}")
                result.rps[load][rev].append(run.rps if run.valid else 0.0)
        log(f"compare {load}: " + ", ".join(f"{rev} {figures}" for rev, figures in result.rps[load].items()))


def _url(port: int) -> str:
    return f"http://{HOST}:{port}/v1/chat/completions"


def report(result: Comparison) -> list[str]:
    lines = [
        f"Revisions compared in interleaved rounds ({result.rounds} of {result.seconds:g} s per load, 32 connections, "
        "each gateway alone on the proxy core while loaded); the ratio is the median of each round's figure divided "
        f"by {result.revisions[0]}'s in the same round.",
        "",
        "| revision | non-stream x | stream x | non-stream req/s by round | stream req/s by round |",
        "|---|---:|---:|---|---|",
    ]
    for rev in result.revisions:
        ratios = [result.median_ratio(load, rev) for load in LOADS]
        cells = ["-" if r is None else f"{r:.2f}" for r in ratios]
        per_round = [", ".join(f"{v:.0f}" for v in result.rps[load][rev]) for load in LOADS]
        lines.append(f"| {rev} | {cells[0]} | {cells[1]} | {per_round[0]} | {per_round[1]} |")
    lines += [f"- invalid load: {problem}" for problem in result.problems]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Interleaved throughput of gateways built from git revisions.")
    parser.add_argument("revisions", nargs="+", help="git revisions; the first is the baseline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--wait-quiet", type=float, default=30.0, dest="quiet")
    args = parser.parse_args(argv)
    result = compare(list(dict.fromkeys(args.revisions)), args.rounds, args.seconds, args.quiet)
    print("\n".join(report(result)))
    return 1 if result.problems else 0
