"""The "Messages API over Chat Completions" table: a gateway's /v1/messages figures next to its own chat figures of
the same run, the ratios, and the translation's CPU time per request."""

from __future__ import annotations

from harness.cells import cpu_row, fmt
from harness.measure import TargetResult
from harness.messages import PREFIX
from harness.responses_report import KEYS, cell, figure, ratio
from harness.workloads import MODEL
from harness.wrk import WrkRun


def target_rows(result: TargetResult, direct: TargetResult | None) -> list[str]:
    name = result.name
    rows = [f"| {name} /v1/chat/completions | " + " | ".join(cell(result.runs, k, "", direct) for k in KEYS) + " |"]
    if result.messages_error and not result.messages:
        return [*rows, f"| {name} /v1/messages | FAILED: {result.messages_error} |" + " |" * (len(KEYS) - 1)]
    rows.append(f"| {name} /v1/messages | " + " | ".join(cell(result.messages, k, PREFIX, direct) for k in KEYS) + " |")
    cells = [ratio(figure(result.messages, k, PREFIX, direct), figure(result.runs, k, "", direct)) for k in KEYS]
    rows.append(f"| {name} messages / chat (x) | " + " | ".join(cells) + " |")
    return rows


def cpu_per_request(run: WrkRun | None) -> float | None:
    """The proxy's CPU microseconds per request served during a load (steadier than throughput on a busy machine)."""
    if run is None or not run.valid or run.proxy_cpu_pct is None or not run.requests:
        return None
    return run.proxy_cpu_pct / 100 * run.duration_s / run.requests * 1e6


def cpu_line(result: TargetResult) -> str | None:
    parts = []
    for load in ("nonstream", "stream"):
        chat, messages = cpu_per_request(result.runs.get(load)), cpu_per_request(result.messages.get(PREFIX + load))
        if chat is not None and messages is not None:
            parts.append(f"{load} chat {chat:.0f} µs, messages {messages:.0f} µs ({messages / chat:.2f}x)")
    if not parts:
        return None
    return f"{result.name}: gateway CPU per request at 32 connections: " + "; ".join(parts) + "."


def cost_line(result: TargetResult) -> str | None:
    cost = result.messages_cost
    if not cost:
        return None
    return (
        f"{result.name}: the translation alone, CPU time per request in-process (median of 5 rounds): request "
        f"{fmt(cost['request_us'], 1)} µs, answer {fmt(cost['answer_us'], 1)} µs, a 14-word stream "
        f"{fmt(cost['stream_us'], 1)} µs."
    )


def messages_section(results: list[TargetResult]) -> list[str]:
    gateways = [r for r in results if not r.error and (r.messages or r.messages_error)]
    if not gateways:
        return []
    direct = next((r for r in results if r.name == "direct" and not r.error), None)
    head = ["target, path", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "rps non-stream", "rps stream"]
    lines = [
        f"Anthropic's Messages API over Chat Completions on `{MODEL}`: each /v1/messages call is translated to a chat "
        "completion and the answer (or each stream event) back. Same gateway process, right after its chat loads; "
        "ratios against its own chat figures above.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    notes, cpu = [], []
    for result in gateways:
        lines += target_rows(result, direct)
        notes += [line for line in (cpu_line(result), cost_line(result)) if line]
        if result.messages_error and result.messages:
            notes.append(f"{result.name}: the Messages loads stopped early: {result.messages_error}")
        cpu.append(cpu_row(f"{result.name} /v1/messages", result.messages, PREFIX))
    lines += ["", *notes, ""] if notes else [""]
    lines += [
        "CPU during the Messages loads, % of one core (proxy / emulator / others):",
        "",
        "| target, path | c=1 | c=32 non-stream | c=32 stream |",
        "|---|---:|---:|---:|",
        *cpu,
        "",
    ]
    return lines
