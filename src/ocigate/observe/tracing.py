"""OpenTelemetry traces: a server span per model request, a client span per upstream attempt, W3C trace context
continued from clients and carried to Oracle.

Only imported when tracing is on (``OCIGATE_TRACING``, ``config/telemetry.py``): a gateway without it loads
nothing of OpenTelemetry, and its request path has no tracing code but one ``None`` check per upstream attempt.

- :meth:`Tracing.wrap` wraps the ASGI app: a ``POST`` to a model route (:data:`OPERATIONS`) runs inside a SERVER
  span, continued from the client's ``traceparent``/``tracestate`` when it sent one. The span ends when the ASGI
  call returns, which is once the whole answer was sent: a stream's span ends with the stream, or when the client
  left. Health checks, ``/metrics`` and admin calls are not traced.
- :meth:`Tracing.answered` (beside the access line, with what the pipeline noted) names the span
  ``{operation} {model}`` and sets the GenAI semantic conventions' attributes (``gen_ai.*``) and the gateway's
  (``ocigate.*``: deployment, attempts, request id); :meth:`Tracing.on_tokens` the settled token counts.
- :meth:`Tracing.attempt` is dispatch's ``AttemptTracer``: a CLIENT span per upstream attempt, child of the
  server span, with the attempt's deployment, region, status and, for a retry or failover, the failure it follows;
  for the length of the call ``core/propagation.UPSTREAM_TRACE`` holds that span's ``traceparent``, which the
  providers send to Oracle.

No attribute carries a secret or a prompt: every value is a name from the registry, a number, a status or an id.
The W3C propagator is used directly (not the global one), so only ``traceparent`` and ``tracestate`` cross the
gateway: a client's ``baggage`` is not forwarded to Oracle.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry import context, trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ocigate import __version__
from ocigate.core.asgi import ASGIApp, Receive, Request, Scope, Send
from ocigate.core.errors import GatewayError
from ocigate.core.logs import use_trace_ids
from ocigate.core.propagation import UPSTREAM_TRACE
from ocigate.routing.events import Attempt
from ocigate.routing.router import Deployment

_T = TypeVar("_T")

OPERATIONS: Mapping[str, tuple[str, str]] = {
    "/v1/chat/completions": ("chat", "chat"),
    "/v1/responses": ("chat", "responses"),
    "/v1/embeddings": ("embeddings", "embeddings"),
    "/v1/rerank": ("rerank", "rerank"),
}
"""The traced routes: path -> (``gen_ai.operation.name``, the gateway's endpoint)."""
SYSTEMS = {"oracle": "oci_genai", "oci": "oci_genai", "openai": "openai"}
"""``gen_ai.system`` by provider type."""
_CARRIED = (b"traceparent", b"tracestate")
_OPERATION: ContextVar[str] = ContextVar("ocigate_operation", default="chat")
_PROPAGATOR = TraceContextTextMapPropagator()


def tracer_provider(mode: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """The SDK's provider: the resource (``service.name`` "ocigate" unless ``OTEL_SERVICE_NAME`` or
    ``OTEL_RESOURCE_ATTRIBUTES`` say otherwise), the sampler (``OTEL_TRACES_SAMPLER``), and ``exporter`` (by
    default OTLP over HTTP, configured by ``OTEL_EXPORTER_OTLP_*``; the console for ``console``) batched
    (``OTEL_BSP_*``)."""
    resource = Resource.create({"service.name": "ocigate", "service.version": __version__})
    provider = TracerProvider(resource=resource.merge(OTELResourceDetector().detect()))
    if exporter is None:
        if mode == "console":
            exporter = ConsoleSpanExporter(out=sys.stderr)  # beside the log lines
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _trace_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids in hex, for log lines; None outside a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


class Tracing:
    """Spans of model requests and upstream attempts, made by ``provider`` (see the module docstring)."""

    def __init__(self, mode: str, provider: TracerProvider | None = None) -> None:
        self.mode = mode
        self.provider = provider
        """Made at :meth:`start` unless given (the tests give one with an in-memory exporter)."""
        self._tracer: trace.Tracer = trace.NoOpTracer()
        use_trace_ids(_trace_ids)

    def start(self) -> None:
        """The provider and its exporter, made in the serving process (its export thread with it)."""
        if self.provider is None:
            self.provider = tracer_provider(self.mode)
        self._tracer = self.provider.get_tracer("ocigate", __version__)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with a server span around every model request."""

        async def traced(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            operation = OPERATIONS.get(path) if scope["type"] == "http" and scope["method"] == "POST" else None
            if operation is None:
                await app(scope, receive, send)
                return
            parent = _extract(scope["headers"])
            span = self._tracer.start_span(
                f"POST {path}",
                parent,
                SpanKind.SERVER,
                {"http.request.method": "POST", "http.route": path, "gen_ai.operation.name": operation[0]},
            )
            if operation[1] != operation[0]:
                span.set_attribute("ocigate.endpoint", operation[1])
            token = context.attach(trace.set_span_in_context(span, parent))
            named = _OPERATION.set(operation[0])
            try:
                await app(scope, receive, send)
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            finally:
                _OPERATION.reset(named)
                context.detach(token)
                span.end()

        return traced

    def answered(self, request: Request, status: int) -> None:
        """The request's answer, on its server span: what the pipeline noted and the status the client got."""
        span = trace.get_current_span()
        if not span.is_recording() or request.path not in OPERATIONS:
            return
        note = request.note
        attributes: dict[str, str | int | bool] = {
            "http.response.status_code": status,
            "ocigate.request_id": request.id,
        }
        if note is not None:
            span.update_name(f"{_OPERATION.get()} {note.model}")
            attributes |= {"gen_ai.request.model": note.model, "ocigate.stream": note.stream}
            if note.deployment is not None:
                attributes["ocigate.deployment"] = note.deployment
            if note.attempts is not None:
                attributes["ocigate.attempts"] = int(note.attempts)
            if note.opc_request_id:
                attributes["ocigate.opc_request_id"] = note.opc_request_id
        failure = request.failure
        if failure is not None and "x-ocigate-attempts" in failure.headers:
            attributes["ocigate.attempts"] = int(failure.headers["x-ocigate-attempts"])
        if status >= 400:
            attributes["error.type"] = (failure.code if failure is not None else None) or str(status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR, str(attributes["error.type"])))
        span.set_attributes(attributes)

    def on_tokens(self, input_tokens: int, output_tokens: int) -> None:
        """A request's settled usage (governance's ``on_usage``, in the request's own task)."""
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(
                {"gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens}
            )

    async def attempt(
        self, model: str, deployment: Deployment, attempts: list[Attempt], call: Coroutine[Any, Any, _T]
    ) -> _T:
        """Dispatch's ``AttemptTracer``: ``call`` inside a client span, its trace context sent upstream. A request
        that is not sampled makes no attempt span: its upstream calls carry the (unsampled) server span's
        context, which is all a sampling decision downstream needs."""
        server = trace.get_current_span()
        carrier: dict[str, str] = {}
        if not server.is_recording():
            _PROPAGATOR.inject(carrier)
            token = UPSTREAM_TRACE.set(carrier)
            try:
                return await call
            finally:
                UPSTREAM_TRACE.reset(token)
        operation = _OPERATION.get()
        attributes: dict[str, str | int | bool] = {
            "gen_ai.operation.name": operation,
            "gen_ai.system": _system(deployment),
            "gen_ai.request.model": deployment.upstream_model,
            "ocigate.deployment": deployment.name,
            "cloud.region": deployment.region or "",
            "ocigate.attempt": len(attempts) + 1,
        }
        if attempts:
            attributes["ocigate.retry.reason"] = attempts[-1].kind or str(attempts[-1].status)
        name = f"{operation} {deployment.upstream_model}"
        span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
        token = UPSTREAM_TRACE.set(carrier)
        try:
            result = await call
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, "cancelled"))
            span.set_attribute("error.type", type(exc).__name__)
            raise
        else:
            _ended(span, attempts[-1], result if isinstance(result, GatewayError) else None)
            if not isinstance(result, GatewayError):
                server.set_attributes(
                    {
                        "gen_ai.system": attributes["gen_ai.system"],
                        "gen_ai.response.model": deployment.upstream_model,
                        "cloud.region": attributes["cloud.region"],
                    }
                )
            return result
        finally:
            UPSTREAM_TRACE.reset(token)
            span.end()

    def shutdown(self) -> None:
        """Exports what is left (bounded by ``OTEL_BSP_EXPORT_TIMEOUT``) and stops the exporter."""
        if self.provider is not None:
            self.provider.shutdown()
        self._tracer = trace.NoOpTracer()


def _extract(headers: Iterable[tuple[bytes, bytes]]) -> context.Context | None:
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers if name in _CARRIED}
    return _PROPAGATOR.extract(carrier) if carrier else None


def _system(deployment: Deployment) -> str:
    kind = deployment.provider.type
    return SYSTEMS.get(kind, kind)


def _ended(span: trace.Span, attempt: Attempt, err: GatewayError | None) -> None:
    span.set_attribute("http.response.status_code", attempt.status)
    if err is None:
        return
    span.set_attributes({"error.type": attempt.kind or err.code, "ocigate.error.code": err.code})
    if err.upstream_code:
        span.set_attribute("ocigate.upstream_code", err.upstream_code)
    span.set_status(Status(StatusCode.ERROR, attempt.kind or err.code))
