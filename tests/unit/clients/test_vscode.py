"""``ocigate vscode``: the provider entry for VS Code's chatLanguageModels.json, and merging it into that file."""

from __future__ import annotations

import json

import pytest

from ocigate.clients.jsonc import strip_jsonc
from ocigate.clients.vscode import merge_into, vscode_entry


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
