"""The headline table (headline.py's figures): each path's medians over the rounds, its ratios to the master key's
in the same round, the targets of the governed and native paths, and how noisy the machine was."""

from __future__ import annotations

import statistics

from harness.headline import Headline, Variant

LABELS = {
    "master": "master key, usage on (OpenAI-compatible upstream)",
    "team": "team key, every limit on (rpm, tpm, concurrency, USD budget)",
    "native": "native API, IAM-signed (user principal, RSA-2048)",
    "litellm": "LiteLLM proxy (Python), same run",
    "portkey": "Portkey gateway (Node), same run",
}
TEAM_RPS, TEAM_STREAMS, TEAM_P50_MS, TEAM_RSS_MB, SIGN_FACTOR = 0.95, 0.9, 0.1, 60.0, 1.15


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _cell(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(mine: list[float], base: list[float]) -> float | None:
    """The median of the per-round ratios (rounds where both were measured)."""
    pairs = [m / b for m, b in zip(mine, base, strict=False) if b]
    return _median(pairs)


def added(result: Headline, variant: Variant) -> float | None:
    diffs = [p - d for p, d in zip(variant.p50_ms, result.direct_p50_ms, strict=False)]
    return _median(diffs)


def headline_section(result: Headline | None) -> list[str]:
    if result is None or not result.variants:
        return []
    master = result.variants.get("master")
    lines = [
        "## Headline: the paths companies use, interleaved",
        "",
        f"{len(result.variants)} servers on the proxy core, loaded in turn for {result.rounds} rounds of "
        f"{result.seconds:g} s per load (32 connections; p50 at 1); medians over the rounds. CPU per request: the "
        "proxy's CPU time over a load divided by the requests it completed.",
        "",
        "| path | req/s | streams/s | p50 ms | added p50 ms | CPU µs/req | CPU µs/stream | peak RSS MB "
        "| req/s x master | streams/s x master |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, v in result.variants.items():
        rps_x = ratio(v.rps["non-stream"], master.rps["non-stream"]) if master else None
        streams_x = ratio(v.rps["stream"], master.rps["stream"]) if master else None
        lines.append(
            f"| {LABELS.get(name, name)} | {_cell(_median(v.rps['non-stream']))} | {_cell(_median(v.rps['stream']))} "
            f"| {_cell(_median(v.p50_ms), 3)} | {_cell(added(result, v), 3)} "
            f"| {_cell(_median(v.cpu_us['non-stream']))} | {_cell(_median(v.cpu_us['stream']))} "
            f"| {_cell(v.peak_rss_mb, 1)} | {_cell(rps_x, 2)} | {_cell(streams_x, 2)} |"
        )
    lines += ["", *targets(result), *noise(result)]
    lines += [f"- skipped: {s}" for s in result.skipped]
    lines += [f"- invalid load: {p}" for p in result.problems]
    return [*lines, ""]


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def targets(result: Headline) -> list[str]:
    master, team, native = (result.variants.get(n) for n in ("master", "team", "native"))
    lines: list[str] = []
    if master and team:
        rps_x = ratio(team.rps["non-stream"], master.rps["non-stream"])
        streams_x = ratio(team.rps["stream"], master.rps["stream"])
        p50 = _median([t - m for t, m in zip(team.p50_ms, master.p50_ms, strict=False)])
        cpu_x = ratio(team.cpu_us["non-stream"], master.cpu_us["non-stream"])
        cpu_stream_x = ratio(team.cpu_us["stream"], master.cpu_us["stream"])
        lines += [
            f"Team key vs master key: req/s {_cell(rps_x, 2)}x (target >= {TEAM_RPS}): "
            f"{_verdict(None if rps_x is None else rps_x >= TEAM_RPS)}; streams/s {_cell(streams_x, 2)}x (>= "
            f"{TEAM_STREAMS}): {_verdict(None if streams_x is None else streams_x >= TEAM_STREAMS)}; p50 "
            f"{'-' if p50 is None else f'{p50:+.3f}'} ms (within {TEAM_P50_MS}): "
            f"{_verdict(None if p50 is None else p50 <= TEAM_P50_MS)}; peak RSS {_cell(team.peak_rss_mb, 1)} MB "
            f"(<= {TEAM_RSS_MB:g}): {_verdict(None if team.peak_rss_mb is None else team.peak_rss_mb <= TEAM_RSS_MB)}."
            f" CPU per request {_cell(cpu_x, 2)}x the master key's, per stream {_cell(cpu_stream_x, 2)}x.",
        ]
    sign_us = result.rsa_sign_us
    sign_rates = ", ".join(f"{r:,.0f}" for r in result.rsa_sign_per_s) or "not measured"
    lines.append(f"`openssl speed rsa2048` on the proxy core, before and after the rounds: {sign_rates} signatures/s"
                 + ("" if sign_us is None else f", one signature {sign_us:.0f} µs."))  # fmt: skip
    if master and native and sign_us is not None:
        base, mine = _median(master.cpu_us["non-stream"]), _median(native.cpu_us["non-stream"])
        pairs = [n - m for n, m in zip(native.cpu_us["non-stream"], master.cpu_us["non-stream"], strict=False)]
        extra = _median(pairs)
        budget = None if base is None else base + SIGN_FACTOR * sign_us
        ok = None if mine is None or budget is None else mine <= budget
        lines.append(
            f"Native IAM path: {_cell(mine)} µs of CPU per request against the compatible path's {_cell(base)} µs "
            f"(+{_cell(extra)} µs, median of the rounds' differences); budget {_cell(budget)} µs = compatible + "
            f"{SIGN_FACTOR} x {sign_us:.0f} µs: {_verdict(ok)}. Per stream: {_cell(_median(native.cpu_us['stream']))} "
            f"µs against {_cell(_median(master.cpu_us['stream']))} µs."
        )
    for peer in ("litellm", "portkey"):
        other = result.variants.get(peer)
        if master and other:
            rps_x = ratio(master.rps["non-stream"], other.rps["non-stream"])
            streams_x = ratio(master.rps["stream"], other.rps["stream"])
            cpu_x = ratio(other.cpu_us["non-stream"], master.cpu_us["non-stream"])
            team_x = ratio(team.rps["non-stream"], other.rps["non-stream"]) if team else None
            lines.append(
                f"ocigate (master key) vs {peer}: req/s {_cell(rps_x, 2)}x, streams/s {_cell(streams_x, 2)}x, "
                f"{_cell(cpu_x, 2)}x less CPU per request; team key vs {peer}: req/s {_cell(team_x, 2)}x."
            )
    return lines


def noise(result: Headline) -> list[str]:
    if not result.noise_pct:
        return []
    spread = ""
    master = result.variants.get("master")
    if master and len(master.rps["non-stream"]) > 1:
        low, high = min(master.rps["non-stream"]), max(master.rps["non-stream"])
        spread = (
            f" The master key's req/s ranged {low:,.0f} to {high:,.0f} over the rounds "
            f"({(high / low - 1) * 100:.0f} %)."
        )
    median, most = statistics.median(result.noise_pct), max(result.noise_pct)
    steal = max(result.steal_pct, default=0)
    return [
        "",
        f"Noise: processes outside the benchmark used a median {median:.0f} % and up to {most:.0f} % of a core during "
        f"the loads; steal up to {steal:.0f} %.{spread}",
    ]
