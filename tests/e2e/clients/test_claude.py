"""``ocigate claude`` run as a user runs it, in a subprocess, and its exports used as Claude Code uses them: the
Anthropic SDK reads ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN from the environment, and asks for
ANTHROPIC_MODEL; the answer comes from the gateway."""

from __future__ import annotations

import shlex

import anthropic
import pytest

from tests.support.cli import clean_env, run_ocigate
from tests.support.servers import CHICAGO_KEY, MODELS, ServerThread


def test_the_exports_reach_the_gateway(
    emulator: ServerThread, gateway: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = clean_env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY=CHICAGO_KEY,
        ORACLE_REGION="us-chicago-1",
        ORACLE_MODELS=MODELS,
    )
    result = run_ocigate("claude", "--url", f"{gateway.url}/v1", "--key-ref", "gw-master-key", env=env)
    assert result.returncode == 0, result.stderr
    exported = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines() if line.startswith("export ")
    )
    values = {name: shlex.split(value)[0] if value not in ("''", '""') else "" for name, value in exported.items()}
    assert values["ANTHROPIC_BASE_URL"] == gateway.url
    assert (values["ANTHROPIC_MODEL"], values["ANTHROPIC_SMALL_FAST_MODEL"]) == ("xai.grok-4", "openai.gpt-oss-20b")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    claude = anthropic.Anthropic(max_retries=0)  # everything from the environment, as Claude Code reads it
    for model in (values["ANTHROPIC_MODEL"], values["ANTHROPIC_DEFAULT_HAIKU_MODEL"]):
        message = claude.messages.create(model=model, max_tokens=400, messages=[{"role": "user", "content": "Hi"}])
        assert message.stop_reason == "end_turn"


def test_a_model_the_gateway_does_not_serve_is_refused() -> None:
    result = run_ocigate("claude", "--model", "claude-opus-4-1", env=clean_env())
    assert result.returncode == 1
    assert "--model claude-opus-4-1 is not a chat model this gateway serves" in result.stderr


def test_without_a_master_key_any_token_is_given() -> None:
    result = run_ocigate("claude", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "export ANTHROPIC_AUTH_TOKEN=ocigate-local" in result.stdout  # Claude Code will not start without one
    assert "OCIGATE_MASTER_KEY is not set" in result.stderr
