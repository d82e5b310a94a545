"""``ocigate serve`` with tracing on exports its spans over OTLP/HTTP to a receiver on loopback, configured only by
the standard ``OTEL_*`` variables; ``OCIGATE_LOG_FORMAT=json`` makes every stderr line a JSON object carrying the
trace id and no secret. Tracing on without the ``otel`` extra stops the gateway with the fix; tracing off imports
nothing of OpenTelemetry."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import openai
import orjson
import pytest

from tests.support.cli import clean_env, run_ocigate, wait_ready
from tests.support.otlp import OtlpReceiver
from tests.support.tracing import CLIENT_SPAN, CLIENT_TRACE, TRACEPARENT

pytestmark = pytest.mark.e2e

KEY = "gw-master-key-never-in-a-log"
MODEL = "openai.gpt-oss-120b"
SERVER_KIND, CLIENT_KIND = 2, 3  # opentelemetry.proto's SPAN_KIND_SERVER, SPAN_KIND_CLIENT
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_exports_its_spans_over_otlp_and_logs_json(receiver: OtlpReceiver, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        OCIGATE_PORT=str(port),
        OCIGATE_MASTER_KEY=KEY,
        OCIGATE_DATA_DIR=str(tmp_path),
        OCIGATE_LOG_FORMAT="json",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME="ocigate-e2e",
        OTEL_BSP_SCHEDULE_DELAY="50",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ocigate", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Hello from the OTLP test."}],
            extra_headers={"traceparent": TRACEPARENT},
        )
        streamed = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Count to three."}], stream=True
        )
        assert list(streamed)
        spans = [s for s in receiver.wait_for(f"chat {MODEL}", 4) if s.span.kind == SERVER_KIND]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()

    assert len(spans) == 2 and all(s.resource["service.name"] == "ocigate-e2e" for s in spans)
    continued = next(s for s in spans if s.trace_id == CLIENT_TRACE)
    assert continued.parent_id == CLIENT_SPAN
    assert continued.attributes["gen_ai.system"] == "oci_genai"
    assert continued.attributes["gen_ai.request.model"] == MODEL
    assert int(str(continued.attributes["gen_ai.usage.output_tokens"])) > 0
    attempts = [s for s in receiver.spans if s.span.kind == CLIENT_KIND and s.parent_id == continued.span_id]
    assert len(attempts) == 1 and attempts[0].trace_id == CLIENT_TRACE

    text = stderr.decode()
    assert KEY not in text
    entries = [orjson.loads(line) for line in text.splitlines()]  # every line is one JSON object
    access = [e for e in entries if e["logger"] == "ocigate.observe.access"]
    assert any(e["path"] == "/v1/chat/completions" and e.get("trace_id") == CLIENT_TRACE for e in access)
    assert all("trace_id" in e for e in access if e["path"] == "/v1/chat/completions")
    assert any(e["logger"].startswith("uvicorn") or e["logger"] == "ocigate" for e in entries)


def test_tracing_on_without_the_extra_stops_serve_with_the_fix(tmp_path: Path) -> None:
    # A package of the same name first on the path, which fails as a missing one does.
    fake = tmp_path / "opentelemetry"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named opentelemetry', name='opentelemetry')\n")
    env = clean_env(OCIGATE_TRACING="otlp", PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO / "src")]))
    result = run_ocigate("serve", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "pip install 'ocigate[otel]'" in result.stderr and "OpenTelemetry is not installed" in result.stderr


def test_a_traceless_gateway_imports_nothing_of_opentelemetry(receiver: OtlpReceiver, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, httpx
        from tests.support.servers import start_gateway
        server, _ = start_gateway({"OCIGATE_DATA_DIR": sys.argv[1], **dict(a.split("=", 1) for a in sys.argv[2:])})
        body = {"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "hi"}]}
        assert httpx.post(server.url + "/v1/chat/completions", json=body, timeout=30).status_code == 200
        server.stop()
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        """
    )

    def loaded(*env: str) -> str:
        args = [sys.executable, "-c", script, str(tmp_path), *env]
        done = subprocess.run(args, cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert loaded() == "[]"
    assert "opentelemetry.sdk.trace" in loaded(
        "OCIGATE_TRACING=otlp", f"OTEL_EXPORTER_OTLP_ENDPOINT={receiver.endpoint}"
    )
