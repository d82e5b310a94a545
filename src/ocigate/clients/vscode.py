"""``ocigate vscode``: the gateway's models as a provider entry of VS Code's ``chatLanguageModels.json``.

VS Code's *Chat: Manage Language Models → Add Models → Custom Endpoint* keeps a JSON array of providers there.
The entry lists each model explicitly: VS Code's discovery from a provider-level ``url`` drops models whose
capabilities it cannot infer, so explicit ``models`` with capabilities and budgets is the reliable form.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ocigate.catalog.metadata import catalog_entry, model_metadata
from ocigate.clients.jsonc import strip_jsonc
from ocigate.clients.served import gateway_root, load, root_of, served_models

PROVIDER_NAME = "ocigate"
DEFAULT_KEY_REF = "${input:ocigateKey}"
_FIELDS = ("toolCalling", "vision", "thinking", "maxInputTokens", "maxOutputTokens")


def vscode_entry(models: Sequence[str], url: str, key_ref: str = DEFAULT_KEY_REF) -> dict[str, Any]:
    """The provider entry for ``models`` served at ``url`` (the gateway's address, with or without ``/v1``)."""
    endpoint = root_of(url) + "/v1/chat/completions"
    entries = []
    for model in models:
        metadata = model_metadata(model)
        entries.append(
            {"id": model, "name": f"{model} (ocigate)", "url": endpoint, **{k: metadata[k] for k in _FIELDS}}
        )
    return {
        "name": PROVIDER_NAME,
        "vendor": "customendpoint",
        "apiKey": key_ref,
        "apiType": "chat-completions",
        "models": entries,
    }


def merge_into(existing_json_text: str, entry: dict[str, Any]) -> str:
    """``chatLanguageModels.json`` with ``entry`` in place of the provider of the same name, or appended.

    The other providers are kept as they are. Comments and trailing commas are accepted but not kept: the
    result is plain JSON. Raises ValueError when the text is not a JSON array.
    """
    try:
        text = strip_jsonc(existing_json_text)
        providers: object = json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from exc
    if not isinstance(providers, list):
        raise ValueError(f"it holds a JSON {type(providers).__name__}, not the array of providers VS Code keeps")
    merged: list[Any] = []
    placed = False
    for provider in providers:
        if isinstance(provider, dict) and provider.get("name") == entry["name"]:
            if not placed:
                merged.append(entry)
                placed = True
            continue
        merged.append(provider)
    if not placed:
        merged.append(entry)
    return json.dumps(merged, indent=2, ensure_ascii=False) + "\n"


def write_merged(path: Path, entry: dict[str, Any]) -> None:
    """Merge ``entry`` into the file at ``path`` (created if missing), replacing it in one step."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    text = merge_into(existing, entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def vscode_command(url: str | None, key_ref: str, write: str | None, config_file: str | None) -> int:
    settings = load(config_file)
    served = asyncio.run(served_models(settings))
    for note in served.notes:
        print(f"ocigate vscode: {note}", file=sys.stderr)
    if not served.chat:
        print("ocigate vscode: the gateway serves no chat model with this configuration.", file=sys.stderr)
        return 1
    unknown = [m for m in served.chat if catalog_entry(m) is None]
    if unknown:
        print(
            f"ocigate vscode: not in ocigate's model catalogue, given conservative defaults (tool calling, no vision, "
            f"no thinking, 128000-token window, 4096 output tokens): {', '.join(unknown)}",
            file=sys.stderr,
        )
    entry = vscode_entry(served.chat, gateway_root(url, settings), key_ref)
    if write is None:
        print(json.dumps(entry, indent=2, ensure_ascii=False))
        return 0
    path = Path(write).expanduser()
    try:
        write_merged(path, entry)
    except (OSError, ValueError) as exc:
        print(f"ocigate vscode: cannot update {path}: {exc}", file=sys.stderr)
        return 1
    print(f"ocigate vscode: wrote provider '{PROVIDER_NAME}' with {len(served.chat)} models to {path}", file=sys.stderr)
    return 0
