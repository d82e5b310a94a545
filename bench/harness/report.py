"""The report: the main table, CPU, ratios to the peers, the native path's costs, the Responses loads, keys,
limits and usage, routing and retries, the issue's targets, and RESULTS.md."""

from __future__ import annotations

import re

from harness import governance_report, routing_report
from harness.cells import cpu_row, fmt
from harness.layout import LOAD_CORE, PROXY_CORE, RESULTS_MD
from harness.measure import RUN_OF, TargetResult, run_figure, run_valid
from harness.messages_report import messages_section
from harness.native_report import native_section
from harness.responses_report import responses_section
from harness.wrk import WrkRun

# The targets for ocigate: (figure, label, comparison, threshold).
TARGETS: list[tuple[str, str, str, float]] = [
    ("added_p50_ms", "added p50 latency (ms)", "<", 0.75),
    ("rps_nonstream", "non-streaming requests/s at 32 connections", ">=", 4000),
    ("rps_stream", "streaming requests/s at 32 connections", ">=", 3000),
    ("peak_rss_mb", "peak RSS (MB)", "<", 80),
    ("ready_ms", "time to ready (ms)", "<", 1000),
]


def load_cell(runs: dict[str, WrkRun], key: str, digits: int, prefix: str = "") -> str:
    """A load's figure, or why it does not count."""
    value = run_figure(runs, key, prefix)
    if value is None:
        return "n/a"
    if not run_valid(runs, key, prefix):
        return f"INVALID ({runs[prefix + RUN_OF[key]].problem})"
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
                load_cell(r.runs, "p50_ms", 3),
                load_cell(r.runs, "p99_ms", 3),
                fmt(added(r, direct, "p50_ms"), 3),
                fmt(added(r, direct, "p99_ms"), 3),
                load_cell(r.runs, "rps_nonstream", 0),
                load_cell(r.runs, "rps_stream", 0),
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
            cells = [f"{mine_added - bare_added:+.3f}" if name == "bare" else "" for name in peers]
            lines.append("| added p50 (ms over bare) |" + "".join(f" {c} |" if c else " |" for c in cells))
    return lines


def cpu_table(results: list[TargetResult]) -> list[str]:
    rows = ["| target | c=1 | c=32 non-stream | c=32 stream |", "|---|---:|---:|---:|"]
    return rows + [cpu_row(r.name, r.runs) for r in results if not r.error]


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
    extra = governance_report.verdict_rows(results) + routing_report.verdict_rows(results)
    ours = next((r for r in results if r.name == "ocigate" and not r.error), None)
    head = ["| target | threshold | ocigate | verdict |", "|---|---|---:|---|"]
    if ours is None:
        return ["ocigate was not measured: no verdict on its figures.", *(["", *head, *extra] if extra else [])]
    direct = next((r for r in results if r.name == "direct" and not r.error), None)
    lines = head
    for key, label, op, threshold in TARGETS:
        value = added(ours, direct, "p50_ms") if key == "added_p50_ms" else ours.figure(key)
        valid = ours.valid("p50_ms" if key == "added_p50_ms" else key)
        if value is None or not valid:
            verdict, shown = "FAIL (not measured or invalid)", "n/a"
        else:
            passed = value < threshold if op == "<" else value >= threshold
            verdict, shown = ("PASS" if passed else "FAIL"), f"{value:.3f}" if key.endswith("_ms") else f"{value:.1f}"
        lines.append(f"| {label} | {op} {threshold:g} | {shown} | {verdict} |")
    return lines + extra


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
    lines += native_section(results)
    lines += responses_section(results)
    lines += messages_section(results)
    lines += governance_report.governance_section(results)
    lines += routing_report.routing_section(results)
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
