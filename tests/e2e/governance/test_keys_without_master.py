"""Team keys always mean something: a gateway without a master key still enforces a team key presented to it
(revoked: 401; a model outside its list: 403; its usage under its own name), and once any team key exists, a
request without one is refused. Listings and model errors show a key only the models it may use, and patterns
match the model part of ``provider/model``."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.support.cli import clean_env, run_ocigate
from tests.support.governance import Admin, gateway_env
from tests.support.servers import ServerThread, start_gateway

pytestmark = pytest.mark.e2e
MODELS = "openai.gpt-oss-120b,xai.grok-3,xai.grok-4"
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def _create(data: Path, *args: str) -> tuple[str, str]:
    made = run_ocigate("keys", "create", "ci", *args, env=clean_env(OCIGATE_DATA_DIR=str(data)))
    assert made.returncode == 0, made.stderr
    secret = re.search(r"secret: (\S+)", made.stdout)
    key_id = re.search(r"\b(key_[0-9a-zA-Z]+)\b", made.stdout + made.stderr)
    assert secret is not None and key_id is not None, made.stdout
    return key_id.group(1), secret.group(1)


def test_a_gateway_without_a_master_key_enforces_team_keys(emulator: ServerThread, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": "sk-emulator-chicago",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": MODELS,
        "OCIGATE_DATA_DIR": str(data),
    }
    server, _ = start_gateway(env)
    try:  # no key exists yet: an open loopback gateway, as before
        assert httpx.post(
            f"{server.url}/v1/chat/completions", json={"model": "xai.grok-3", "messages": HI, "max_tokens": 8}
        ).is_success
        key_id, secret = _create(data, "--models", "xai.*")
        revoked_id, revoked = _create(data)
        assert run_ocigate("keys", "revoke", revoked_id, env=clean_env(OCIGATE_DATA_DIR=str(data))).returncode == 0
        time.sleep(5.2)  # the gateway looks again for keys every 5 s while it has seen none

        team = openai.OpenAI(base_url=f"{server.url}/v1", api_key=secret, max_retries=0)
        assert team.chat.completions.create(model="oracle/xai.grok-3", messages=HI, max_tokens=8).choices
        with pytest.raises(openai.PermissionDeniedError):
            team.chat.completions.create(model="openai.gpt-oss-120b", messages=HI, max_tokens=8)
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{server.url}/v1", api_key=revoked, max_retries=0).models.list()
        for headers in ({}, {"Authorization": "Bearer anything"}):
            refused = httpx.get(f"{server.url}/v1/models", headers=headers)
            assert refused.status_code == 401 and "team keys" in refused.json()["error"]["message"]
    finally:
        server.stop()
    with sqlite3.connect(data / "ocigate.db") as db:
        credited = {row[0] for row in db.execute("SELECT key_id FROM usage WHERE status IN (200, 403)")}
    assert key_id in credited


def test_listings_and_model_errors_show_a_key_only_its_models(emulator: ServerThread) -> None:
    server, _ = start_gateway(gateway_env(emulator, ORACLE_MODELS=MODELS))
    admin = Admin(server.url)
    try:
        team = admin.client(admin.create(name="grok-only", allowed_models=["xai.*"])["secret"])
        assert sorted(m.id for m in team.models.list()) == ["xai.grok-3", "xai.grok-4"]
        with pytest.raises(openai.NotFoundError) as unknown:
            team.chat.completions.create(model="nope", messages=HI, max_tokens=8)
        assert "xai.grok-3" in unknown.value.message and "openai.gpt-oss-120b" not in unknown.value.message
        with pytest.raises(openai.NotFoundError):
            team.models.retrieve("openai.gpt-oss-120b")
        assert team.models.retrieve("xai.grok-4").id == "xai.grok-4"
        everything = admin.client("gw-governance-master").models.list()
        assert "openai.gpt-oss-120b" in {m.id for m in everything}
    finally:
        server.stop()
