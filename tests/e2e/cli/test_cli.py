"""The ``ocigate`` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai

from tests.support.servers import ServerThread


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_"))}
    env["OCIGATE_DATA_DIR"] = tempfile.mkdtemp(prefix="ocigate-cli-")
    env.update(extra)
    return env


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocigate", *args], env=env or _env(), capture_output=True, text=True, timeout=60
    )


@contextmanager
def _serving(*args: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ocigate", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.05)
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def test_serve_without_oracle_config_runs_the_emulator_with_a_banner() -> None:
    with _serving(env=_env()) as (url, process):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="anything", max_retries=0)
        ids = [m.id for m in client.models.list().data]
        assert "openai.gpt-oss-120b" in ids and "meta.llama-3.3-70b-instruct" in ids
        reply = client.chat.completions.create(
            model="openai.gpt-oss-120b", messages=[{"role": "user", "content": "Reply with the single word ok."}]
        )
        assert reply.choices[0].message.content == "ok"
        streamed = client.responses.create(model="xai.grok-3", input="hello", stream=True)
        assert [e.type for e in streamed][-1] == "response.completed"
    assert process.returncode == 0
    output = process.stdout.read() if process.stdout else ""
    assert "bundled Oracle emulator" in output and "OCIGATE_MASTER_KEY is not set" in output


def test_serve_refuses_a_public_address_without_master_key() -> None:
    result = _run("serve", "--host", "0.0.0.0", "--port", str(_free_port()))
    assert result.returncode == 2 and "OCIGATE_MASTER_KEY" in result.stderr


def test_serve_logs_opc_request_id_and_never_the_secret(emulator: ServerThread) -> None:
    env = _env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY="sk-emulator-chicago",
        ORACLE_MODELS="xai.grok-3",
        OCIGATE_MASTER_KEY="master-secret-value",
    )
    with _serving(env=env) as (url, process):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="master-secret-value", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="xai.grok-3", messages=[{"role": "user", "content": "hi"}]
        )
        request_id = raw.headers["opc-request-id"]
    output = process.stdout.read() if process.stdout else ""
    assert f"opc-request-id={request_id}" in output
    assert "sk-emulator-chicago" not in output and "master-secret-value" not in output


def test_models_command_prints_provider_and_source(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "providers:\n  oracle:\n    type: oracle\n    base_url: ${ORACLE_BASE_URL}\n    api_key: ${ORACLE_API_KEY}\n"
        "    models: [openai.gpt-oss-120b]\n",
        encoding="utf-8",
    )
    result = _run("models", "--config", str(config), env=_env(ORACLE_MODELS="xai.grok-3, xai.grok-4"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["MODEL", "PROVIDER", "TYPE", "SOURCE"]
    assert lines[1].split() == ["xai.grok-3", "oracle", "oracle", "configured"]
    assert "openai.gpt-oss-120b" not in result.stdout  # ORACLE_MODELS replaced the YAML list
    assert "OUT OF SERVICE" in result.stdout and "${ORACLE_BASE_URL}" in result.stdout


def test_models_command_without_config_lists_the_emulator() -> None:
    result = _run("models")
    assert result.returncode == 0 and "emulator" in result.stdout and "xai.grok-4" in result.stdout


def test_doctor_reports_pitfalls_and_fails() -> None:
    env = _env(
        ORACLE_BASE_URL="https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/v1",
        ORACLE_REGION="us-ashburn-1",
        ORACLE_API_KEY="ocid1.generativeaiapikey.oc1.us-chicago-1.xyz",
    )
    result = _run("doctor", "--offline", env=env)
    assert result.returncode == 1
    assert "is an OCID" in result.stdout and "ORACLE_REGION says us-ashburn-1" in result.stdout
    assert "ORACLE_MODELS" in result.stdout


def test_doctor_probe_explains_a_missing_policy(emulator: ServerThread) -> None:
    env = _env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY="sk-emulator-nopolicy",
        ORACLE_MODELS="xai.grok-3",
    )
    result = _run("doctor", env=env)
    assert result.returncode == 1 and "generative-ai-family" in result.stdout
    good = _run("doctor", env={**env, "ORACLE_API_KEY": "sk-emulator-chicago"})
    assert good.returncode == 0 and "OK: provider 'oracle' answered" in good.stdout, good.stdout


def test_emulator_command_serves_oracle_shapes() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ocigate",
            "emulator",
            "--port",
            str(port),
            "--region",
            "us-ashburn-1",
            "--key",
            "sk-mine:us-ashburn-1",
        ],
        env=_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/20231130/actions/v1"
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        ok = httpx.post(
            f"{url}/chat/completions",
            headers={"Authorization": "Bearer sk-mine"},
            json={"model": "xai.grok-3", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert ok.status_code == 200 and ok.headers["opc-request-id"]
        refused = httpx.post(
            f"{url}/chat/completions",
            headers={"Authorization": "Bearer sk-emulator-chicago"},
            json={"model": "xai.grok-3", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert refused.status_code == 401 and refused.json()["code"] == "NotAuthenticated"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_version_and_module_entry_point() -> None:
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.startswith("ocigate ")
