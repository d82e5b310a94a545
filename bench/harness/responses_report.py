"""The "Responses over Chat Completions" table: a gateway's /v1/responses figures next to its own chat figures of
the same run, the ratios, and what storing costs."""

from __future__ import annotations

from harness.cells import cpu_row, fmt
from harness.measure import RUN_OF, TargetResult, run_figure, run_valid
from harness.responses import VARIANTS
from harness.workloads import MODEL
from harness.wrk import WrkRun

KEYS = ("p50_ms", "p99_ms", "added_p50_ms", "added_p99_ms", "rps_nonstream", "rps_stream")
DIGITS = {"p50_ms": 3, "p99_ms": 3, "added_p50_ms": 3, "added_p99_ms": 3, "rps_nonstream": 0, "rps_stream": 0}


def figure(runs: dict[str, WrkRun], key: str, prefix: str, direct: TargetResult | None) -> float | None:
    """A figure of the loads ``<prefix><load>``; the added ones minus direct's chat figure, the same upstream work."""
    base_key = key.removeprefix("added_")
    if not run_valid(runs, base_key, prefix):
        return None
    value = run_figure(runs, base_key, prefix)
    if not key.startswith("added_"):
        return value
    if value is None or direct is None or not direct.valid(base_key):
        return None
    base = direct.figure(base_key)
    return None if base is None else value - base


def cell(runs: dict[str, WrkRun], key: str, prefix: str, direct: TargetResult | None) -> str:
    run = runs.get(prefix + RUN_OF[key.removeprefix("added_")])
    if run is not None and not run.valid:
        return f"INVALID ({run.problem})"
    return fmt(figure(runs, key, prefix, direct), DIGITS[key])


def ratio(mine: float | None, theirs: float | None) -> str:
    """``mine / theirs``; n/a when either is missing or not positive (an added figure below zero is noise)."""
    return f"{mine / theirs:.2f}" if mine is not None and theirs is not None and mine > 0 and theirs > 0 else "n/a"


def target_rows(result: TargetResult, direct: TargetResult | None) -> list[str]:
    name = result.name
    rows = [f"| {name} /v1/chat/completions | " + " | ".join(cell(result.runs, k, "", direct) for k in KEYS) + " |"]
    if result.responses_error and not result.responses:
        return [*rows, f"| {name} /v1/responses | FAILED: {result.responses_error} |" + " |" * (len(KEYS) - 1)]
    for variant in VARIANTS:
        prefix = variant.key + "-"
        cells = [cell(result.responses, k, prefix, direct) for k in KEYS]
        rows.append(f"| {name} {variant.label} | " + " | ".join(cells) + " |")
    for variant in VARIANTS:
        prefix = variant.key + "-"
        cells = [ratio(figure(result.responses, k, prefix, direct), figure(result.runs, k, "", direct)) for k in KEYS]
        short = "responses" if variant is VARIANTS[0] else "store: false"
        rows.append(f"| {name} {short} / chat (x) | " + " | ".join(cells) + " |")
    return rows


def storing_cost(result: TargetResult) -> str | None:
    """What storing each response costs: the stored variant against ``"store": false``."""
    stored, unstored = VARIANTS[0].key + "-", VARIANTS[1].key + "-"
    parts = []
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        mine, theirs = figure(result.responses, key, stored, None), figure(result.responses, key, unstored, None)
        if mine is not None and theirs is not None:
            parts.append(f"{label} {mine - theirs:+.3f} ms")
    for key, label in (("rps_nonstream", "non-streaming requests/s"), ("rps_stream", "streaming requests/s")):
        mine, theirs = figure(result.responses, key, stored, None), figure(result.responses, key, unstored, None)
        if mine is not None and theirs:
            parts.append(f"{label} {100 * (mine / theirs - 1):+.0f} %")
    if not parts:
        return None
    return f'{result.name}: storing each response (against `"store": false`) changes ' + ", ".join(parts) + "."


def responses_section(results: list[TargetResult]) -> list[str]:
    gateways = [r for r in results if not r.error and (r.responses or r.responses_error)]
    if not gateways:
        return []
    direct = next((r for r in results if r.name == "direct" and not r.error), None)
    head = ["target, path", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "rps non-stream", "rps stream"]
    lines = [
        f"Responses over Chat Completions: `{MODEL}` has no /responses at Oracle, so the gateway translates each "
        "call to Chat Completions and back, and stores the response (SQLite) unless told not to. Measured on the "
        "same gateway process right after its chat loads; added = minus direct's chat figures (the same work at "
        "the upstream); ratios against the gateway's own chat figures above.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    notes, cpu = [], []
    for result in gateways:
        lines += target_rows(result, direct)
        cost = storing_cost(result)
        notes += [cost] if cost else []
        if result.responses_error and result.responses:
            notes.append(f"{result.name}: the Responses loads stopped early: {result.responses_error}")
        if result.responses_peak_rss_mb is not None:
            notes.append(
                f"{result.name}: peak RSS {fmt(result.responses_peak_rss_mb, 1)} MB after the Responses loads "
                f"({fmt(result.peak_rss_mb, 1)} MB after the chat loads)."
            )
        cpu += [cpu_row(f"{result.name} {v.label}", result.responses, v.key + "-") for v in VARIANTS]
    lines += ["", *notes, ""] if notes else [""]
    lines += [
        "CPU during the Responses loads, % of one core (proxy / emulator / others):",
        "",
        "| target, path | c=1 | c=32 non-stream | c=32 stream |",
        "|---|---:|---:|---:|",
        *cpu,
        "",
    ]
    return lines
