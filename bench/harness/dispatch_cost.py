"""What routing and retries cost on the healthy path: the gateway's dispatcher timed in-process, against the same
provider called directly.

Every request of the gateway goes through ``RouteTable.resolve`` (its route) and ``Dispatcher.send`` or
``Dispatcher.open_stream`` (the routing strategy's order, the circuit breakers, the retry loop and its time budget,
the attempt records and the ``x-ocigate-*`` headers, the router's in-flight counts and latencies, the metrics
hooks) before its provider makes the one upstream call. Here the provider is a stub that answers at once from
memory, with the emulator's own reply and stream for the bench request (recorded once), so the difference between
a dispatched call and a direct one is the dispatcher's own CPU per request:

- ``direct``: ``provider.send`` of the body; for a stream, ``provider.open_stream``, every block read, ``aclose``;
- ``dispatched``: the same through ``RouteTable.resolve`` and the dispatcher as the gateway builds them
  (``app.py``: ``Router``, ``BreakerBoard`` and ``RetryPolicy`` with their defaults, ``Metrics`` as the hooks), the
  attempt headers included (``Sent.headers()``), the stream read through ``DispatchedStream``;
- ``no hooks``: the same with ``NullHooks``, which separates routing and retries from the metrics they feed;
- ``two deployments``: a configured route of two deployments (``weighted_random``, the default), as in the
  ``ocigate-routed`` target.

The stream is fed one block per SSE event, the most blocks the relay can see for this reply (the provider yields
one block per upstream read, several events each when they arrive together). Each figure is the median of several
timed batches of about ``budget`` seconds (``time.perf_counter_ns`` around awaited calls on uvloop, the gateway's
loop), the batches of every figure interleaved so that a slow moment of the machine hits them all.

Run by the harness in a fresh process on the proxy's core, after the ``ocigate`` target's loads, while its emulator
is up: ``python -m harness.dispatch_cost --upstream http://127.0.0.1:PORT/20231130/actions/v1``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import statistics
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.layout import OUT, PROXY_CORE, log
from harness.pinned import run_pinned
from harness.targets import UPSTREAM_KEY
from harness.workloads import BODY, MODEL, STREAM_BODY

DISPATCH_DIR = OUT / "dispatch"
COST_JSON = DISPATCH_DIR / "cost.json"
PATH = "chat/completions"
# What the gateway sends upstream for a stream when it records usage (the default): it asks for the usage chunk.
UPSTREAM_STREAM_BODY = {**STREAM_BODY, "stream_options": {"include_usage": True}}


@dataclass
class DispatchCost:
    """Microseconds per request (median of the repeats), and what they were measured on."""

    direct_send_us: float
    dispatch_send_us: float  # RouteTable.resolve + Dispatcher.send + Sent.headers(), Metrics hooks
    nohooks_send_us: float  # the same, NullHooks
    routed_send_us: float  # the same, a route of two deployments
    direct_stream_us: float
    dispatch_stream_us: float
    nohooks_stream_us: float
    routed_stream_us: float
    stream_blocks: int
    reply_bytes: int
    repeats: int
    batches: dict[str, int] = field(default_factory=dict)  # calls per timed batch
    spread: dict[str, float] = field(default_factory=dict)  # (max - min) / median of the repeats, per figure

    def overhead_us(self, kind: str, variant: str = "dispatch") -> float:
        """``variant`` (dispatch, nohooks, routed) minus direct, for ``kind`` send or stream."""
        return float(getattr(self, f"{variant}_{kind}_us")) - float(getattr(self, f"direct_{kind}_us"))


def record(url: str, body: dict[str, Any]) -> bytes:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {UPSTREAM_KEY}"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        data: bytes = response.read()
    return data


async def per_call_us(
    timed: dict[str, Callable[[], Awaitable[object]]], budget_s: float, repeats: int
) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
    """Per figure: median µs per call, calls per batch and spread of ``repeats`` interleaved batches."""
    sizes: dict[str, int] = {}
    for name, fn in timed.items():
        calls = 1
        while True:  # calibrate: double until a batch takes 10 ms, then scale to the budget
            start = time.perf_counter_ns()
            for _ in range(calls):
                await fn()
            elapsed = time.perf_counter_ns() - start
            if elapsed >= 10_000_000:
                break
            calls *= 2
        sizes[name] = max(1, math.ceil(calls * budget_s * 1e9 / elapsed))
    samples: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(repeats):
        for name, fn in timed.items():
            calls = sizes[name]
            start = time.perf_counter_ns()
            for _ in range(calls):
                await fn()
            samples[name].append((time.perf_counter_ns() - start) / calls / 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    spread = {name: (max(values) - min(values)) / medians[name] for name, values in samples.items()}
    return medians, sizes, spread


async def measure(upstream: str, budget_s: float, repeats: int) -> DispatchCost:
    from ocigate.config.policies import BreakerPolicy, RetryPolicy
    from ocigate.observe.metrics import Metrics
    from ocigate.providers.base import ListedModel, UpstreamReply
    from ocigate.routing.breaker import BreakerBoard
    from ocigate.routing.dispatch import Dispatcher
    from ocigate.routing.registry import ProviderState, Registry, RouteTable
    from ocigate.routing.router import Deployment, ModelRoute, Router

    reply = record(f"{upstream}/{PATH}", BODY)
    stream = record(f"{upstream}/{PATH}", UPSTREAM_STREAM_BODY)
    DISPATCH_DIR.mkdir(parents=True, exist_ok=True)
    (DISPATCH_DIR / "reply.json").write_bytes(reply)
    (DISPATCH_DIR / "stream.sse").write_bytes(stream)
    blocks = [block + b"\n\n" for block in stream.split(b"\n\n") if block.strip()]
    if not json.loads(reply).get("choices") or not blocks or b"[DONE]" not in blocks[-1]:
        raise RuntimeError(f"the recorded reply or stream is not a chat completion: {reply[:200]!r} {stream[-200:]!r}")

    class Stream:
        request_id: str | None = "opc-stub"

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._blocks()

        async def _blocks(self) -> AsyncIterator[bytes]:
            for block in blocks:
                yield block

        async def aclose(self) -> None:
            return None

    class Stub:
        """A provider that answers at once from memory."""

        type = "oracle"

        def __init__(self, name: str) -> None:
            self.name = name
            self.region: str | None = "us-chicago-1"
            self.base_url = upstream
            self._reply = UpstreamReply(200, reply, "opc-stub")

        async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply:
            return self._reply

        async def open_stream(self, path: str, body: bytes, *, model: str) -> Stream:
            return Stream()

        async def list_models(self) -> list[ListedModel] | None:
            return None

    def gateway(names: tuple[str, ...], hooks: bool) -> tuple[RouteTable, Dispatcher]:
        """The route table and dispatcher as ``app.py`` builds them; a route of every provider when several."""
        metrics = Metrics()
        breakers = BreakerBoard(BreakerPolicy(), on_change=metrics.on_circuit)
        registry = Registry()
        for name in names:
            registry.add(ProviderState(Stub(name), name, "oracle", (MODEL,), "configured"))
        table = RouteTable(registry, Router())
        if len(names) > 1:
            states = [registry.state(name) for name in names]
            table.add(ModelRoute(MODEL, tuple(table.deployment(s, MODEL) for s in states if s is not None)))
        deployments = [f"{name}/{MODEL}" for name in names]
        metrics.allow([MODEL, *deployments], deployments, names)
        return table, Dispatcher(table.router, breakers, metrics if hooks else None, RetryPolicy())

    body, stream_body = json.dumps(BODY).encode(), json.dumps(UPSTREAM_STREAM_BODY).encode()
    provider = Stub("oracle")
    deployment = Deployment(f"oracle/{MODEL}", provider, MODEL)

    def body_of(_deployment: Deployment) -> bytes:
        return body

    def stream_body_of(_deployment: Deployment) -> bytes:
        return stream_body

    async def direct_send() -> None:
        await provider.send(PATH, body_of(deployment), model=MODEL)

    async def direct_stream() -> None:
        opened = await provider.open_stream(PATH, stream_body_of(deployment), model=MODEL)
        try:
            async for _ in opened:
                pass
        finally:
            await opened.aclose()

    def dispatched(table: RouteTable, dispatcher: Dispatcher) -> tuple[Callable[[], Awaitable[None]], ...]:
        async def send() -> None:
            routed = table.resolve(MODEL)
            sent = await dispatcher.send(routed.route, PATH, body_of, pin=routed.pin)
            sent.headers()

        async def open_stream() -> None:
            routed = table.resolve(MODEL)
            opened = await dispatcher.open_stream(routed.route, PATH, stream_body_of, pin=routed.pin)
            opened.headers()
            try:
                async for _ in opened.stream:
                    pass
            finally:
                await opened.stream.aclose()

        return send, open_stream

    dispatch_send, dispatch_stream = dispatched(*gateway(("oracle",), hooks=True))
    nohooks_send, nohooks_stream = dispatched(*gateway(("oracle",), hooks=False))
    routed_send, routed_stream = dispatched(*gateway(("oracle-a", "oracle-b"), hooks=True))
    timed: dict[str, Callable[[], Awaitable[object]]] = {
        "direct_send_us": direct_send,
        "dispatch_send_us": dispatch_send,
        "nohooks_send_us": nohooks_send,
        "routed_send_us": routed_send,
        "direct_stream_us": direct_stream,
        "dispatch_stream_us": dispatch_stream,
        "nohooks_stream_us": nohooks_stream,
        "routed_stream_us": routed_stream,
    }
    figures, batches, spread = await per_call_us(timed, budget_s, repeats)
    return DispatchCost(
        **figures,
        stream_blocks=len(blocks),
        reply_bytes=len(reply),
        repeats=repeats,
        batches=batches,
        spread=spread,
    )


def measure_dispatch_cost(upstream: str, quick: bool, quiet_s: float, ours: set[int]) -> DispatchCost:
    """Runs :func:`measure` in a fresh process pinned to the proxy's core; raises RuntimeError when it fails."""
    log(f"ocigate: timing the dispatcher in-process on core {PROXY_CORE}")
    cost = DispatchCost(**run_pinned("dispatch_cost", ["--upstream", upstream], COST_JSON, quick, quiet_s, ours))
    log(
        f"ocigate: dispatch adds {cost.overhead_us('send'):.1f} µs per request "
        f"(stream {cost.overhead_us('stream'):.1f} µs) over calling the provider directly"
    )
    return cost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the gateway's dispatcher in-process against a direct call.")
    parser.add_argument("--upstream", required=True, help="the emulator's OpenAI-compatible base URL")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per timed batch")
    parser.add_argument("--repeats", type=int, default=7, help="timed batches per figure (the median is kept)")
    args = parser.parse_args(argv)
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - the gateway runs on uvloop wherever it installs
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        cost = runner.run(measure(args.upstream, args.budget, args.repeats))
    document = asdict(cost)
    COST_JSON.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps({**document, "python": platform.python_version()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
