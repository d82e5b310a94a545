"""The trace context an upstream call carries: W3C ``traceparent`` (and ``tracestate``) for Oracle.

The tracing module (``observe/tracing.py``) sets :data:`UPSTREAM_TRACE` for the length of one upstream attempt, to
the headers of that attempt's span; the providers add them to the call with :func:`with_trace`. A context variable,
not an argument, because the providers sit below the layer that traces and their protocol carries no headers. With
tracing off it is never set, and :func:`with_trace` costs one ``ContextVar.get``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

UPSTREAM_TRACE: ContextVar[Mapping[str, str] | None] = ContextVar("ocigate_upstream_trace", default=None)
"""``{"traceparent": ..., "tracestate": ...}`` of the attempt in flight, or None."""


def with_trace(headers: Mapping[str, str]) -> Mapping[str, str]:
    """``headers`` plus the attempt's trace context headers, when one is set; ``headers`` itself otherwise."""
    trace = UPSTREAM_TRACE.get()
    return headers if trace is None else {**headers, **trace}
