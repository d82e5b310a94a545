"""What each route records: one usage row per request on every model route, with the tokens the client was told;
a client that leaves mid-stream (499); the access log naming the key by its prefix, never its secret; usage off;
the audit log of requests and of key changes; the concurrency limit."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from ocigate.app.runtime import Gateway
from ocigate.emulator import EmulatorConfig
from tests.support.governance import MASTER, MODEL, Admin, chat, gateway_env
from tests.support.servers import ServerThread, access_lines, start_emulator, start_gateway

EMBED = "cohere.embed-v4.0"


def _rows(app: Gateway, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(app.runtime.settings.data_dir) / "ocigate.db") as db:
        return list(db.execute(query))


def _stop(server: ServerThread) -> None:
    server.stop()  # a graceful stop: the usage and audit writers are flushed


def test_every_route_records_the_usage_the_client_was_told(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator))
    admin = Admin(server.url)
    secret = admin.create(team="search")["secret"]
    client = admin.client(secret)
    told: list[tuple[str, int, int]] = []
    try:
        reply = chat(client)
        assert reply.usage is not None
        told.append(("chat", reply.usage.prompt_tokens, reply.usage.completion_tokens))
        created = client.responses.create(model=MODEL, input="Say hello", max_output_tokens=32)
        assert created.usage is not None
        told.append(("responses", created.usage.input_tokens, created.usage.output_tokens))
        events = list(client.responses.create(model=MODEL, input="Say hello", max_output_tokens=32, stream=True))
        done = [e for e in events if e.type in ("response.completed", "response.incomplete")]
        assert done and done[0].response.usage is not None
        told.append(("responses", done[0].response.usage.input_tokens, done[0].response.usage.output_tokens))
    finally:
        _stop(server)
    rows = _rows(app, "SELECT endpoint, prompt_tokens, completion_tokens, status, team, key_id FROM usage")
    assert sorted((e, p, c) for e, p, c, *_ in rows) == sorted(told)
    assert {(status, team) for *_, status, team, _ in rows} == {(200, "search")}
    assert all(key_id for *_, key_id in rows)


def test_embeddings_are_recorded(emulator: ServerThread, tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text(
        "providers:\n"
        "  oci:\n"
        "    type: oracle\n"
        f"    base_url: {emulator.url}/20231130/actions/v1\n"
        "    api_key: sk-emulator-chicago\n"
        f"    models: [{MODEL}, {EMBED}]\n"
    )
    env = {k: v for k, v in gateway_env(emulator).items() if not k.startswith("ORACLE_")}
    server, app = start_gateway(env, config_file=str(config))
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=MASTER, max_retries=0)
        try:
            client.embeddings.create(model=EMBED, input=["one", "two"])
        except openai.NotFoundError as err:
            # Oracle's compatible path has no embeddings: the 404 names the fix, and it is still recorded.
            assert "type: oci" in err.message
            expected_status = 404
        else:
            expected_status = 200
    finally:
        _stop(server)
    rows = _rows(app, "SELECT endpoint, status, key_id FROM usage")
    assert rows == [("embeddings", expected_status, None)]


def test_a_client_leaving_mid_stream_is_recorded_as_499() -> None:
    slow = start_emulator(EmulatorConfig(stream_delay_s=0.05))  # an event every 50 ms
    server, app = start_gateway(gateway_env(slow))
    body = {"model": MODEL, "stream": True, "max_tokens": 4000, "messages": [{"role": "user", "content": "Count"}]}
    try:
        with httpx.stream(
            "POST", f"{server.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {MASTER}"}
        ) as response:
            assert response.status_code == 200
            for _ in response.iter_bytes():
                break  # the first bytes, then the client goes away
        deadline = time.monotonic() + 5
        while not any("status=499" in line for line in app.runtime.access_log.recent):
            app.runtime.access_log.flush()
            assert time.monotonic() < deadline, "the gateway did not notice the client leaving"
            time.sleep(0.05)
    finally:
        _stop(server)
        slow.stop()
    rows = _rows(app, "SELECT status, stream, ttft_ms FROM usage")
    assert len(rows) == 1
    status, stream, ttft = rows[0]
    assert status == 499 and stream == 1 and ttft is not None


def test_the_access_log_names_the_key_by_its_prefix_only(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, app, admin = governed
    created = admin.create(name="logged")
    chat(admin.client(created["secret"]))
    lines = access_lines(app, created["display"])
    assert lines and all(created["secret"] not in line for line in app.runtime.access_log.recent)


def test_usage_off_records_nothing_but_limits_still_hold(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator, OCIGATE_USAGE="off"))
    admin = Admin(server.url)
    client = admin.client(admin.create(rpm=2)["secret"])
    try:
        chat(client)
        chat(client)
        with pytest.raises(openai.RateLimitError):
            chat(client)
    finally:
        _stop(server)
    assert _rows(app, "SELECT count(*) FROM usage") == [(0,)]


def test_the_audit_log_records_requests_and_key_changes(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator, OCIGATE_AUDIT="1", OCIGATE_AUDIT_BODIES="1"))
    admin = Admin(server.url)
    try:
        created = admin.create(name="audited")
        client = admin.client(created["secret"])
        client.chat.completions.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": f"my key is {created['secret']}"}]
        )
        assert admin.http.post(f"/admin/keys/{created['id']}/revoke").status_code == 200
    finally:
        _stop(server)
    rows = _rows(app, "SELECT method, path, status, key_prefix, model, request_body FROM audit ORDER BY created_at")
    paths = [(method, path, status) for method, path, status, *_ in rows]
    assert paths == [
        ("POST", "/admin/keys", 201),
        ("POST", "/v1/chat/completions", 200),
        ("POST", f"/admin/keys/{created['id']}/revoke", 200),
    ]
    body = rows[1][5]
    assert rows[1][3] == created["prefix"] and "my key is" in body
    assert created["secret"] not in body, "a secret reached the audit log"


def test_concurrent_requests_over_the_limit_get_429(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator))
    admin = Admin(server.url)
    secret = admin.create(max_concurrent=1)["secret"]
    httpx.post(f"{emulator.url}/_emulator/faults", json={"delay_ms": 400, "count": 1}).raise_for_status()
    outcomes: list[int] = []

    def slow() -> None:
        reply = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        outcomes.append(reply.status_code)

    try:
        first = threading.Thread(target=slow)
        first.start()
        time.sleep(0.15)  # the first request holds the key's only slot while the emulator waits
        second = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        first.join(10)
        assert second.status_code == 429 and "Retry-After" in second.headers
        assert second.json()["error"]["code"] == "concurrency_limit_exceeded"
        assert outcomes == [200]
        assert chat(admin.client(secret)).choices  # the slot is free again
    finally:
        httpx.delete(f"{emulator.url}/_emulator/faults")
        _stop(server)


def test_limited_answers_carry_the_rate_limit_headers(governed: tuple[ServerThread, Gateway, Admin]) -> None:
    _, _, admin = governed
    client = admin.client(admin.create(rpm=5, tpm=50_000)["secret"])
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "5"
    assert raw.headers["x-ratelimit-remaining-requests"] == "4"
    assert raw.headers["x-ratelimit-limit-tokens"] == "50000"


@pytest.mark.parametrize(("policy", "expected"), [("open", 200), ("closed", 503)])
def test_an_unreachable_redis_follows_the_configured_policy(emulator: ServerThread, policy: str, expected: int) -> None:
    # Nothing listens on port 1: the gateway starts all the same and applies the policy to limited keys.
    env = gateway_env(emulator, OCIGATE_REDIS_URL="redis://127.0.0.1:1/0", OCIGATE_LIMITS_ON_REDIS_FAILURE=policy)
    server, _ = start_gateway(env)
    try:
        admin = Admin(server.url)
        limited = admin.create(rpm=100)["secret"]
        reply = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {limited}"},
            timeout=20,
        )
        assert reply.status_code == expected, reply.text
        if expected == 503:
            assert reply.json()["error"]["code"] == "limits_unavailable"
        assert chat(admin.client(MASTER)).choices  # the master key is never limited
    finally:
        _stop(server)
