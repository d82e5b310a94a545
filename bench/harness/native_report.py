"""The table "Native path: translation and signing cost": the native path's own CPU per request, timed in-process,
against the gateway's CPU per request on the pass-through path (1 / its requests per second at 32 connections)."""

from __future__ import annotations

from harness.cells import fmt
from harness.measure import TargetResult
from harness.native_cost import NativeCost

NATIVE = "ocigate-native"
PASS_THROUGH = "ocigate"


def us_per_request(result: TargetResult | None, key: str) -> float | None:
    """1 / requests per second, in µs: the CPU per request of a proxy whose core is saturated."""
    if result is None or result.error or not result.valid(key):
        return None
    rps = result.figure(key)
    return 1e6 / rps if rps else None


def share(part: float | None, whole: float | None) -> str:
    return f"{100 * part / whole:.1f} %" if part is not None and whole else "n/a"


def native_section(results: list[TargetResult]) -> list[str]:
    native = next((r for r in results if r.name == NATIVE), None)
    if native is None or (native.native_cost is None and native.native_cost_error is None):
        return []
    title = "Native path: translation and signing cost"
    if native.native_cost is None:
        return [f"{title}: FAILED: {native.native_cost_error}", ""]
    cost: NativeCost = native.native_cost
    passing = next((r for r in results if r.name == PASS_THROUGH), None)
    head = [
        "path",
        "translation µs/request",
        "with JSON + SSE µs/request",
        "signing µs/request",
        f"pass-through µs/request ({PASS_THROUGH})",
        "translation / pass-through",
        f"{NATIVE} µs/request (measured)",
    ]
    lines = [
        f"{title}. The native path's own work per request, timed in-process (a fresh process on the proxy's core, "
        "after the loads) on the bench request and its native reply recorded from the emulator, against the "
        f"gateway's CPU per request on the pass-through path ({PASS_THROUGH}): 1 / its requests per second at 32 "
        f"connections, where its core is saturated (see the CPU table); the last column is the same for {NATIVE}.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    notes = []
    for label, key, translation, codec in (
        ("chat, non-stream", "rps_nonstream", cost.nonstream_us, cost.nonstream_codec_us),
        (f"chat, stream ({cost.stream_events} events)", "rps_stream", cost.stream_us, cost.stream_codec_us),
    ):
        base, mine = us_per_request(passing, key), us_per_request(native, key)
        cells = [label, fmt(translation, 1), fmt(codec, 1), fmt(cost.sign_us, 1), fmt(base, 1)]
        cells += [share(translation, base), fmt(mine, 1)]
        lines.append("| " + " | ".join(cells) + " |")
        if base is not None and mine is not None:
            rest = mine - base - codec - cost.sign_us
            notes.append(
                f"{label}: a native request costs {mine - base:.1f} µs more than a pass-through one; "
                f"translation with its JSON and SSE work accounts for {codec:.1f} µs of that, signing for "
                f"{cost.sign_us:.1f} µs, and {rest:.1f} µs are other work of the native path that these timings do "
                "not isolate (`--py-spy` shows where)."
            )
    worst = max(cost.spread.values(), default=0.0)
    lines += [
        "",
        f"Translation: `to_oci_chat_request` {cost.request_us:.1f} µs + `from_oci_chat_response` "
        f"{cost.reply_us:.1f} µs; stream: `to_oci_chat_request` {cost.stream_request_us:.1f} µs + "
        f"`OciStreamTranslator` {cost.stream_translator_us:.1f} µs over {cost.stream_events} native events "
        f"({cost.stream_bytes} bytes). With JSON + SSE: the request parsed and the details serialised, the reply "
        f"({cost.reply_bytes} bytes) parsed and the completion serialised; for the stream, SSE parsing and the "
        f"chunks serialised per read. Signing: `OciRequestSigner.sign` of the {cost.request_bytes}-byte body "
        f"(RSA-2048). Median of {cost.repeats} timed batches each; the batches of a figure differ by up to "
        f"{100 * worst:.0f} % of it.",
        "",
    ]
    for note in notes:
        lines += [note, ""]
    return lines
