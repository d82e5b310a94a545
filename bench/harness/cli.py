"""The command line: which targets to measure, then the report on stdout, results.json and RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.dispatch_cost import DISPATCH_DIR
from harness.headline import Headline, measure_headline
from harness.headline_report import headline_section
from harness.interleaved import Interleaved, interleaved_section, measure_interleaved
from harness.layout import LOAD_CORE, OUT, RESULTS_JSON, RESULTS_MD, ROOT, log
from harness.machine import facts
from harness.measure import RUN_OF, Options, TargetResult, measure
from harness.native import NATIVE_DIR
from harness.profiles import profile_summary
from harness.report import ceiling_notes, report, write_results_md
from harness.routed import ROUTED_DIR
from harness.targets import make_servers
from harness.workers import WorkersResult, measure_workers, workers_section
from harness.wrk import WrkRun

DEFAULT_TARGETS = (
    "headline,direct,bare,ocigate,ocigate-native,ocigate-gov-off,ocigate-gov-on,ocigate-gov-redis,ocigate-routed,"
    "interleaved,workers"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark ocigate against a bare proxy and the emulator itself.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load (default 10)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s loads, 1 ready spawn")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--peers", default="", help="comma-separated peers to measure too: litellm")
    parser.add_argument(
        "--targets", default=DEFAULT_TARGETS, help=f"which of {DEFAULT_TARGETS} to measure (default: all)"
    )
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
    parser.add_argument(
        "--install-peers",
        action="store_true",
        help="install LiteLLM's proxy (PyPI) and Portkey's gateway (npm) into bench/.peers/ and measure them in the "
        "headline",
    )
    parser.add_argument("--py-spy", action="store_true", help="profile the proxies in extra loads after measuring")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.ready_spawns = 1
    args.warmup = 1.0 if args.quick else 2.0
    return args


def preflight() -> str | None:
    """Why the benchmark cannot run here, or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed: apt-get install -y wrk"
    if (os.cpu_count() or 1) < 2:
        return "the benchmark needs 2 cores (proxy on core 0, emulator and wrk on core 1)"
    try:
        from ocigate.emulator import create_emulator_app  # noqa: F401
    except ImportError as exc:
        return f"the emulator is not importable yet: {exc}"
    return None


def run_notes(results: list[TargetResult], wanted: set[str]) -> list[str]:
    """What the reader must know about the figures: invalid loads, ceilings, noise."""
    notes: list[str] = []
    loads = [run for r in results for run in (*r.runs.values(), *r.responses.values(), *r.messages.values())]
    if any(not run.valid for run in loads):
        notes.append("some loads had errors: their figures are marked INVALID and count as failures")
    notes += ceiling_notes(results)
    noise = max((run.other_cpu_pct or 0.0 for run in loads), default=0.0)
    if noise > 10:
        notes.append(
            f"processes outside the benchmark used up to {noise:.0f} % of a core during a load: the figures are "
            "disturbed; run again on a quiet machine"
        )
    steal = max((run.steal_pct or 0.0 for run in loads), default=0.0)
    if steal > 10:
        notes.append(
            f"the hypervisor took up to {steal:.0f} % of a core during a load (steal): the figures are disturbed"
        )
    if "direct" not in wanted:
        notes.append("direct was not measured: no added latency")
    mismatched = [r.name for r in results if r.usage is not None and not r.usage.ok]
    if mismatched:
        notes.append(
            f"usage records do not match the requests served for {', '.join(mismatched)}: a gateway bug (see the "
            "usage lines under the table of keys, limits and usage)"
        )
    return notes


def loads_json(runs: dict[str, WrkRun]) -> dict[str, Any]:
    return {k: {**asdict(run), "valid": run.valid} for k, run in runs.items()}


def results_json(
    results: list[TargetResult], command: str, machine: dict[str, str], dur: float, notes: list[str]
) -> str:
    figures = (*RUN_OF, "peak_rss_mb", "ready_ms")
    targets = [
        {
            **{k: v for k, v in asdict(r).items() if k not in ("runs", "responses", "messages", "virtual_key")},
            "virtual_key": {k: v for k, v in asdict(r.virtual_key).items() if k != "secret"} if r.virtual_key else None,
            "runs": loads_json(r.runs),
            "responses": loads_json(r.responses),
            "messages": loads_json(r.messages),
            "figures": {key: r.figure(key) for key in figures} if not r.error else {},
        }
        for r in results
    ]
    document = {"command": command, "machine": machine, "duration_s": dur, "notes": notes, "targets": targets}
    return json.dumps(document, indent=2) + "\n"


def run_headline(args: argparse.Namespace, notes: list[str]) -> Headline | None:
    """The headline's interleaved rounds, with the peers installed first when asked (``--install-peers``)."""
    if args.install_peers:
        from harness.peers import install_peers

        notes += install_peers()
    log("== headline: master key, team key, native path (and peers), interleaved")
    try:
        return measure_headline(args.quick, args.wait_quiet, peers=True)
    except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as exc:
        log(f"headline FAILED: {exc}")
        notes.append(f"headline: failed: {exc}")
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/run.py" + ("" if not sys.argv[1:] else " " + shlex.join(sys.argv[1:]))
    OUT.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.log", "*.lua", "wrk-*.txt", "py-spy-*.txt"):  # this run's files only
        for stale in OUT.glob(pattern):
            stale.unlink()
    # The gateways' stores, the native key, the routed YAML, the dispatcher's recordings: fresh every run.
    for store in [*OUT.glob("*-data"), NATIVE_DIR, ROUTED_DIR, DISPATCH_DIR]:
        if store.exists():
            shutil.rmtree(store)
    problem = preflight()
    if problem is not None:
        print(problem, file=sys.stderr)
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
    notes += [f"{s.name}: skipped, {s.disabled}" for s in servers if s.disabled]
    servers = [s for s in servers if not s.disabled]
    options = Options(args.duration, args.warmup, args.ready_spawns, args.wait_quiet, args.py_spy, args.quick)
    machine = facts()
    headline: Headline | None = None
    if "headline" in wanted:
        headline = run_headline(args, notes)
    results: list[TargetResult] = []
    for server in servers:
        log(f"== {server.name}")
        try:
            results.append(measure(server, options))
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as exc:
            log(f"{server.name} FAILED: {exc}")
            results.append(TargetResult(server.name, "", error=str(exc)))
    interleaved: Interleaved | None = None
    if "interleaved" in wanted:
        log("== interleaved A/B: keys, limits and usage")
        try:
            interleaved = measure_interleaved(args.quick, args.wait_quiet, set())
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as exc:
            log(f"interleaved FAILED: {exc}")
            notes.append(f"interleaved A/B: failed: {exc}")
    workers: WorkersResult | None = None
    if "workers" in wanted:
        log("== workers: 1 and 2 worker processes")
        try:
            workers = measure_workers(args.quick, args.wait_quiet)
        except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as exc:
            log(f"workers FAILED: {exc}")
            notes.append(f"workers: failed: {exc}")
    notes += run_notes(results, wanted)
    text = report(results, machine, command, notes, args.duration)
    if headline is not None:
        text = "\n".join(headline_section(headline)) + "\n" + text
    if interleaved is not None:
        text += "\n".join(interleaved_section(interleaved)) + "\n"
    if workers is not None:
        text += "\n".join(workers_section(workers)) + "\n"
    print()
    print(text)
    for r in results:
        for key, path in r.profiles.items():
            print(f"py-spy, {r.name} {key} (self time by frame, {path}):")
            print("\n".join(profile_summary(Path(path))))
            print()
    RESULTS_JSON.write_text(results_json(results, command, machine, args.duration, notes))
    log(f"raw figures in {RESULTS_JSON.relative_to(ROOT)}; logs in {OUT.relative_to(ROOT)}/")
    if args.write_results:
        write_results_md(text)
        log(f"updated {RESULTS_MD.relative_to(ROOT)}")
    failed = (
        r.error
        or r.responses_error
        or r.messages_error
        or r.native_cost_error
        or r.dispatch_cost_error
        or r.usage_error
        for r in results
    )
    return 1 if any(failed) else 0
