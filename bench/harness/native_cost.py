"""What the native path costs per request in CPU, apart from I/O: translation and signing, timed in-process.

The wrk loads show the native path end to end; this separates its two own costs, to set against the gateway's CPU
per request on the pass-through path (1 / its requests per second at 32 connections, a saturated core):

- translation: ``to_oci_chat_request`` of the bench request and ``from_oci_chat_response`` of its reply; for a
  stream, ``to_oci_chat_request`` and an ``OciStreamTranslator`` fed every event of the reply's native stream;
- the same with the JSON and SSE work that the native path adds to the pass-through one (which forwards the
  upstream's bytes): the request parsed again and the details serialised, the reply parsed and the completion
  serialised; for a stream, the SSE parsing and each read's chunks serialised, as ``NativeChatStream`` does;
- signing: ``OciRequestSigner.sign`` of the bench request's body, as the gateway signs it (RSA-2048 over the
  signed headers, the body's SHA-256).

The reply and the stream are recorded from the target's emulator with one signed request each (also the proof that
the signature is accepted), then saved in bench/out/native/. Each figure is the median over several repeats of
``time.perf_counter_ns`` around a batch of calls (sized to take about ``budget`` seconds), divided by its size.

Run by the harness in a fresh process on the proxy's core, after the target's loads:
``python -m harness.native_cost --endpoint http://127.0.0.1:PORT --out bench/out/native/cost.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.layout import PROXY_CORE, log
from harness.native import COMPARTMENT, ENDPOINT_VAR, GATEWAY_YAML, NATIVE_DIR, PROVIDER
from harness.pinned import run_pinned
from harness.workloads import BODY, MODEL, STREAM_BODY

COST_JSON = NATIVE_DIR / "cost.json"
CHAT_PATH = "/20231130/actions/chat"
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}  # as OciNativeProvider sends
SSE_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


@dataclass
class NativeCost:
    """Microseconds per request (median of the repeats), and what they were measured on."""

    request_us: float  # to_oci_chat_request, the non-streaming body
    reply_us: float  # from_oci_chat_response
    stream_request_us: float  # to_oci_chat_request, the streaming body
    stream_translator_us: float  # OciStreamTranslator over the whole stream, finish() included
    nonstream_codec_us: float  # translation + the JSON work the native path adds
    stream_codec_us: float  # translation + the JSON and SSE work the native path adds
    sign_us: float  # OciRequestSigner.sign
    stream_events: int
    stream_bytes: int
    reply_bytes: int
    request_bytes: int  # the signed body
    repeats: int
    batches: dict[str, int] = field(default_factory=dict)  # calls per timed batch
    spread: dict[str, float] = field(default_factory=dict)  # (max - min) / median of the repeats, per figure

    @property
    def nonstream_us(self) -> float:
        return self.request_us + self.reply_us

    @property
    def stream_us(self) -> float:
        return self.stream_request_us + self.stream_translator_us


def per_call_us(fn: Callable[[], object], budget_s: float, repeats: int) -> tuple[float, int, float]:
    """(median µs per call, calls per batch, spread) of ``repeats`` timed batches of about ``budget_s`` each."""
    calls = 1
    while True:  # calibrate: double until a batch takes 10 ms, then scale to the budget
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= 10_000_000:
            break
        calls *= 2
    calls = max(1, math.ceil(calls * budget_s * 1e9 / elapsed))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter_ns() - start) / calls / 1000)
    median = statistics.median(samples)
    return median, calls, (max(samples) - min(samples)) / median


def record(url: str, body: bytes, headers: dict[str, str], sign: Callable[..., dict[str, str]]) -> bytes:
    """One signed POST to the emulator's native chat: the answer's bytes (a non-2xx raises)."""
    signed = sign("POST", url, headers, body)
    request = urllib.request.Request(url, data=body, headers=signed, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        data: bytes = response.read()
    return data


def measure(endpoint: str, budget_s: float, repeats: int) -> NativeCost:
    import orjson

    from ocigate.catalog.models import find_model
    from ocigate.config.settings import load_settings
    from ocigate.core.sse import DONE_EVENT, SSEParser
    from ocigate.providers.oracle.signing import signer_for
    from ocigate.providers.oracle.stream import _events
    from ocigate.translate.oracle.chat import from_oci_chat_response, to_oci_chat_request
    from ocigate.translate.oracle.serving import ServingMode
    from ocigate.translate.oracle.stream import OciStreamTranslator

    # The provider exactly as the gateway reads it, and its signer.
    settings = load_settings({ENDPOINT_VAR: endpoint, "OCIGATE_CONFIG": str(GATEWAY_YAML)})
    provider = next(p for p in settings.providers if p.name == PROVIDER)
    signer = signer_for(provider)
    signer.build()
    url = provider.base_url + CHAT_PATH
    info, serving = find_model(MODEL), ServingMode.for_target(MODEL)

    def to_oci(request: dict[str, Any]) -> dict[str, Any]:
        return to_oci_chat_request(request, model_id=MODEL, compartment_id=COMPARTMENT, serving=serving, model=info)

    def from_oci(raw: dict[str, Any]) -> dict[str, Any]:
        return from_oci_chat_response(raw, model=MODEL, completion_id="chatcmpl-bench", created=1_800_000_000)

    def translator() -> OciStreamTranslator:
        return OciStreamTranslator(
            "GENERIC", model=MODEL, completion_id="chatcmpl-bench", created=1_800_000_000, include_usage=False
        )

    body, stream_body = orjson.dumps(BODY), orjson.dumps(STREAM_BODY)
    details = orjson.dumps(to_oci(BODY))
    reply = record(url, details, JSON_HEADERS, signer.sign)
    stream = record(url, orjson.dumps(to_oci(STREAM_BODY)), SSE_HEADERS, signer.sign)
    (NATIVE_DIR / "reply.json").write_bytes(reply)
    (NATIVE_DIR / "stream.sse").write_bytes(stream)
    raw = orjson.loads(reply)
    if not from_oci(raw)["choices"][0]["message"]["content"]:
        raise RuntimeError(f"the recorded native reply has no text: {reply[:300]!r}")
    data = [event.data for event in SSEParser().feed(stream)]
    reads = [block + b"\n\n" for block in stream.split(b"\n\n") if block.strip()]  # one read per event
    if len(data) != len(reads) or not data:
        raise RuntimeError(f"the recorded native stream did not parse: {stream[:300]!r}")

    def stream_translation() -> None:
        t = translator()
        for item in data:
            t.feed(item)
        t.finish()

    def nonstream_codec() -> None:
        orjson.dumps(to_oci(orjson.loads(body)))
        orjson.dumps(from_oci(orjson.loads(reply)))

    def stream_codec() -> None:  # as OciNativeProvider.open_stream and NativeChatStream do
        orjson.dumps(to_oci(orjson.loads(stream_body)))
        parser, t = SSEParser(), translator()
        for read in reads:
            chunks = [chunk for event in parser.feed(read) for chunk in t.feed(event.data)]
            if chunks:
                _events(chunks)
        _events(t.finish()) + DONE_EVENT

    timed: dict[str, Callable[[], object]] = {
        "request_us": lambda: to_oci(BODY),
        "reply_us": lambda: from_oci(raw),
        "stream_request_us": lambda: to_oci(STREAM_BODY),
        "stream_translator_us": stream_translation,
        "nonstream_codec_us": nonstream_codec,
        "stream_codec_us": stream_codec,
        "sign_us": lambda: signer.sign("POST", url, JSON_HEADERS, details),
    }
    figures: dict[str, float] = {}
    batches: dict[str, int] = {}
    spread: dict[str, float] = {}
    for name, fn in timed.items():
        figures[name], batches[name], spread[name] = per_call_us(fn, budget_s, repeats)
    return NativeCost(
        **figures,
        stream_events=len(data),
        stream_bytes=len(stream),
        reply_bytes=len(reply),
        request_bytes=len(details),
        repeats=repeats,
        batches=batches,
        spread=spread,
    )


def measure_native_cost(endpoint: str, quick: bool, quiet_s: float, ours: set[int]) -> NativeCost:
    """Runs :func:`measure` in a fresh process pinned to the proxy's core; raises RuntimeError when it fails."""
    log(f"ocigate-native: timing translation and signing in-process on core {PROXY_CORE}")
    cost = NativeCost(**run_pinned("native_cost", ["--endpoint", endpoint], COST_JSON, quick, quiet_s, ours))
    log(
        f"ocigate-native: translation {cost.nonstream_us:.1f} µs (stream {cost.stream_us:.1f} µs), "
        f"signing {cost.sign_us:.1f} µs per request"
    )
    return cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the native path's translation and signing in-process.")
    parser.add_argument("--endpoint", required=True, help="the emulator's root URL (it must know the bench key)")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per timed batch")
    parser.add_argument("--repeats", type=int, default=7, help="timed batches per figure (the median is kept)")
    args = parser.parse_args(argv)
    cost = measure(args.endpoint, args.budget, args.repeats)
    document = asdict(cost)
    COST_JSON.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps({**document, "python": platform.python_version()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
