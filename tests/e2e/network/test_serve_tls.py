"""HTTPS on the gateway's own port: ``ocigate serve --ssl-certfile/--ssl-keyfile`` (or ``OCIGATE_SSL_*``) driven by
the OpenAI SDK trusting the test authority; a certificate that cannot be loaded stops ``serve`` with the fix; and
``ocigate emulator --ssl-…`` serves Oracle's stand-in over HTTPS."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai

from tests.e2e.network.conftest import Authority
from tests.support.cli import clean_env, run_ocigate

MODEL = "openai.gpt-oss-120b"


def trust(ca_file: str) -> ssl.SSLContext:
    """A client context trusting only the test authority (what httpx's ``verify=`` takes)."""
    return ssl.create_default_context(cafile=ca_file)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(args: list[str], env: dict[str, str], ready: str, ca_file: str) -> Iterator[subprocess.Popen[bytes]]:
    """``ocigate *args`` until ``ready`` (a URL) answers over TLS trusting ``ca_file``; stopped at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ocigate", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(ready, verify=trust(ca_file), timeout=2)
                break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            assert time.monotonic() < deadline, "did not start"
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_over_https_with_the_openai_sdk(authority: Authority) -> None:
    port = _free_port()
    args = ["serve", "--port", str(port), "--ssl-certfile", authority.cert_file, "--ssl-keyfile", authority.key_file]
    url = f"https://localhost:{port}"
    with running(args, clean_env(OCIGATE_NO_ACCESS_LOG="1"), f"{url}/healthz", authority.ca_file) as process:
        # The SDK's own httpx client, told to trust the test authority, as a user of a private CA would.
        with openai.DefaultHttpxClient(verify=trust(authority.ca_file)) as http:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", http_client=http, max_retries=0)
            reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
            assert reply.choices[0].message.content
            stream = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hello"}], stream=True
            )
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        # The port speaks only TLS, and a client that does not trust the authority is refused.
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            plain_answered = True
        except httpx.TransportError:
            plain_answered = False
        assert not plain_answered
        try:
            httpx.get(f"{url}/healthz", timeout=5)
            untrusted_answered = True
        except httpx.ConnectError as exc:
            untrusted_answered = "CERTIFICATE_VERIFY_FAILED" not in str(exc)
        assert not untrusted_answered
        assert process.poll() is None


def test_serve_takes_the_certificate_from_the_environment(authority: Authority) -> None:
    port = _free_port()
    env = clean_env(
        OCIGATE_PORT=str(port),
        OCIGATE_SSL_CERTFILE=authority.cert_file,
        OCIGATE_SSL_KEYFILE=authority.key_file,
        OCIGATE_NO_ACCESS_LOG="1",
    )
    with running(["serve"], env, f"https://127.0.0.1:{port}/healthz", authority.ca_file):
        assert httpx.get(f"https://127.0.0.1:{port}/readyz", verify=trust(authority.ca_file)).status_code == 200


def test_a_certificate_that_cannot_be_loaded_stops_serve_with_the_fix(authority: Authority) -> None:
    missing = run_ocigate("serve", "--ssl-certfile", "/nonexistent/cert.pem", env=clean_env())
    assert missing.returncode == 2
    assert "--ssl-certfile: '/nonexistent/cert.pem' does not exist or is not a file" in missing.stderr
    # The other authority's certificate with this server's key: they do not match.
    mismatched = run_ocigate(
        "serve", "--ssl-certfile", authority.other_ca_file, "--ssl-keyfile", authority.key_file, env=clean_env()
    )
    assert mismatched.returncode == 2
    assert "does not match" in mismatched.stderr
    key_only = run_ocigate("serve", env=clean_env(OCIGATE_SSL_KEYFILE=authority.key_file))
    assert key_only.returncode == 2 and "give --ssl-certfile too" in key_only.stderr


def test_the_emulator_serves_https(authority: Authority) -> None:
    port = _free_port()
    args = ["emulator", "--port", str(port), "--ssl-certfile", authority.cert_file, "--ssl-keyfile", authority.key_file]
    root = f"https://127.0.0.1:{port}/20231130/actions/v1"
    with running(args, clean_env(), f"{root}/models", authority.ca_file):
        with openai.DefaultHttpxClient(verify=trust(authority.ca_file)) as http:
            client = openai.OpenAI(base_url=root, api_key="sk-emulator-chicago", http_client=http, max_retries=0)
            reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
            assert reply.choices[0].message.content
