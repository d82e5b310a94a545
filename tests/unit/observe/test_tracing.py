"""``observe/tracing.py`` in process: dispatch's attempts as client spans under the current span, each carrying its
own ``traceparent`` to the provider for the length of its call; the ASGI wrapper's server span, continued from a
client's ``traceparent`` and only around model routes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from ocigate.core.asgi import Message, Receive, Scope, Send
from ocigate.core.logs import trace_ids, use_trace_ids
from ocigate.core.propagation import UPSTREAM_TRACE, with_trace
from ocigate.observe.tracing import Tracing
from ocigate.providers.base import UpstreamReply
from ocigate.routing.router import ModelRoute
from tests.support.fakes import OK, FakeProvider, FakeStream, body_for, deployment, make, oracle
from tests.support.tracing import CLIENT_SPAN, CLIENT_TRACE, TRACEPARENT, hex_ids, memory_provider, parent_id


@dataclass
class TracedProvider(FakeProvider):
    """A fake upstream that keeps the trace context each call was made with."""

    seen: list[Mapping[str, str] | None] = field(default_factory=list)

    async def _answer(self, path: str, body: bytes, model: str) -> UpstreamReply | FakeStream:
        self.seen.append(UPSTREAM_TRACE.get())
        return await super()._answer(path, body, model)


@pytest.fixture
def traced() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    provider, exporter = memory_provider()
    tracing = Tracing("otlp", provider)
    tracing.start()
    yield tracing, exporter
    use_trace_ids(None)


async def test_each_attempt_is_a_client_span_with_its_own_trace_context(
    traced: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = traced
    ord_, iad = TracedProvider("ord", [oracle(503)]), TracedProvider("iad", [oracle(429), OK], region="us-ashburn-1")
    setup = make([ModelRoute("gpt", (deployment(ord_), deployment(iad)))])
    setup.dispatcher.tracer = tracing
    assert tracing.provider is not None
    with tracing.provider.get_tracer("test").start_as_current_span("request") as request:
        assert trace_ids() == hex_ids(request)  # type: ignore[arg-type]
        sent = await setup.dispatcher.send(setup.router.route("gpt"), "chat/completions", body_for)  # type: ignore[arg-type]
    assert UPSTREAM_TRACE.get() is None and sent.deployment.name in ("ord/m", "iad/m")
    spans = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert [(s.attributes or {})["ocigate.attempt"] for s in spans] == list(range(1, len(sent.attempts) + 1))
    assert all(parent_id(s) == hex_ids(request)[1] for s in spans)  # type: ignore[arg-type]
    assert [(s.attributes or {})["http.response.status_code"] for s in spans] == [a.status for a in sent.attempts]
    assert [(s.attributes or {}).get("ocigate.retry.reason") for s in spans][1:] == [a.kind for a in sent.attempts[:-1]]
    assert [s.status.status_code for s in spans][-1] == StatusCode.UNSET
    assert all(s.status.status_code == StatusCode.ERROR for s in spans[:-1])
    # every call carried its own attempt's span as the parent, in the request's trace
    seen = [*ord_.seen, *iad.seen]
    sent_ids = sorted(str(headers["traceparent"])[:-3] for headers in seen if headers is not None)  # less the flags
    trace = hex_ids(request)[0]  # type: ignore[arg-type]
    assert len(seen) == len(spans) and sent_ids == sorted(f"00-{trace}-{hex_ids(s)[1]}" for s in spans)
    assert (spans[-1].attributes or {})["gen_ai.request.model"] == "m"


async def test_an_unsampled_request_sends_its_context_without_attempt_spans() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing("otlp", provider)
    tracing.start()
    ord_ = TracedProvider("ord", [oracle(503), OK])
    setup = make([ModelRoute("gpt", (deployment(ord_),))])
    setup.dispatcher.tracer = tracing
    with provider.get_tracer("test").start_as_current_span("request") as request:
        await setup.dispatcher.send(setup.router.route("gpt"), "chat/completions", body_for)  # type: ignore[arg-type]
    use_trace_ids(None)
    assert exporter.get_finished_spans() == ()
    ctx = request.get_span_context()
    sent = [headers["traceparent"] if headers else "" for headers in ord_.seen]
    assert [value[:-3] for value in sent] == [f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}"] * 2
    assert all(int(value[-2:], 16) & 1 == 0 for value in sent)  # not sampled


async def test_a_cancelled_attempt_ends_its_span(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = traced
    stuck = TracedProvider("ord", hang=True)
    setup = make([ModelRoute("gpt", (deployment(stuck),))])
    setup.dispatcher.tracer = tracing
    assert tracing.provider is not None
    with tracing.provider.get_tracer("test").start_as_current_span("request"):  # the task copies this context
        task = asyncio.ensure_future(setup.dispatcher.send(setup.router.route("gpt"), "chat/completions", body_for))  # type: ignore[arg-type]
        while not stuck.calls:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    [span] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert span.status.status_code == StatusCode.ERROR and (span.attributes or {})["error.type"] == "CancelledError"
    assert UPSTREAM_TRACE.get() is None


def test_with_trace_adds_the_headers_only_when_set() -> None:
    headers = {"content-type": "application/json"}
    assert with_trace(headers) is headers
    token = UPSTREAM_TRACE.set({"traceparent": TRACEPARENT})
    try:
        assert with_trace(headers) == {"content-type": "application/json", "traceparent": TRACEPARENT}
    finally:
        UPSTREAM_TRACE.reset(token)


async def call(app_scope: Scope, tracing: Tracing) -> list[tuple[str, str] | None]:
    """``app_scope`` through the wrapped app; what the inner app saw as its trace ids."""
    seen: list[tuple[str, str] | None] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(trace_ids())

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        return None

    await tracing.wrap(inner)(app_scope, receive, send)
    return seen


def scope(path: str, method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {"type": "http", "method": method, "path": path, "headers": headers or []}


async def test_the_server_span_continues_the_clients_trace(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = traced
    headers = [(b"traceparent", TRACEPARENT.encode()), (b"tracestate", b"a=1"), (b"baggage", b"user=me")]
    [ids] = await call(scope("/v1/chat/completions", headers=headers), tracing)
    [span] = exporter.get_finished_spans()
    assert span.kind == SpanKind.SERVER and span.name == "POST /v1/chat/completions"
    assert ids == hex_ids(span) and hex_ids(span)[0] == CLIENT_TRACE and parent_id(span) == CLIENT_SPAN
    ctx = span.get_span_context()
    assert ctx is not None and ctx.trace_state.to_header() == "a=1"
    assert (span.attributes or {})["gen_ai.operation.name"] == "chat"


@pytest.mark.parametrize(
    ("path", "method"), [("/healthz", "GET"), ("/metrics", "GET"), ("/v1/models", "GET"), ("/v1/responses", "GET")]
)
async def test_only_model_requests_are_traced(
    traced: tuple[Tracing, InMemorySpanExporter], path: str, method: str
) -> None:
    tracing, exporter = traced
    assert await call(scope(path, method), tracing) == [None]
    assert exporter.get_finished_spans() == ()


async def test_a_malformed_traceparent_starts_a_new_trace(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = traced
    await call(scope("/v1/embeddings", headers=[(b"traceparent", b"00-zz-yy-01")]), tracing)
    [span] = exporter.get_finished_spans()
    assert span.parent is None and (span.attributes or {})["gen_ai.operation.name"] == "embeddings"
