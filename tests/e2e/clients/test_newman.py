"""The exported Postman collection, run by newman against a real gateway in front of the emulator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import clean_env, run_ocigate
from tests.support.servers import CHICAGO_KEY, MODELS, GatewayFactory, ServerThread


@pytest.fixture(scope="module")
def out_of_the_box(gateway_factory: GatewayFactory) -> ServerThread:
    """``ocigate serve`` with a master key and no Oracle settings: the bundled emulator, both of its APIs."""
    server, _ = gateway_factory({"OCIGATE_MASTER_KEY": "gw-master-key"})
    return server


def _newman(node_dir: Path, collection: Path, gateway: ServerThread) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
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


def test_newman_runs_the_exported_collection_green(
    node_dir: Path, out_of_the_box: ServerThread, tmp_path: Path
) -> None:
    # Exported with no Oracle settings, as a new user exports it before configuring anything.
    collection = tmp_path / "ocigate.postman_collection.json"
    exported = run_ocigate("postman", "--output", str(collection), env=clean_env())
    assert exported.returncode == 0, exported.stderr
    assert '"value": "cohere.embed-v4.0"' in collection.read_text()

    result = _newman(node_dir, collection, out_of_the_box)
    output = f"newman exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    for request in ("List models", "Chat (streaming)", "Responses (streaming)", "Embeddings"):
        assert request in result.stdout, output


def test_the_embeddings_request_fails_where_the_gateway_has_no_embedding_model(
    node_dir: Path, emulator: ServerThread, gateway: ServerThread, tmp_path: Path
) -> None:
    # The gateway fixture serves Oracle's OpenAI-compatible path only: its embeddings answer is a 404.
    env = clean_env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY=CHICAGO_KEY,
        ORACLE_REGION="us-chicago-1",
        ORACLE_MODELS=MODELS,
    )
    collection = tmp_path / "ocigate.postman_collection.json"
    exported = run_ocigate("postman", "--output", str(collection), env=env)
    assert exported.returncode == 0, exported.stderr

    result = _newman(node_dir, collection, gateway)
    output = f"newman exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert result.returncode != 0, output
    assert "expected response to have status code 200 but got 404" in result.stdout, output
    failed_in = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith('inside "')]
    assert failed_in and all("/ Embeddings" in line for line in failed_in), output
