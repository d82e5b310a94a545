"""What dispatch tells its observers: the attempt records, the hooks protocol, and the response headers.

Observers (metrics, usage, audit) implement :class:`DispatchHooks`, usually by subclassing :class:`NullHooks` and
overriding what they need; :class:`FanOut` hands every event to several of them. Dispatch calls ``on_attempt``,
``on_retry``, ``on_fallback``, ``on_result`` and ``on_first_token``; ``on_usage`` comes from whatever parses a
reply's usage once (the relay's usage observer), as dispatch never reads bodies.

Usage::

    class AuditLog(NullHooks):
        def on_fallback(self, model: str, to_model: str) -> None:
            log.warning("model %s fell back to %s", model, to_model)

    dispatcher = Dispatcher(router, breakers, FanOut(metrics, AuditLog()))
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ocigate.core.errors import GatewayError

if TYPE_CHECKING:
    from ocigate.routing.router import Deployment

_T = TypeVar("_T")

FAILURE_KINDS = ("rate_limited", "server_error", "timeout", "connection", "unauthorized", "client_error", "other")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One upstream attempt: the public model it was made for (a fallback's own name), the deployment, the status
    (the upstream's, or the gateway's 502/504 when there was no answer), how long it took, and for a failure its
    kind (one of :data:`FAILURE_KINDS`)."""

    model: str
    deployment: str
    status: int
    duration_s: float
    kind: str | None = None

    @property
    def outcome(self) -> str:
        return self.kind if self.kind in ("timeout", "connection") else str(self.status)

    @property
    def label(self) -> str:
        return f"{self.deployment} ({self.outcome})"


def failure_kind(err: GatewayError) -> str:
    upstream = err.upstream_status
    if err.code in ("upstream_timeout", "budget_exhausted") or upstream == 408:
        return "timeout"
    if upstream is None:
        if err.code == "upstream_unreachable":
            return "connection"
        upstream = err.status
    if upstream == 429:
        return "rate_limited"
    if upstream in (401, 403):
        return "unauthorized"
    if upstream >= 500:
        return "server_error"
    if upstream >= 400:
        return "client_error"
    return "other"


def attempt_headers(attempts: list[Attempt], served: Deployment | None) -> dict[str, str]:
    """``x-ocigate-deployment`` (who served), ``x-ocigate-attempts`` (how many attempts) and
    ``x-ocigate-attempt-log`` (each attempt: deployment, status or timeout/connection, milliseconds)."""
    headers = {"x-ocigate-attempts": str(len(attempts))}
    if served is not None:
        headers["x-ocigate-deployment"] = served.name
    if attempts:
        headers["x-ocigate-attempt-log"] = ", ".join(
            f"{a.deployment} {a.outcome} {a.duration_s * 1000:.0f}ms" for a in attempts
        )
    return headers


class DispatchHooks(Protocol):
    def on_attempt(self, attempt: Attempt) -> None:
        """An upstream attempt ended (a stream's once it opened)."""

    def on_retry(self, model: str, deployment: str, delay_s: float) -> None:
        """Another attempt for the same model is about to start, after ``delay_s`` of waiting."""

    def on_fallback(self, model: str, to_model: str) -> None:
        """Every deployment of ``model`` failed; ``to_model`` is tried next."""

    def on_result(self, model: str, deployment: str | None, status: int, duration_s: float) -> None:
        """The request ended: the deployment that served (None if none did), the status the client got (499 when
        it went away), and the time since dispatch started (a stream's until its end)."""

    def on_first_token(self, model: str, seconds: float) -> None:
        """A stream's first block arrived, ``seconds`` after dispatch started."""

    def on_usage(self, model: str, usage: Mapping[str, object]) -> None:
        """A reply's ``usage`` object (Chat Completions or Responses shape), from the usage observer."""


class AttemptTracer(Protocol):
    """Puts each upstream attempt in a span (``observe/tracing.py``), begun before the call so that the call carries
    its trace context: ``call`` is the attempt, which appends its record to ``attempts`` when it ends (its number
    is ``len(attempts) + 1``; the record before it says why it is a retry or failover)."""

    def attempt(
        self, model: str, deployment: Deployment, attempts: list[Attempt], call: Coroutine[Any, Any, _T]
    ) -> Coroutine[Any, Any, _T]: ...


class NullHooks:
    """Hooks that do nothing, to subclass."""

    def on_attempt(self, attempt: Attempt) -> None:
        return None

    def on_retry(self, model: str, deployment: str, delay_s: float) -> None:
        return None

    def on_fallback(self, model: str, to_model: str) -> None:
        return None

    def on_result(self, model: str, deployment: str | None, status: int, duration_s: float) -> None:
        return None

    def on_first_token(self, model: str, seconds: float) -> None:
        return None

    def on_usage(self, model: str, usage: Mapping[str, object]) -> None:
        return None


class FanOut:
    """Every event to each of ``hooks``, in order."""

    def __init__(self, *hooks: DispatchHooks) -> None:
        self.hooks = hooks

    def on_attempt(self, attempt: Attempt) -> None:
        for hook in self.hooks:
            hook.on_attempt(attempt)

    def on_retry(self, model: str, deployment: str, delay_s: float) -> None:
        for hook in self.hooks:
            hook.on_retry(model, deployment, delay_s)

    def on_fallback(self, model: str, to_model: str) -> None:
        for hook in self.hooks:
            hook.on_fallback(model, to_model)

    def on_result(self, model: str, deployment: str | None, status: int, duration_s: float) -> None:
        for hook in self.hooks:
            hook.on_result(model, deployment, status, duration_s)

    def on_first_token(self, model: str, seconds: float) -> None:
        for hook in self.hooks:
            hook.on_first_token(model, seconds)

    def on_usage(self, model: str, usage: Mapping[str, object]) -> None:
        for hook in self.hooks:
            hook.on_usage(model, usage)
