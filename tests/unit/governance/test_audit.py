"""The audit log: off by default, bodies only when asked, secrets redacted. tests/e2e/governance/test_audit_store.py
stores it on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ocigate.governance.audit import AuditLog, AuditRecord, redact_body
from ocigate.governance.keys import KeyRecord
from ocigate.governance.usage import BatchWriter

KEY = KeyRecord("key_1", "abcdefgh", "ci", team="platform", user="ana")


def test_bodies_are_redacted_and_cut() -> None:
    body = orjson.dumps(
        {
            "model": "xai.grok-4",
            "max_tokens": 100,
            "api_key": "sk-live-123456",
            "password": "hunter2",
            "messages": [{"role": "user", "content": "my key is ogk-AbCdEfGhIjKlMnOp and Bearer abc.def"}],
            "key_content": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        }
    )
    text = redact_body(body)
    for secret in ("sk-live-123456", "hunter2", "AbCdEfGhIjKlMnOp", "abc.def", "MIIE"):
        assert secret not in text
    assert '"max_tokens":100' in text and "ogk-[redacted]" in text and '"model":"xai.grok-4"' in text
    long = redact_body("x" * 1000, limit=100)
    assert long.startswith("x" * 100) and long.endswith("…[truncated]") and len(long) < 120
    assert redact_body(b"\xff\xfeplain").endswith("plain")


async def test_the_audit_log_is_off_by_default_and_keeps_bodies_only_when_asked() -> None:
    kept: list[AuditRecord] = []

    async def sink(batch: Sequence[AuditRecord]) -> None:
        kept.extend(batch)

    off = AuditLog(None)
    off.record(request_id="r0", method="POST", path="/v1/chat/completions", status=200, duration_ms=1.0)
    assert not off.enabled and await off.flush()

    plain = AuditLog(BatchWriter(sink, name="audit"))
    plain.record(
        request_id="r1",
        method="POST",
        path="/v1/chat/completions",
        status=429,
        duration_ms=2.5,
        key=KEY,
        model="xai.grok-4",
        client="10.0.0.7",
        request_body=b'{"api_key": "sk-secret-value"}',
    )
    with_bodies = AuditLog(BatchWriter(sink, name="audit"), bodies=True)
    with_bodies.record(
        request_id="r2",
        method="POST",
        path="/v1/embeddings",
        status=200,
        duration_ms=3.0,
        request_body=b'{"api_key": "sk-secret-value"}',
        response_body='{"data": []}',
    )
    await plain.flush()
    await with_bodies.close()
    first, second = kept
    assert (first.key_prefix, first.team, first.user, first.status, first.request_body) == (
        "abcdefgh",
        "platform",
        "ana",
        429,
        None,
    )
    assert second.request_body == '{"api_key": "[redacted]"}' and second.response_body == '{"data": []}'
