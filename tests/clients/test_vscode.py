"""``ocigate vscode``: the provider entry for VS Code's chatLanguageModels.json, and merging it into that file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocigate.clients.jsonc import strip_jsonc
from ocigate.clients.vscode import merge_into, vscode_entry

from .conftest import clean_env, run_ocigate
from conftest import CHICAGO_KEY, MODELS
from servers import ServerThread


def test_the_entry_lists_each_model_with_its_capabilities() -> None:
    entry = vscode_entry(["xai.grok-4", "acme.frontier-9"], "http://gw.example.com:8080/v1/", "${input:k}")
    assert {k: v for k, v in entry.items() if k != "models"} == {
        "name": "ocigate",
        "vendor": "customendpoint",
        "apiKey": "${input:k}",
        "apiType": "chat-completions",
    }
    grok, unknown = entry["models"]
    assert grok == {
        "id": "xai.grok-4",
        "name": "xai.grok-4 (ocigate)",
        "url": "http://gw.example.com:8080/v1/chat/completions",
        "toolCalling": True,
        "vision": True,
        "thinking": True,
        "maxInputTokens": 64_000,
        "maxOutputTokens": 64_000,
    }
    assert (unknown["toolCalling"], unknown["vision"], unknown["thinking"]) == (True, False, False)
    assert (unknown["maxInputTokens"], unknown["maxOutputTokens"]) == (123_904, 4_096)


def test_the_default_key_reference_asks_vscode_for_an_input() -> None:
    assert vscode_entry(["xai.grok-3"], "http://127.0.0.1:8080")["apiKey"] == "${input:ocigateKey}"


def test_merging_replaces_the_entry_of_the_same_name_and_keeps_the_others() -> None:
    other = {"name": "Azure", "vendor": "customendpoint", "models": []}
    old = {"name": "ocigate", "vendor": "customendpoint", "models": [{"id": "old"}]}
    new = vscode_entry(["xai.grok-3"], "http://127.0.0.1:8080")
    merged = json.loads(merge_into(json.dumps([other, old, {**old, "apiKey": "duplicate"}]), new))
    assert merged == [other, new]
    assert json.loads(merge_into(json.dumps([other]), new)) == [other, new]


@pytest.mark.parametrize("existing", ["", "  \n", "[]", "// nothing yet\n"])
def test_merging_into_an_empty_file_starts_the_array(existing: str) -> None:
    entry = vscode_entry(["xai.grok-3"], "http://127.0.0.1:8080")
    assert json.loads(merge_into(existing, entry)) == [entry]


def test_merging_accepts_comments_and_trailing_commas() -> None:
    existing = """// my models
    [
      /* a provider */ {"name": "local", "url": "http://x//y", "note": "a, ]", "models": [1, 2,],},
    ]
    """
    entry = vscode_entry(["xai.grok-3"], "http://127.0.0.1:8080")
    merged = json.loads(merge_into(existing, entry))
    assert merged == [{"name": "local", "url": "http://x//y", "note": "a, ]", "models": [1, 2]}, entry]


@pytest.mark.parametrize(
    ("existing", "problem"),
    [('{"name": "ocigate"}', "not the array"), ("[{", "not valid JSON"), ("[/* open", "not valid JSON")],
)
def test_merging_refuses_what_is_not_an_array_of_providers(existing: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        merge_into(existing, vscode_entry(["xai.grok-3"], "http://127.0.0.1:8080"))


def test_strip_jsonc_keeps_strings_whole() -> None:
    text = r'{"a": "// not a comment", "b": "quote \" /* x */", "c": [1,],}'
    assert json.loads(strip_jsonc(text)) == {"a": "// not a comment", "b": 'quote " /* x */', "c": [1]}


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
