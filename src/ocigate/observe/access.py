"""The access log: one line per request, written in batches off the request path.

The standard ``logging`` machinery costs about 30 µs a record (the record, the handler lock, the formatter and
the redaction pass), more than the rest of a pass-through request; the benchmark measured 15-40 % of
throughput. Every field of an access line is set by the gateway from known values (model and provider names
from the registry, ids, numbers), so no secret can reach it and it needs no redaction pass. Lines are
buffered and written together every ``interval`` seconds and at shutdown.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque


class AccessLog:
    def __init__(self, *, enabled: bool = True, interval: float = 0.25, keep: int = 256) -> None:
        self.enabled = enabled
        self._interval = interval
        self._pending: list[tuple[float, str]] = []
        self.recent: deque[str] = deque(maxlen=keep)
        """The last lines written, for tests and diagnostics."""

    def record(self, line: str) -> None:
        self._pending.append((time.time(), line))

    def request(
        self,
        *,
        request_id: str,
        path: str,
        model: str,
        provider: str,
        status: int,
        started: float,
        opc_request_id: str | None = None,
        upstream_code: str | None = None,
        stream: bool = False,
        deployment: str | None = None,
        attempts: str | None = None,
        key: str | None = None,
    ) -> None:
        """The line of one request; ``started`` is its ``time.perf_counter()`` at arrival; ``deployment`` (the one
        that served, ``-`` for none) and ``attempts`` where the request went through dispatch; ``key`` the visible
        prefix of the virtual key that made it (never the secret)."""
        if not self.enabled:
            return
        self.record(
            f"request_id={request_id} {f'key={key} ' if key else ''}path={path} model={model} provider={provider} "
            f"{f'deployment={deployment} attempts={attempts} ' if deployment is not None else ''}"
            f"stream={'yes' if stream else 'no'} status={status}"
            f"{f' upstream_code={upstream_code}' if upstream_code else ''} "
            f"opc-request-id={opc_request_id or '-'} ms={(time.perf_counter() - started) * 1000:.1f}"
        )

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        lines = []
        for stamp, line in pending:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
            text = f"{when},{int(stamp % 1 * 1000):03d} INFO ocigate.observe.access {line}"
            lines.append(text)
            self.recent.append(text)
        stream = sys.stderr
        stream.write("\n".join(lines) + "\n")
        stream.flush()

    async def run(self) -> None:
        """Flushes periodically until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self._interval)
                self.flush()
        finally:
            self.flush()
