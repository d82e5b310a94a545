"""The table "Keys, limits and usage on the hot path": the gateway without usage recording (a), as shipped with the
master key, with a virtual key whose every limit is set (b), and the same with the limits in Redis (c), their
ratios to (a), the issue's target, and the usage records checked against the requests served."""

from __future__ import annotations

from harness.cells import fmt
from harness.measure import RUN_OF, TargetResult
from harness.targets import REDIS_URL

OFF, DEFAULT, ON, REDIS = "ocigate-gov-off", "ocigate", "ocigate-gov-on", "ocigate-gov-redis"
LABELS = {OFF: "(a)", ON: "(b)", REDIS: "(c)"}
TARGET = 0.8  # throughput with keys, limits and usage >= 0.8 x without
KEYS = ("rps_nonstream", "rps_stream")


def cell(result: TargetResult, key: str, digits: int) -> str:
    """A load's figure, or why it does not count."""
    run = result.runs.get(RUN_OF[key])
    if run is None:
        return "n/a"
    return fmt(result.figure(key), digits) if run.valid else f"INVALID ({run.problem})"


def ratio(result: TargetResult | None, base: TargetResult | None, key: str) -> float | None:
    """``result``'s figure over ``base``'s, both valid."""
    if result is None or base is None or not result.valid(key) or not base.valid(key):
        return None
    mine, theirs = result.figure(key), base.figure(key)
    return mine / theirs if mine is not None and theirs else None


def throughput_ratio(results: list[TargetResult], name: str) -> tuple[float | None, float | None]:
    """(non-streaming, streaming) throughput of ``name`` over (a)'s."""
    by_name = {r.name: r for r in results if not r.error}
    mine, base = by_name.get(name), by_name.get(OFF)
    return ratio(mine, base, "rps_nonstream"), ratio(mine, base, "rps_stream")


def verdict_rows(results: list[TargetResult]) -> list[str]:
    """The Targets table's rows for keys, limits and usage: the lower of the two throughput ratios, each variant."""
    names = {r.name for r in results}
    if OFF not in names:
        return []
    rows = []
    for name, label in (
        (ON, "throughput with keys, limits and usage (x of without)"),
        (REDIS, "the same, limits in Redis"),
    ):
        if name not in names:
            continue
        found = [r for r in throughput_ratio(results, name) if r is not None]
        if len(found) < 2:
            rows.append(f"| {label} | >= {TARGET:g} | n/a | FAIL (not measured or invalid) |")
            continue
        worst = min(found)
        rows.append(f"| {label} | >= {TARGET:g} | {worst:.2f} | {'PASS' if worst >= TARGET else 'FAIL'} |")
    return rows


def target_line(results: list[TargetResult], name: str, label: str) -> str:
    nonstream, stream = throughput_ratio(results, name)
    if nonstream is None or stream is None:
        return f"{label}: n/a (not measured or invalid): FAIL"
    verdict = "PASS" if min(nonstream, stream) >= TARGET else "FAIL"
    return f"{label}: non-stream {nonstream:.2f}x, stream {stream:.2f}x: {verdict}"


def governance_section(results: list[TargetResult]) -> list[str]:
    by_name = {r.name: r for r in results}
    if not ({OFF, ON, REDIS} & set(by_name)):
        return []
    base = by_name.get(OFF)
    head = ["target", "key, usage, limits", "p50 ms", "rps non-stream", "rps stream"]
    head += ["p50 / (a)", "rps non-stream / (a)", "rps stream / (a)"]
    lines = [
        "Keys, limits and usage on the hot path. The gateway as `ocigate` runs it, on the same placement: (a) "
        "`OCIGATE_USAGE=off` and the master key (nothing recorded, no limits); `ocigate` itself (the master key, one "
        "usage record per request, the default); (b) a virtual key made with `POST /admin/keys` before the loads, "
        "with rpm, tpm, max_concurrent and a USD budget all set and none reached (each request authenticated "
        "through the key cache, checked against its models, admitted and settled by the limiter in memory, "
        f"recorded); (c) the same with the limits in Redis (`OCIGATE_REDIS_URL={REDIS_URL}`). Ratios to (a).",
        "",
        "| " + " | ".join(head) + " |",
        "|---|---|" + "---:|" * (len(head) - 2),
    ]
    for name in (OFF, DEFAULT, ON, REDIS):
        result = by_name.get(name)
        if result is None:
            if name in LABELS:
                why = "not measured (not in --targets, or skipped: see the notes)"
                lines.append(f"| {name} {LABELS[name]} | {why} |" + " |" * (len(head) - 2))
            continue
        label = f"{name} {LABELS.get(name, '')}".strip()
        if result.error:
            lines.append(f"| {label} | FAILED: {result.error} |" + " |" * (len(head) - 2))
            continue
        what = result.governance or ""
        cells = [
            label,
            what,
            cell(result, "p50_ms", 3),
            cell(result, "rps_nonstream", 0),
            cell(result, "rps_stream", 0),
        ]
        p50 = ratio(result, base, "p50_ms")
        cells += [fmt(p50, 2), fmt(ratio(result, base, "rps_nonstream"), 2), fmt(ratio(result, base, "rps_stream"), 2)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if ON in by_name:
        lines.append(
            "Target: " + target_line(results, ON, "throughput with keys, limits and usage >= 0.8x without (b)/(a)")
        )
    if REDIS in by_name:
        lines.append("Target, limits in Redis: " + target_line(results, REDIS, "(c)/(a)"))
    lines += ["", *usage_lines(results), ""]
    redis = by_name.get(REDIS)
    if redis is not None and not redis.error:
        cells = [f"{key} {fmt(run.helper_cpu_pct, 0)} %" for key, run in redis.runs.items()]
        if any(run.helper_cpu_pct is not None for run in redis.runs.values()):
            lines += [
                "redis-server's CPU during the (c) loads (it is not pinned: it shares the cores with the rest), % of "
                "one core: " + ", ".join(cells) + ".",
                "",
            ]
    return lines


def usage_lines(results: list[TargetResult]) -> list[str]:
    """What each governed target recorded, against what it served."""
    lines = []
    for result in results:
        if result.usage is None and result.usage_error is None:
            continue
        if result.usage is None:
            lines.append(f"- {result.name}: the usage check FAILED: {result.usage_error}")
            continue
        lines.append(f"- {result.name}: {result.usage.describe()}.")
    if not lines:
        return []
    return [
        "Usage records after the chat loads (`GET /admin/usage?by=key` with the master key, which writes the "
        "waiting records first), for the key the loads sent. They must equal the requests the gateway dispatched "
        "(its own count, `ocigate_requests_total` in `/metrics`), and lie between the requests completed (wrk's "
        "count of every warm-up and load, and the two checks) and that plus one per connection of every load: "
        "ending a load cuts the request each connection has in flight, which the gateway still serves and records "
        "(a stream whose client left as 499, a reply it finished as 200):",
        "",
        *lines,
    ]
