"""The exported Postman collection, run by newman against a real gateway in front of the emulator."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli import clean_env, run_ocigate
from tests.support.servers import CHICAGO_KEY, MODELS, ServerThread


def test_newman_runs_the_exported_collection_green(
    node_dir: Path, emulator: ServerThread, gateway: ServerThread, tmp_path: Path
) -> None:
    # Exported from the same configuration as the gateway fixture's, as a user exports it from theirs.
    env = clean_env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY=CHICAGO_KEY,
        ORACLE_REGION="us-chicago-1",
        ORACLE_MODELS=MODELS,
    )
    collection = tmp_path / "ocigate.postman_collection.json"
    exported = run_ocigate("postman", "--output", str(collection), env=env)
    assert exported.returncode == 0, exported.stderr

    result = subprocess.run(
        [
            str(node_dir / "node_modules" / ".bin" / "newman"),
            "run",
            str(collection),
            "--env-var",
            f"baseUrl={gateway.url}/v1",
            "--env-var",
            "apiKey=gw-master-key",
            "--reporters",
            "cli",
            "--color",
            "off",
            "--timeout-request",
            "20000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = f"newman exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    for request in ("List models", "Chat (streaming)", "Responses (streaming)", "Embeddings"):
        assert request in result.stdout, output
