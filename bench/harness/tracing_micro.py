"""What tracing costs a request in the gateway's own code, in process: robust where the loads are not.

One model request's tracing as the gateway runs it (``observe/tracing.py``: the server span around the ASGI call,
continued from no ``traceparent``; one attempt span with its trace context set for the upstream call; the usage
and the answer's attributes), around a request that does nothing else, timed as CPU time of the whole process
(``time.process_time``: the batch processor's export thread included, the spans flushed before the clock stops):

- ``unsampled``: the sampler says no (``OTEL_TRACES_SAMPLER=always_off``, or the 90 % a ratio leaves out);
- ``sampled, no export``: every request recorded, the spans handed to an exporter that drops them;
- ``sampled, OTLP``: every request recorded and exported over OTLP/HTTP (protobuf) to a sink in another process.

Each figure is the median of several batches, minus the same loop without tracing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

from ocigate.core.asgi import ASGIApp, Receive, Request, Scope, Send
from ocigate.core.notes import AccessNote
from ocigate.observe.tracing import Tracing, tracer_provider
from ocigate.routing.events import Attempt
from ocigate.routing.router import Deployment

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _Provider:
    """The little of a provider that a span reads."""

    name, type, region = "oracle", "oracle", "us-chicago-1"


def _app(tracing: Tracing | None, deployment: Deployment) -> ASGIApp:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request.note = AccessNote(model="m", provider="oracle", deployment=deployment.name, attempts="1")
        attempts: list[Attempt] = []

        async def call() -> int:
            attempts.append(Attempt("m", deployment.name, 200, 0.001))
            return 200

        if tracing is None:
            await call()
            return
        await tracing.attempt("m", deployment, attempts, call())
        tracing.on_tokens(12, 34)
        tracing.answered(request, 200)

    return inner if tracing is None else tracing.wrap(inner)


async def _batch(app: ASGIApp, count: int) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        return None

    for _ in range(count):
        await app(SCOPE, receive, send)


def _cpu_us(app: ASGIApp, flush: Callable[[], object], count: int, batches: int) -> float:
    asyncio.run(_batch(app, count // 4))  # warm-up
    flush()
    figures = []
    for _ in range(batches):
        started = time.process_time()
        asyncio.run(_batch(app, count))
        flush()
        figures.append((time.process_time() - started) / count * 1e6)
    return statistics.median(figures)


def measure(sink: str, count: int = 4000, batches: int = 5) -> dict[str, float]:
    """CPU µs per request that tracing adds, by set-up; ``sink`` is an OTLP/HTTP endpoint."""
    deployment = Deployment("oracle/m", _Provider(), "m")  # type: ignore[arg-type]
    base = _cpu_us(_app(None, deployment), lambda: None, count, batches)
    figures: dict[str, float] = {}
    setups: list[tuple[str, Sampler, SpanExporter | None]] = [
        ("unsampled", ALWAYS_OFF, _Drop()),
        ("sampled, no export", ALWAYS_ON, _Drop()),
        ("sampled, OTLP", ALWAYS_ON, None),
    ]
    for name, sampler, exporter in setups:
        if exporter is None:
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink
            provider = tracer_provider("otlp")  # the default sampler records every request
        else:
            provider = TracerProvider(sampler=sampler)
            provider.add_span_processor(BatchSpanProcessor(exporter))
        tracing = Tracing("otlp", provider)
        tracing.start()
        figures[name] = _cpu_us(_app(tracing, deployment), provider.force_flush, count, batches) - base
        tracing.shutdown()
    figures["base"] = base
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sink", required=True)
    parser.add_argument("--count", type=int, default=4000)
    args = parser.parse_args()
    print(json.dumps(measure(args.sink, args.count)))
