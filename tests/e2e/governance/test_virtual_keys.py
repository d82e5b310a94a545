"""Virtual keys end to end: a real gateway and emulator, the official openai SDK as the client."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from ocigate.app.runtime import Gateway
from ocigate.config.settings import load_settings
from ocigate.store.database import open_engine
from ocigate.store.usage import UsageStore
from tests.support.databases import postgres_database
from tests.support.governance import MASTER, MODEL, Admin, chat, gateway_env
from tests.support.servers import ServerThread, start_gateway


def _usage_rows(url: str) -> list[tuple[str | None, str, int, int, int, bool]]:
    async def read() -> list[tuple[str | None, str, int, int, int, bool]]:
        engine = await open_engine(url)
        try:
            rows = await UsageStore(engine).recent(limit=1000)
        finally:
            await engine.dispose()
        return [(r.key_id, r.model, r.status, r.prompt_tokens, r.completion_tokens, r.stream) for r in rows]

    return asyncio.run(read())


def _served_rows(emulator: ServerThread, env_extra: dict[str, str]) -> tuple[list[object], str]:
    server, app = start_gateway(gateway_env(emulator, **env_extra))
    url = app.runtime.settings.database_url or f"sqlite:///{app.runtime.settings.data_dir}/ocigate.db"
    admin = Admin(server.url)
    try:
        created = admin.create(team="platform", allowed_models=["openai.*", "cohere.*"])
        assert created["secret"].startswith("ogk-")
        client = admin.client(created["secret"])
        reply = chat(client)
        assert reply.choices[0].finish_reason
        chunks = list(chat(client, stream=True))
        # the gateway asked for usage upstream, but the client did not: no usage-only chunk reaches it
        assert all(c.usage is None for c in chunks)
        chunks = list(chat(client, stream=True, stream_options={"include_usage": True}))
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
        # master-key requests are recorded too, without a key
        chat(admin.client(MASTER))
        listed = admin.http.get("/admin/keys").json()["data"]
        assert [k["id"] for k in listed] == [created["id"]] and "secret" not in listed[0]
    finally:
        server.stop()
    return [created["id"]], url


def test_usage_rows_equal_requests_served(emulator: ServerThread) -> None:
    (key_id,), url = _served_rows(emulator, {})
    rows = _usage_rows(url)
    assert len(rows) == 4
    mine = [r for r in rows if r[0] == key_id]
    assert len(mine) == 3
    assert all(r[2] == 200 for r in rows)
    chats = [r for r in mine if r[1] == MODEL]
    assert all(r[3] > 0 and r[4] > 0 for r in chats), chats
    assert sorted(r[5] for r in chats) == [False, True, True]


def test_usage_on_postgres(emulator: ServerThread) -> None:
    with postgres_database() as url:
        (key_id,), _ = _served_rows(emulator, {"OCIGATE_DATABASE_URL": url})
        rows = _usage_rows(url)
        assert len(rows) == 4 and sum(1 for r in rows if r[0] == key_id) == 3


def test_admin_usage_report(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    created = admin.create(name="report")
    client = admin.client(created["secret"])
    chat(client)
    chat(client)
    report = admin.http.get("/admin/usage", params={"by": "key,model"}).json()
    row = next(r for r in report["data"] if r["key_id"] == created["id"])
    assert row["requests"] == 2 and row["model"] == MODEL and row["prompt_tokens"] > 0
    bad = admin.http.get("/admin/usage", params={"by": "colour"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "by"


def test_rpm_limit_answers_429_with_retry_after(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    client = admin.client(admin.create(rpm=2)["secret"])
    chat(client)
    chat(client)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert caught.value.code == "rate_limit_exceeded"


def test_budget_names_the_budget_and_its_reset(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    client = admin.client(admin.create(budget={"amount": 60, "unit": "tokens", "period": "day"})["secret"])
    with pytest.raises(openai.RateLimitError) as caught:
        for _ in range(20):
            chat(client)
    message = str(caught.value)
    assert caught.value.code == "budget_exceeded"
    assert "60 tokens daily budget" in message and "It resets at" in message and "T00:00:00Z" in message, message
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_revoked_key_is_refused_within_a_second(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    created = admin.create()
    client = admin.client(created["secret"])
    chat(client)
    revoked = admin.http.post(f"/admin/keys/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    deadline = time.monotonic() + 1.0
    while True:
        try:
            chat(client)
        except openai.AuthenticationError as err:
            assert "revoked" in str(err)
            break
        assert time.monotonic() < deadline, "the revoked key still works after a second"
    with pytest.raises(openai.AuthenticationError):
        chat(admin.client("ogk-not-a-real-key"))


def test_rotate_replaces_the_secret(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    created = admin.create()
    rotated = admin.http.post(f"/admin/keys/{created['id']}/rotate").json()
    assert rotated["id"] == created["id"] and rotated["secret"] != created["secret"]
    chat(admin.client(rotated["secret"]))
    time.sleep(1.1)
    with pytest.raises(openai.AuthenticationError):
        chat(admin.client(created["secret"]))


def test_model_not_allowed_is_403(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    client = admin.client(admin.create(allowed_models=["xai.*"])["secret"])
    with pytest.raises(openai.PermissionDeniedError) as caught:
        chat(client)
    assert caught.value.code == "model_not_allowed"


def test_admin_refuses_virtual_keys_and_bad_input(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    server, _, admin = governed
    created = admin.create()
    as_team = httpx.get(f"{server.url}/admin/keys", headers={"Authorization": f"Bearer {created['secret']}"})
    assert as_team.status_code == 403 and as_team.json()["error"]["code"] == "master_key_required"
    assert httpx.get(f"{server.url}/admin/keys").status_code == 401
    bad = admin.http.post("/admin/keys", json={"name": "x", "rpm": -1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rpm"
    assert admin.http.get("/admin/keys/key_nope").status_code == 404
    patched = admin.http.patch(f"/admin/keys/{created['id']}", json={"rpm": 5})
    assert patched.status_code == 200 and patched.json()["rpm"] == 5
    assert admin.http.get(f"/admin/keys/{created['id']}").json()["rpm"] == 5


def test_settings_read_governance_options(tmp_path: object) -> None:
    settings = load_settings(
        {"OCIGATE_REDIS_URL": "redis://127.0.0.1:6379/0", "OCIGATE_KEY_PEPPER": "p", "OCIGATE_AUDIT": "1"}
    )
    assert settings.redis_url and settings.key_pepper == "p" and settings.audit and not settings.audit_bodies
    assert not load_settings({}).audit
