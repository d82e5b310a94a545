"""Tracing in the tests: a gateway whose spans go to OpenTelemetry's in-memory exporter, and the spans by name.

The gateway is built as ``OCIGATE_TRACING=otlp`` builds it, with a provider handed over before it starts, so that
every span is exported synchronously (``SimpleSpanProcessor``) and none leaves the process.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ocigate.app.runtime import Gateway, create_app
from ocigate.config.settings import load_settings
from tests.support.servers import ServerThread

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
"""A client's trace context (the W3C specification's example): trace 4bf9…4736, parent span 00f0…02b7, sampled."""
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


def memory_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@contextmanager
def traced_gateway(
    env: Mapping[str, str], *, config_file: str | None = None
) -> Iterator[tuple[ServerThread, Gateway, InMemorySpanExporter]]:
    """A gateway with tracing on, its spans in the exporter; stopped when the block ends."""
    env = {"OCIGATE_DATA_DIR": tempfile.mkdtemp(prefix="ocigate-data-"), "OCIGATE_TRACING": "otlp", **env}
    app = create_app(load_settings(env, config_file=config_file))
    assert app.runtime.tracing is not None
    provider, exporter = memory_provider()
    app.runtime.tracing.provider = provider
    server = ServerThread(app).start()
    deadline = time.monotonic() + 10
    while not app.runtime.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield server, app, exporter
    finally:
        server.stop()


def finished(
    exporter: InMemorySpanExporter,
    name_start: str,
    count: int = 1,
    timeout: float = 5.0,
    kind: SpanKind = SpanKind.SERVER,
) -> list[ReadableSpan]:
    """The exported spans of ``kind`` whose name starts with ``name_start``, once there are ``count`` of them (a
    server span ends once its answer was sent, which the client may see first), or what there is after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        spans = [s for s in exporter.get_finished_spans() if s.name.startswith(name_start) and s.kind == kind]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    """A span's trace and span ids in hex."""
    ctx = span.get_span_context()
    assert ctx is not None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def parent_id(span: ReadableSpan) -> str | None:
    return format(span.parent.span_id, "016x") if span.parent is not None else None
