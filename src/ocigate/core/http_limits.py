"""Bounds on what a client connection may cost before the gateway has parsed a request from it.

uvicorn with httptools sets none of these: a header that never ends is accumulated whole (httptools concatenates
each partial value into the last, so the CPU cost grows with the square of its size, while the event loop serves
no one else), and a socket that sends half a header and stops stays open until the file-descriptor limit.

:class:`LimitedHttpToolsProtocol` is uvicorn's httptools protocol with, per connection, two byte counters and one
timer handle:

- the request line and headers may take ``max_header_bytes``: the bytes are counted as they arrive, before
  httptools sees them, and only the part within the limit is parsed; beyond it the client gets 431 and the
  connection is closed, so an oversized header never sits in memory. The trailer of a chunked body, which httptools
  accumulates the same way, gets the same limit, counted as the bytes that arrive after the last body data; these
  are checked after each read is parsed, so a trailer may overshoot by one read (256 KiB at most);
- a request's headers must be complete ``header_timeout_s`` after its first byte (and a new connection must send
  something within that time, or it is closed quietly), else 408 and close;
- a request body may go ``body_timeout_s`` without progress (not counted while the gateway itself has stopped
  reading, or owes the client a ``100 Continue``), else 408 and close;
- at ``max_connections`` open connections a new one gets 503 at once and is closed, never parsed. uvicorn's own
  ``limit_concurrency`` does not do this: it counts connections and tasks, but only once a request's headers were
  read, so idle sockets never trip it, while every request beyond it, on any connection, gets a plain-text 503.

The timer is lazy: a request arms it only when none is pending that fires sooner, and when it fires it looks at
the connection's deadline and re-arms for what is left; a body's progress moves the deadline, never the timer. A
keep-alive connection therefore arms about one timer per header timeout, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
from typing import Any, ClassVar, Protocol

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from ocigate.core.errors import GatewayError

logger = logging.getLogger("ocigate.http")

# Descriptors kept free beyond two per client connection (its own and an upstream one): listening sockets, the
# store, Redis, log files.
FD_RESERVE = 256
REFUSAL_LOG_INTERVAL_S = 10.0

_FRESH, _HEAD, _BODY, _IDLE, _DONE = range(5)
"""A connection's phase: new and silent; reading a request's head; reading its body; between requests (the app
answers, or keep-alive, which uvicorn times); answered by this module and closing."""


class ConnectionLimits(Protocol):
    """What ``config.http.HttpLimits`` holds (the core layer does not import the config layer)."""

    @property
    def max_header_bytes(self) -> int: ...
    @property
    def header_timeout_s(self) -> float: ...
    @property
    def body_timeout_s(self) -> float: ...
    @property
    def keepalive_timeout_s(self) -> int: ...
    @property
    def max_connections(self) -> int: ...


def _answer(status: int, reason: str, error: GatewayError, extra: bytes = b"") -> bytes:
    body = error.to_json()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n"
    )
    return head.encode() + extra + b"\r\n" + body


class _Refusals:
    """Counts what the limits refused and logs it at most once per interval, so that a flood of refusals cannot
    become a flood of log lines."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.logged_at = -math.inf

    def add(self, reason: str, now: float) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if now - self.logged_at >= REFUSAL_LOG_INTERVAL_S:
            summary = ", ".join(f"{count} x {what}" for what, count in self.counts.items())
            logger.warning("HTTP limits refused: %s (since the last report)", summary)
            self.counts.clear()
            self.logged_at = now


REFUSALS = _Refusals()


# The per-request methods call the parent's directly: on Python 3.11 a ``super()`` call allocates an object and
# walks the MRO, which made up most of what this class added per request (measured with callgrind).
_Parent = HttpToolsProtocol


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Made for given limits by :func:`limited_protocol`; uvicorn creates one per connection."""

    # The limits, as class attributes: one lookup each on the per-request path.
    max_header_bytes: ClassVar[int]
    header_timeout_s: ClassVar[float]
    body_timeout_s: ClassVar[float]
    max_connections: ClassVar[int]
    too_large: ClassVar[bytes]
    header_late: ClassVar[bytes]
    body_late: ClassVar[bytes]
    busy: ClassVar[bytes]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _FRESH
        self._head_bytes = 0
        self._since_body = 0
        self._deadline = 0.0
        self._read_at = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's
        if len(self.connections) >= self.max_connections:
            # Never registered, so it holds no slot and uvicorn's shutdown does not wait for it.
            self._phase = _DONE
            self.transport = transport
            transport.write(self.busy)
            transport.close()
            REFUSALS.add(f"connection over the cap of {self.max_connections}", self.loop.time())
            return
        super().connection_made(transport)
        self._arm(self.loop.time() + self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        phase = self._phase
        if phase == _DONE:
            return  # answered and closing: nothing more is parsed
        now = self._read_at = self.loop.time()
        if phase == _BODY:
            self._deadline = now + self.body_timeout_s
            self._since_body += len(data)
            _Parent.data_received(self, data)
            if self._since_body > self.max_header_bytes and self._phase == _BODY:
                self._refuse(self.too_large, "trailer over the size limit", self.cycle)
            return
        if phase != _HEAD:  # the first byte of a request
            self._phase = _HEAD
            self._head_bytes = 0
            deadline = now + self.header_timeout_s
            if self._timer is None or self._timer_due > deadline:
                self._arm(deadline)
            else:
                self._deadline = deadline  # the pending timer fires sooner, and re-arms for what is left
        total = self._head_bytes + len(data)
        if total > self.max_header_bytes:
            self._overflow(data)
            return
        self._head_bytes = total
        _Parent.data_received(self, data)

    def _overflow(self, data: bytes) -> None:
        """Parses only what fits in the limit; when the head goes on past it, 431. A read that also carries the end
        of the head and then the body (or a next request) is parsed in two parts."""
        room = self.max_header_bytes - self._head_bytes
        self._head_bytes = self.max_header_bytes
        _Parent.data_received(self, data[:room])
        if self._phase == _HEAD:
            self._refuse(self.too_large, "header over the size limit")
        elif not self.transport.is_closing():
            _Parent.data_received(self, data[room:])

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._deadline = self._read_at + self.body_timeout_s  # the time of the read that ends the head
        self._since_body = 0
        _Parent.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        self._since_body = 0
        _Parent.on_body(self, body)

    def on_message_complete(self) -> None:
        self._phase = _IDLE
        _Parent.on_message_complete(self)

    def handle_websocket_upgrade(self) -> None:
        self._phase = _DONE  # the connection is the WebSocket protocol's from now on
        super().handle_websocket_upgrade()

    def _arm(self, deadline: float) -> None:
        """Sets the deadline, and the timer to fire then."""
        self._deadline = deadline
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(deadline, self._expire)
        self._timer_due = deadline

    def _expire(self) -> None:
        self._timer = None
        phase = self._phase
        if phase not in (_FRESH, _HEAD, _BODY):
            return
        now = self.loop.time()
        if phase == _BODY and self._gateway_holds_body():
            self._deadline = now + self.body_timeout_s
        if now < self._deadline:
            self._arm(self._deadline)
        elif phase == _FRESH:
            self._phase = _DONE
            self.transport.close()  # nothing was sent, so nothing is answered
        elif phase == _HEAD:
            self._refuse(self.header_late, "headers too slow")
        else:
            self._refuse(self.body_late, "body too slow", self.cycle)

    def _gateway_holds_body(self) -> bool:
        """Whether the body is late because of the gateway: it stopped reading (the app has not taken what came),
        or the client waits for its ``100 Continue``."""
        cycle = self.cycle
        return self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)

    def _refuse(self, answer: bytes, reason: str, own_cycle: RequestResponseCycle | None = None) -> None:
        """Answers ``answer`` and closes; only closes when the answer would interleave with a response already under
        way. ``own_cycle`` is the refused request's cycle when the app already runs it (a late body): it sees a
        disconnect, and so cannot write after this answer."""
        self._phase = _DONE
        if self.transport.is_closing():
            return  # uvicorn already answered (a malformed request gets its 400) and closes
        if own_cycle is not None:
            writable = not own_cycle.response_started
            if writable:
                own_cycle.disconnected = True
                own_cycle.message_event.set()
        else:  # a late or oversized head: the previous request on the connection, if any, must be answered
            writable = self.cycle is None or self.cycle.response_complete
        if writable:
            self.transport.write(answer)
        self.transport.close()
        REFUSALS.add(reason, self.loop.time())


def limited_protocol(limits: ConnectionLimits, max_connections: int) -> type[LimitedHttpToolsProtocol]:
    """The protocol class for ``limits``, its answers rendered once (``max_connections`` may be lower than the
    limits', see :func:`fit_connections`)."""

    class Limited(LimitedHttpToolsProtocol):
        pass

    Limited.max_header_bytes = limits.max_header_bytes
    Limited.header_timeout_s = limits.header_timeout_s
    Limited.body_timeout_s = limits.body_timeout_s
    Limited.max_connections = max_connections
    Limited.too_large = _answer(
        431,
        "Request Header Fields Too Large",
        GatewayError(
            f"The request line and headers are larger than {limits.max_header_bytes} bytes: send shorter headers.",
            type="invalid_request_error",
            code="request_header_fields_too_large",
        ),
    )
    Limited.header_late = _answer(
        408, "Request Timeout", _timeout(f"headers did not arrive within {limits.header_timeout_s:g} s")
    )
    Limited.body_late = _answer(
        408, "Request Timeout", _timeout(f"body made no progress for {limits.body_timeout_s:g} s")
    )
    Limited.busy = _answer(
        503,
        "Service Unavailable",
        GatewayError(
            f"The gateway has {max_connections} connections open, its limit: retry shortly.",
            code="too_many_connections",
        ),
        b"retry-after: 1\r\n",
    )
    return Limited


def _timeout(what: str) -> GatewayError:
    return GatewayError(f"The request's {what}.", type="invalid_request_error", code="request_timeout")


def fit_connections(wanted: int) -> int:
    """The connection cap the file-descriptor limit allows: two descriptors per connection (its own, and an
    upstream one) plus a reserve. Raises the soft limit up to the hard one when that is needed, as Go's runtime
    does at start; when even the hard limit is too low, lowers the cap and says so."""
    need = 2 * wanted + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    except (ValueError, OSError):
        pass
    if soft >= need:
        return wanted
    fitted = max(1, (soft - FD_RESERVE) // 2)
    logger.warning(
        "OCIGATE_MAX_CONNECTIONS=%d needs %d file descriptors, but the limit is %d (ulimit -n): capping connections "
        "at %d; raise the limit to allow more.",
        wanted,
        need,
        soft,
        fitted,
    )
    return fitted


def install_limits(config: uvicorn.Config, limits: ConnectionLimits) -> None:
    """Serves ``config`` with ``limits``: the protocol above (over httptools), and uvicorn's keep-alive timeout."""
    config.http = limited_protocol(limits, fit_connections(limits.max_connections))
    config.timeout_keep_alive = limits.keepalive_timeout_s
