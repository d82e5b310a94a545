"""``ocigate vscode`` run as a user runs it, in a subprocess: the chat models a gateway serves, the bundled emulator's
without Oracle settings, and merging into chatLanguageModels.json. The entry and the merge themselves are unit-tested
in tests/unit/clients/test_vscode.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import clean_env, run_ocigate
from tests.support.servers import CHICAGO_KEY, MODELS, ServerThread


def _oracle_env(emulator: ServerThread, models: str = MODELS, **extra: str) -> dict[str, str]:
    return clean_env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY=CHICAGO_KEY,
        ORACLE_REGION="us-chicago-1",
        ORACLE_MODELS=models,
        **extra,
    )


def test_the_command_prints_the_chat_models_the_gateway_serves(emulator: ServerThread) -> None:
    env = _oracle_env(
        emulator,
        "xai.grok-3,cohere.embed-v4.0,acme.frontier-9,cohere.rerank-v3.5",
        OCIGATE_HOST="0.0.0.0",
        OCIGATE_PORT="9090",
    )
    result = run_ocigate("vscode", env=env)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    assert [m["id"] for m in entry["models"]] == ["xai.grok-3", "acme.frontier-9"]
    assert {m["url"] for m in entry["models"]} == {"http://127.0.0.1:9090/v1/chat/completions"}
    assert "conservative defaults" in result.stderr and "acme.frontier-9" in result.stderr


def test_the_command_without_oracle_lists_the_emulators_models() -> None:
    result = run_ocigate("vscode", "--url", "https://gw.example.com", "--key-ref", "${input:gw}", env=clean_env())
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    ids = [m["id"] for m in entry["models"]]
    assert "openai.gpt-oss-120b" in ids and "meta.llama-3.3-70b-instruct" in ids
    assert entry["models"][0]["url"] == "https://gw.example.com/v1/chat/completions"
    assert entry["apiKey"] == "${input:gw}"
    assert "bundled emulator" in result.stderr


def test_the_command_merges_into_a_file(emulator: ServerThread, tmp_path: Path) -> None:
    path = tmp_path / "User" / "chatLanguageModels.json"
    path.parent.mkdir()
    path.write_text('[\n  // mine\n  {"name": "other", "models": []},\n  {"name": "ocigate", "models": []}\n]\n')
    result = run_ocigate("vscode", "--write", str(path), env=_oracle_env(emulator))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    providers = json.loads(path.read_text())
    assert [p["name"] for p in providers] == ["other", "ocigate"]
    assert [m["id"] for m in providers[1]["models"]] == MODELS.split(",")
    assert f"to {path}" in result.stderr


def test_the_command_leaves_a_file_it_cannot_read_alone(emulator: ServerThread, tmp_path: Path) -> None:
    path = tmp_path / "chatLanguageModels.json"
    path.write_text('{"not": "an array"}')
    result = run_ocigate("vscode", "--write", str(path), env=_oracle_env(emulator))
    assert result.returncode == 1
    assert "not the array of providers" in result.stderr
    assert path.read_text() == '{"not": "an array"}'
    assert [p.name for p in tmp_path.iterdir()] == ["chatLanguageModels.json"]
