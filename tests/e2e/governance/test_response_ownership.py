"""Stored responses belong to the key that made them: another team key gets the same 404 as for an id that never
existed, on GET, input_items, DELETE and previous_response_id (so nothing of the conversation is sent upstream on
its behalf or billed to it); the master key sees every one; reads and deletes are audited; rows stored before
ownership existed belong to the master key after the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from ocigate.app.runtime import Gateway
from tests.support.governance import MASTER, Admin, gateway_env
from tests.support.servers import ServerThread, start_gateway

pytestmark = pytest.mark.e2e
MODEL = "openai.gpt-oss-120b"


def _rows(app: Gateway, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(app.runtime.settings.data_dir) / "ocigate.db") as db:
        return list(db.execute(query))


def _error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return {k: v for k, v in error.items() if k != "message"} | {
        "message": error["message"].replace(response.request.url.path.split("/")[3], "<id>")
    }


def test_another_key_cannot_read_continue_or_delete_a_stored_response(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator, OCIGATE_AUDIT="1"))
    admin = Admin(server.url)
    try:
        a, b = admin.create(name="team-a"), admin.create(name="team-b")
        alice, bob = admin.client(a["secret"]), admin.client(b["secret"])
        secret_text = "the launch code is 7431"
        created = alice.responses.create(model=MODEL, input=secret_text, max_output_tokens=64)
        mine, never = created.id, "resp_" + "0" * 48

        http_b = httpx.Client(base_url=f"{server.url}/v1", headers={"Authorization": f"Bearer {b['secret']}"})
        for path in (f"/responses/{mine}", f"/responses/{mine}/input_items"):
            theirs, absent = http_b.get(path), http_b.get(path.replace(mine, never))
            assert theirs.status_code == absent.status_code == 404
            assert _error(theirs) == _error(absent)
            assert secret_text not in theirs.text
        with pytest.raises(openai.NotFoundError) as refused:
            bob.responses.create(model=MODEL, input="and then?", previous_response_id=mine)
        assert refused.value.body["code"] == "previous_response_not_found"  # type: ignore[index]
        assert http_b.delete(f"/responses/{mine}").status_code == 404

        # Alice still has it, and continues it; the master key sees it too.
        assert alice.responses.retrieve(mine).id == mine
        assert alice.responses.create(model=MODEL, input="and then?", previous_response_id=mine).id
        master = httpx.get(f"{server.url}/v1/responses/{mine}", headers={"Authorization": f"Bearer {MASTER}"})
        assert master.status_code == 200
        # And Bob's refused continuation reached no upstream and cost him nothing.
        server.stop()
        bob_usage = _rows(app, f"SELECT status, prompt_tokens, completion_tokens FROM usage WHERE key_id = '{b['id']}'")
        assert bob_usage == [(404, 0, 0)]
        audited = _rows(app, "SELECT method, path, status, key_prefix FROM audit WHERE path LIKE '/v1/responses/%'")
        assert ("GET", f"/v1/responses/{mine}", 404, b["prefix"]) in audited
        assert ("DELETE", f"/v1/responses/{mine}", 404, b["prefix"]) in audited
        assert ("GET", f"/v1/responses/{mine}", 200, a["prefix"]) in audited
        assert ("GET", f"/v1/responses/{mine}", 200, None) in audited  # the master key
    finally:
        server.stop()


def test_the_owner_deletes_its_own(emulator: ServerThread) -> None:
    server, _ = start_gateway(gateway_env(emulator))
    admin = Admin(server.url)
    try:
        alice = admin.client(admin.create(name="team-a")["secret"])
        created = alice.responses.create(model=MODEL, input="hi", max_output_tokens=32)
        alice.responses.delete(created.id)
        with pytest.raises(openai.NotFoundError):
            alice.responses.retrieve(created.id)
    finally:
        server.stop()


def test_rows_stored_before_ownership_belong_to_the_master_key(emulator: ServerThread, tmp_path: Path) -> None:
    data = tmp_path / "data"
    server, app = start_gateway(gateway_env(emulator, OCIGATE_DATA_DIR=str(data)))
    admin = Admin(server.url)
    team = admin.create(name="team-a")
    created = admin.client(team["secret"]).responses.create(model=MODEL, input="hi", max_output_tokens=32)
    server.stop()
    with sqlite3.connect(data / "ocigate.db") as db:  # as revision 0002 left it: no owner
        db.execute("PRAGMA writable_schema = 0")
        db.execute("CREATE TABLE legacy AS SELECT * FROM responses")
        db.execute("DROP TABLE responses")
        db.execute(
            "CREATE TABLE responses (id VARCHAR(80) PRIMARY KEY, created_at BIGINT NOT NULL, model VARCHAR(200) "
            "NOT NULL, previous_response_id VARCHAR(80), owner VARCHAR(80), input_items TEXT NOT NULL, "
            "response TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO responses SELECT id, created_at, model, previous_response_id, NULL, input_items, response "
            "FROM legacy"
        )
        db.execute("DROP TABLE legacy")
        db.execute("UPDATE alembic_version SET version_num = '0002'")
    server, app = start_gateway(gateway_env(emulator, OCIGATE_DATA_DIR=str(data)))
    try:
        path = f"{server.url}/v1/responses/{created.id}"
        assert httpx.get(path, headers={"Authorization": f"Bearer {team['secret']}"}).status_code == 404
        assert httpx.get(path, headers={"Authorization": f"Bearer {MASTER}"}).status_code == 200
        assert _rows(app, "SELECT owner FROM responses") == [("master",)]
    finally:
        server.stop()
