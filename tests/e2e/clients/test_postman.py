"""``ocigate postman`` run as a user runs it, in a subprocess: to a file, with the served models, and to stdout.
tests/unit/clients/test_postman.py checks the collection's structure; test_newman.py runs it against a gateway."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import clean_env, run_ocigate
from tests.support.servers import CHICAGO_KEY, ServerThread


def test_the_command_writes_the_collection(emulator: ServerThread, tmp_path: Path) -> None:
    env = clean_env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY=CHICAGO_KEY,
        ORACLE_MODELS="cohere.embed-v4.0,xai.grok-3,openai.gpt-oss-120b",
        OCIGATE_PORT="9191",
    )
    path = tmp_path / "ocigate.postman_collection.json"
    result = run_ocigate("postman", "--output", str(path), env=env)
    assert result.returncode == 0, result.stderr
    variables = {v["key"]: v["value"] for v in json.loads(path.read_text())["variable"]}
    assert variables["baseUrl"] == "http://127.0.0.1:9191/v1"
    assert variables["model"] == "xai.grok-3"
    assert variables["embeddingModel"] == "cohere.embed-v4.0"
    assert "newman run" in result.stderr


def test_the_command_prints_to_stdout_without_output() -> None:
    result = run_ocigate("postman", "--url", "https://gw.example.com/v1", env=clean_env())
    assert result.returncode == 0, result.stderr
    collection = json.loads(result.stdout)
    assert {v["key"]: v["value"] for v in collection["variable"]}["baseUrl"] == "https://gw.example.com/v1"
