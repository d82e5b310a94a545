"""Server-sent events: incremental parsing and framing.

Upstreams split their bytes wherever TCP and their own buffers do: an event, a line, a JSON object or a
multi-byte UTF-8 character can be cut across reads. :class:`SSEParser` keeps the unfinished tail and yields an
event only once its blank line has arrived, decoding bytes only for complete lines, so a cut character is
never decoded in halves. Lines end in LF, CRLF or CR, as the SSE specification allows.

Usage::

    parser = SSEParser()
    for chunk in upstream_reads:
        for event in parser.feed(chunk):
            print(event.event, event.data, event.raw)
    leftover = parser.close()   # an event the upstream never terminated, if any
"""

from __future__ import annotations

from dataclasses import dataclass

DONE = "[DONE]"


@dataclass(slots=True)
class SSEEvent:
    data: str
    event: str | None = None
    id: str | None = None
    raw: bytes = b""
    """The event's bytes as received, terminator included, for pass-through."""

    @property
    def is_done(self) -> bool:
        return self.data == DONE


class SSEParser:
    __slots__ = ("_tail", "_raw", "_data", "_event", "_id")

    def __init__(self) -> None:
        self._tail = b""  # an unterminated line
        self._raw = bytearray()  # the current event's complete lines, as received
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add bytes; return the events they completed, in order."""
        data = self._tail + chunk if self._tail else chunk
        events: list[SSEEvent] = []
        size = len(data)
        with_cr = b"\r" in data
        pos = 0
        while pos < size:
            end = data.find(b"\n", pos)
            if with_cr:
                cr = data.find(b"\r", pos, size if end == -1 else end)
                if cr != -1:
                    end = cr
            if end == -1:
                break
            after = end + 1
            if data[end] == 0x0D:  # CR, or CRLF
                if after == size:
                    break  # a LF may follow in the next read: wait for it
                if data[after] == 0x0A:
                    after += 1
            line = data[pos:end]
            self._raw += data[pos:after]
            pos = after
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._tail = data[pos:]
        return events

    def _line(self, line: bytes) -> SSEEvent | None:
        if not line:
            if not self._data and self._event is None and self._id is None:
                self._raw.clear()  # a blank line or a comment-only block: nothing to dispatch
                return None
            event = SSEEvent("\n".join(self._data), self._event, self._id, bytes(self._raw))
            self._data, self._event, self._id = [], None, None
            self._raw.clear()
            return event
        if line[:1] == b":":
            return None  # a comment (keep-alive)
        field, sep, value = line.decode("utf-8", errors="replace").partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value
        return None

    def close(self) -> SSEEvent | None:
        """The event left when the upstream closed without its final blank line, if it had data."""
        tail, self._tail = self._tail, b""
        if tail:
            for line in tail.splitlines():
                dispatched = self._line(line)
                if dispatched is not None:
                    return dispatched
            if tail.endswith(b"\r"):
                dispatched = self._line(b"")
                if dispatched is not None:
                    return dispatched
        self._raw.clear()
        if not self._data:
            return None
        event = SSEEvent("\n".join(self._data), self._event, self._id)
        event.raw = encode_event(event.data, event.event)
        self._data, self._event, self._id = [], None, None
        return event


def encode_event(data: str | bytes, event: str | None = None) -> bytes:
    """Frame one event. Multi-line data becomes several ``data:`` lines, as the specification requires."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    prefix = b"event: " + event.encode("utf-8") + b"\n" if event else b""
    if b"\n" in body:
        body = body.replace(b"\n", b"\ndata: ")
    return prefix + b"data: " + body + b"\n\n"


DONE_EVENT = b"data: [DONE]\n\n"


class SSEFramer:
    """Cuts a byte stream at event boundaries without decoding it: the relay's fast path.

    ``feed`` returns the bytes of the events a read completed (possibly several, possibly none), exactly as
    received, so a pass-through sends each read on in one write and never forwards half an event. Upstreams
    that end lines in CR alone are framed by the full parser instead.
    """

    __slots__ = ("_tail", "_parser")

    def __init__(self) -> None:
        self._tail = b""
        self._parser: SSEParser | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self._parser is None:
            data = self._tail + chunk if self._tail else chunk
            if b"\r" not in data:
                end = data.rfind(b"\n\n")
                if end == -1:
                    self._tail = data
                    return b""
                self._tail = data[end + 2 :]
                return data[: end + 2] if self._tail else data
            self._parser = SSEParser()
            chunk, self._tail = data, b""
        return b"".join(event.raw for event in self._parser.feed(chunk))

    def close(self) -> bytes:
        """An event the upstream left unterminated, framed; or nothing."""
        if self._parser is not None:
            last = self._parser.close()
            return last.raw if last else b""
        tail, self._tail = self._tail, b""
        parser = SSEParser()
        events = parser.feed(tail)
        last = parser.close()
        return b"".join(e.raw for e in events) + (last.raw if last else b"")


def parse_events(block: bytes) -> list[SSEEvent]:
    """The events of a block of complete events (what :class:`SSEFramer` returns)."""
    parser = SSEParser()
    events = parser.feed(block)
    last = parser.close()
    return [*events, last] if last else events
