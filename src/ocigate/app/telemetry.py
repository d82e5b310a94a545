"""Tracing and the access line, wired together: the tracing ``OCIGATE_TRACING`` asks for, and what the edge calls
once an answer was sent.

``observe/tracing.py`` (and with it OpenTelemetry) is imported only when tracing is on; when it is on but the
``otel`` extra is not installed, the gateway does not start, and says how to install it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ocigate.config.settings import Settings
from ocigate.core.asgi import Request
from ocigate.observe.access import AccessLog
from ocigate.routing.dispatch import Dispatcher

if TYPE_CHECKING:
    from ocigate.observe.tracing import Tracing

INSTALL = "pip install 'ocigate[otel]'"


def tracing_for(settings: Settings) -> Tracing | None:
    """The tracing ``settings.tracing`` asks for (``config/telemetry.py``), or None; a ValueError naming the fix
    when OpenTelemetry is not installed."""
    if settings.tracing == "off":
        return None
    try:
        from ocigate.observe.tracing import Tracing
    except ImportError as exc:
        raise ValueError(
            f"Tracing is on ({settings.tracing}) but OpenTelemetry is not installed ({exc.name or exc} is missing): "
            f"{INSTALL}, or turn tracing off (OCIGATE_TRACING=off)."
        ) from None
    return Tracing(settings.tracing)


def answered_hook(
    access_log: AccessLog, tracing: Tracing | None, dispatcher: Dispatcher
) -> Callable[[Request, int], None]:
    """What the edge calls once an answer was sent: the access line and, with tracing on, the server span's
    attributes (and the dispatcher's attempts traced, the access lines with their trace ids)."""
    if tracing is None:
        return access_log.answer
    dispatcher.tracer = tracing
    access_log.traced = True
    log_answer, trace_answer = access_log.answer, tracing.answered

    def answered(request: Request, status: int) -> None:
        trace_answer(request, status)
        log_answer(request, status)

    return answered
