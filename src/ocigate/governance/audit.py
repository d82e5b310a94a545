"""The audit log (off by default): who called what, when, and with what outcome, one row per request in the
``audit`` table, written in batches like usage. Request and response bodies are kept only when asked for,
with secrets redacted and cut to ``max_body_bytes``.

Usage::

    audit = AuditLog(BatchWriter(audit_store.insert, name="audit"), bodies=settings.audit_bodies)
    await audit.start()
    audit.record(request_id=rid, method="POST", path="/v1/chat/completions", status=200, duration_ms=812.0,
                 key=record, model="xai.grok-4", client="10.0.0.7", request_body=body, response_body=reply)
    await audit.close()

A disabled log (``AuditLog(None)``) costs one attribute check per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ocigate.core.asgi import Request
from ocigate.core.logs import redact
from ocigate.governance.keys import KeyRecord
from ocigate.governance.usage import BatchWriter


def redact_body(raw: bytes | str, limit: int = 65536) -> str:
    """A body fit to keep: decoded, secrets masked by :func:`ocigate.core.logs.redact` (the log's own redactor),
    cut to ``limit`` characters."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    cut = len(text) > 4 * limit
    text = redact(text[: 4 * limit])  # redact before cutting, so that no secret is cut in half and kept
    if cut or len(text) > limit:
        text = text[:limit] + "…[truncated]"
    return text


@dataclass(frozen=True, slots=True)
class AuditRecord:
    created_at: float
    request_id: str
    method: str
    path: str
    status: int
    duration_ms: float
    key_id: str | None = None
    key_prefix: str | None = None
    team: str | None = None
    user: str | None = None
    client: str | None = None
    """The client's address."""
    model: str | None = None
    request_body: str | None = None
    response_body: str | None = None


def audit_row(
    request: Request,
    status: int,
    duration_ms: float,
    key: KeyRecord | None,
    *,
    key_prefix: str | None = None,
    **fields: Any,
) -> AuditRecord:
    """The row of one request: who (the key, by id and visible prefix; the client's address), what (method, path)
    and how it ended; ``fields`` adds the rest (``model``, ``request_body``, ``response_body``, ``created_at``...)."""
    row: dict[str, Any] = {"created_at": time.time(), "request_id": request.id, **fields}
    return AuditRecord(
        method=request.method,
        path=request.path,
        status=status,
        duration_ms=duration_ms,
        key_id=key.id if key else None,
        key_prefix=key.prefix if key else key_prefix,
        team=key.team if key else None,
        user=key.user if key else None,
        client=request.client_host,
        **row,
    )


class AuditLog:
    def __init__(
        self, writer: BatchWriter[AuditRecord] | None, *, bodies: bool = False, max_body_bytes: int = 65536
    ) -> None:
        self._writer = writer
        self.enabled = writer is not None
        self.bodies = bodies
        self._limit = max_body_bytes

    async def start(self) -> None:
        if self._writer is not None:
            await self._writer.start()

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()

    async def flush(self) -> bool:
        return True if self._writer is None else await self._writer.flush()

    def record(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        key: KeyRecord | None = None,
        model: str | None = None,
        client: str | None = None,
        request_body: bytes | str | None = None,
        response_body: bytes | str | None = None,
        created_at: float | None = None,
    ) -> None:
        if self._writer is None:
            return
        keep = self.bodies
        self._writer.submit(
            AuditRecord(
                created_at=time.time() if created_at is None else created_at,
                request_id=request_id,
                method=method,
                path=path,
                status=status,
                duration_ms=duration_ms,
                key_id=key.id if key else None,
                key_prefix=key.prefix if key else None,
                team=key.team if key else None,
                user=key.user if key else None,
                client=client,
                model=model,
                request_body=redact_body(request_body, self._limit) if keep and request_body is not None else None,
                response_body=redact_body(response_body, self._limit) if keep and response_body is not None else None,
            )
        )
