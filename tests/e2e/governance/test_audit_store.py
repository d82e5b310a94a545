"""Audit rows on the store, on SQLite and Postgres. The log itself is unit-tested in
tests/unit/governance/test_audit.py."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.governance.audit import AuditLog
from ocigate.governance.keys import KeyRecord
from ocigate.governance.usage import BatchWriter
from ocigate.store.usage import AuditStore

KEY = KeyRecord("key_1", "abcdefgh", "ci", team="platform", user="ana")


async def test_audit_rows_round_trip(engine: AsyncEngine) -> None:
    store = AuditStore(engine)
    now = time.time()
    log = AuditLog(BatchWriter(store.insert, name="audit"), bodies=True)
    await log.start()
    for n in range(3):
        log.record(
            request_id=f"r{n}",
            method="POST",
            path="/v1/chat/completions",
            status=200 + n,
            duration_ms=1.0,
            key=KEY if n else None,
            model="xai.grok-4",
            created_at=now + n,
            request_body='{"messages": [], "authorization": "Bearer ogk-abcdefghijkl"}',
        )
    await log.close()
    rows = await store.recent(limit=10)
    assert [r.request_id for r in rows] == ["r2", "r1", "r0"]
    assert rows[0].key_id == "key_1" and rows[0].user == "ana" and rows[2].key_id is None
    assert rows[0].request_body is not None and "ogk-abcdefghijkl" not in rows[0].request_body
    assert [r.request_id for r in await store.recent(key_id="key_1", since=now + 1.5)] == ["r2"]
