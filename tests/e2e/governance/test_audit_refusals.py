"""With the audit log on, every refusal at authentication is an audit row: no key, a wrong key, an unknown, revoked
or expired virtual key (401), and a team key on /admin (403); the row names a virtual key by its id and prefix and
never holds a secret."""

from __future__ import annotations

import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.governance import MASTER, Admin, gateway_env
from tests.support.servers import ServerThread, start_gateway

pytestmark = pytest.mark.e2e


def test_refused_keys_and_admin_calls_are_audited(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator, OCIGATE_AUDIT="1"))
    admin = Admin(server.url)
    unknown = "ogk-" + secrets.token_urlsafe(32)
    try:
        team = admin.create(name="team")
        revoked = admin.create(name="gone")
        expired = admin.create(name="old", expires_at=time.time() + 0.5)
        assert admin.http.post(f"/admin/keys/{revoked['id']}/revoke").status_code == 200
        time.sleep(1.2)  # past the expiry, and past the key cache's one second
        calls: list[tuple[str, str, dict[str, str]]] = [
            ("GET", "/v1/models", {}),
            ("POST", "/v1/chat/completions", {"Authorization": "Bearer not-the-master-key"}),
            ("GET", "/v1/models", {"x-api-key": unknown}),
            ("POST", "/v1/responses", {"Authorization": f"Bearer {revoked['secret']}"}),
            ("GET", "/v1/models", {"Authorization": f"Bearer {expired['secret']}"}),
            ("GET", "/admin/keys", {"Authorization": f"Bearer {team['secret']}"}),
            ("GET", "/admin/usage", {"api-key": "wrong-admin-guess"}),
        ]
        with httpx.Client(base_url=server.url, timeout=10) as http:
            statuses = [
                http.request(method, path, headers=headers, json={}).status_code for method, path, headers in calls
            ]
        assert statuses == [401, 401, 401, 401, 401, 403, 401]
    finally:
        server.stop()  # a graceful stop flushes the audit writer

    rows = _rows(app, "SELECT * FROM audit WHERE status >= 400 ORDER BY id")
    assert [(r["method"], r["path"], r["status"]) for r in rows] == [
        (m, p, s) for (m, p, _), s in zip(calls, statuses, strict=True)
    ]
    assert {r["client"] for r in rows} == {"127.0.0.1"}
    named = [(r["key_id"], r["key_prefix"]) for r in rows]
    assert (
        named
        == [
            (None, None),  # no key
            (None, None),  # a wrong key that is no virtual key: nothing of it is kept
            (None, unknown[4:12]),  # an unknown virtual key: its visible prefix only
            (revoked["id"], revoked["prefix"]),
            (expired["id"], expired["prefix"]),
            (team["id"], team["prefix"]),
            (None, None),
        ]
    )
    reasons = [r["response_body"] for r in rows]
    assert "No API key was presented" in reasons[0] and "is revoked" in reasons[3] and "is expired" in reasons[4]
    assert "master_key_required" in reasons[5]
    everything = repr(rows)
    for secret in (MASTER, "not-the-master-key", "wrong-admin-guess", unknown, team["secret"], revoked["secret"]):
        assert secret not in everything, "a presented key reached the audit log"


def test_without_the_audit_log_refusals_leave_no_row(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator))
    try:
        assert httpx.get(f"{server.url}/v1/models", headers={"x-api-key": "nope"}).status_code == 401
    finally:
        server.stop()
    assert _rows(app, "SELECT * FROM audit") == []


def _rows(app: Any, query: str) -> list[dict[str, Any]]:
    path = Path(app.runtime.settings.data_dir) / "ocigate.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute(query)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
