"""The access log: one line per request, written in batches off the request path.

The standard ``logging`` machinery costs about 30 µs a record (the record, the handler lock, the formatter and
the redaction pass), more than the rest of a pass-through request; the benchmark measured 15-40 % of
throughput. Every field of an access line is set by the gateway from known values (model and provider names
from the registry, ids, numbers), so no secret can reach it and it needs no redaction pass. Lines are
buffered and written together every ``interval`` seconds and at shutdown.

``json=True`` (``OCIGATE_LOG_FORMAT=json``) writes each line as one JSON object with the same fields, numbers as
numbers; with tracing on, both forms carry the request's ``trace_id``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque

from ocigate.core.asgi import Request
from ocigate.core.logs import json_line, trace_ids
from ocigate.core.notes import AccessNote

_BLANK = AccessNote()
PIPE_BUF = 4096
"""The largest write a pipe takes whole (POSIX: at least 512; Linux 4096), in bytes: a team key's name (``ogk-…``),
a model or a path a client sent may be beyond ASCII, and then a character is more than a byte."""


class AccessLog:
    def __init__(self, *, enabled: bool = True, interval: float = 0.25, keep: int = 256, json: bool = False) -> None:
        self.enabled = enabled
        self.json = json
        self.traced = False
        """Tracing is on: each line carries its trace id."""
        self._interval = interval
        self._pending: list[tuple[float, str | dict[str, object]]] = []
        self.recent: deque[str] = deque(maxlen=keep)
        """The last lines written, for tests and diagnostics."""

    def record(self, line: str | dict[str, object]) -> None:
        self._pending.append((time.time(), line))

    def answer(self, request: Request, status: int) -> None:
        """The line of one answered request, whatever its route and status: what the edge knows (id, path,
        status, time) and what the handler noted (model, key prefix, deployment, attempts, Oracle's request id);
        the error it was answered with gives the attempts and Oracle's code and id where the handler noted none."""
        if not self.enabled:
            return
        note = request.note or _BLANK
        failure = request.failure
        deployment, attempts, upstream_code, opc = (
            note.deployment,
            note.attempts,
            note.upstream_code,
            note.opc_request_id,
        )
        if failure is not None:
            upstream_code = upstream_code or failure.upstream_code
            opc = opc or failure.headers.get("opc-request-id")
            if deployment is not None and "x-ocigate-attempts" in failure.headers:
                attempts = failure.headers["x-ocigate-attempts"]
        key = note.key
        if self.json or self.traced:
            self._structured(request, status, note, (deployment, attempts, upstream_code, opc))
            return
        self.record(
            f"request_id={request.id} {f'key={key} ' if key else ''}method={request.method} path={request.path} "
            f"model={note.model} provider={note.provider} "
            f"{f'deployment={deployment} attempts={attempts} ' if deployment is not None else ''}"
            f"stream={'yes' if note.stream else 'no'} status={status}"
            f"{f' upstream_code={upstream_code}' if upstream_code else ''} "
            f"opc-request-id={opc or '-'} ms={(time.perf_counter() - request.started) * 1000:.1f}"
        )

    def _structured(
        self,
        request: Request,
        status: int,
        note: AccessNote,
        upstream: tuple[str | None, str | None, str | None, str | None],
    ) -> None:
        """The line as fields (JSON, or text with the trace id): the same fields as the plain line's."""
        deployment, attempts, upstream_code, opc = upstream
        fields: dict[str, object] = {"request_id": request.id}
        if note.key:
            fields["key"] = note.key
        fields |= {"method": request.method, "path": request.path, "model": note.model, "provider": note.provider}
        if deployment is not None:
            fields |= {"deployment": deployment, "attempts": int(attempts) if attempts else attempts}
        fields |= {"stream": "yes" if note.stream else "no", "status": status}
        if upstream_code:
            fields["upstream_code"] = upstream_code
        fields |= {"opc-request-id": opc or "-", "ms": round((time.perf_counter() - request.started) * 1000, 1)}
        ids = trace_ids() if self.traced else None
        if ids is not None:
            fields["trace_id"] = ids[0]
        if self.json:
            self.record(fields)
        else:
            self.record(" ".join(f"{name}={value}" for name, value in fields.items()))

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        lines = []
        for stamp, line in pending:
            if isinstance(line, dict):
                text = json_line(stamp, "INFO", "ocigate.observe.access", line)
            else:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
                text = f"{when},{int(stamp % 1 * 1000):03d} INFO ocigate.observe.access {line}"
            lines.append(text)
            self.recent.append(text)
        stream = sys.stderr
        text = "\n".join(lines) + "\n"
        encoding = getattr(stream, "encoding", None) or "utf-8"
        if len(text) <= PIPE_BUF and (text.isascii() or _size(text, encoding) <= PIPE_BUF):
            stream.write(text)
            stream.flush()
            return
        # Whole lines, at most PIPE_BUF bytes a write: the workers of ``serve --workers N`` share one stderr, and
        # only writes that small reach a pipe whole, never cut by another worker's.
        chunk: list[str] = []
        size = 0
        for line in lines:
            length = len(line) + 1 if line.isascii() else _size(line, encoding) + 1
            if chunk and size + length > PIPE_BUF:
                stream.write("\n".join(chunk) + "\n")
                stream.flush()
                chunk, size = [], 0
            chunk.append(line)
            size += length
        stream.write("\n".join(chunk) + "\n")
        stream.flush()

    async def run(self) -> None:
        """Flushes periodically until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                self.flush()
        finally:
            self.flush()


def _size(text: str, encoding: str) -> int:
    """``text``'s bytes as the stream writes them (stderr replaces what its encoding cannot hold)."""
    return len(text.encode(encoding, "backslashreplace"))
