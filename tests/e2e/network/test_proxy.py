"""Upstream calls through a forward proxy: ``HTTPS_PROXY``/``HTTP_PROXY`` from the environment, a provider's own
``proxy:`` (with credentials, never shown), ``NO_PROXY``, and loopback reached directly.

The providers name ``genai.test``, which only the test proxy resolves (to the emulator): a reply proves the call
went through it, and its count says how many connections did."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import openai
import pytest

from tests.e2e.network.conftest import NAME, Authority
from tests.support.proxy import ForwardProxy
from tests.support.servers import CHICAGO_KEY, GatewayFactory, ServerThread

MODEL = "openai.gpt-oss-120b"
EMBED = "cohere.embed-v4.0"


def write_config(tmp_path: Path, emulator: ServerThread, ca_file: str, *, host: str = NAME, **extra: str) -> str:
    """Both of Oracle's APIs on the emulator at ``host``: the OpenAI-compatible one (chat) and the native one
    (embeddings), trusting ``ca_file``; ``extra`` settings for both providers."""
    root = f"{emulator.scheme}://{host}:{emulator.port}"
    own = "".join(f"    {key}: {value}\n" for key, value in extra.items())
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        "providers:\n"
        "  oracle:\n"
        f"    base_url: {root}/20231130/actions/v1\n"
        f"    api_key: {CHICAGO_KEY}\n"
        "    region: us-chicago-1\n"
        f"    models: [{MODEL}]\n"
        f"    ca_bundle: {ca_file}\n"
        f"{own}"
        "  oci:\n"
        "    type: oci\n"
        "    auth: api_key\n"
        f"    endpoint: {root}\n"
        f"    api_key: {CHICAGO_KEY}\n"
        "    region: us-chicago-1\n"
        "    compartment_id: ocid1.compartment.oc1..test\n"
        f"    models: [{EMBED}]\n"
        f"    ca_bundle: {ca_file}\n"
        f"{own}"
    )
    return str(path)


def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)


def chat(server: ServerThread, model: str = MODEL) -> str:
    reply = client(server).chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}])
    return reply.choices[0].message.content or ""


def test_https_proxy_from_the_environment_carries_chat_stream_and_native_calls(
    tmp_path: Path,
    tls_emulator: ServerThread,
    authority: Authority,
    proxy: ForwardProxy,
    gateway_factory: GatewayFactory,
) -> None:
    config = write_config(tmp_path, tls_emulator, authority.ca_file)
    server, _ = gateway_factory({"HTTPS_PROXY": proxy.url}, config_file=config)
    assert chat(server)
    chunks = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    vectors = client(server).embeddings.create(model=EMBED, input=["one", "two"])
    assert len(vectors.data) == 2
    # Every answer came from genai.test, which only the proxy resolves; the calls share pooled tunnels.
    assert proxy.targets[f"{NAME}:{tls_emulator.port}"] >= 1
    assert set(proxy.methods) == {"CONNECT"}


def test_http_proxy_with_credentials_carries_plain_http_upstreams(
    tmp_path: Path, emulator: ServerThread, locked_proxy: ForwardProxy, gateway_factory: GatewayFactory
) -> None:
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        "providers:\n  oracle:\n"
        f"    base_url: http://{NAME}:{emulator.port}/20231130/actions/v1\n"
        f"    api_key: {CHICAGO_KEY}\n    region: us-chicago-1\n    models: [{MODEL}]\n"
    )
    # The lowercase form wins over the uppercase one, as curl and Python's urllib read them.
    env = {"http_proxy": locked_proxy.url_with_credentials, "HTTP_PROXY": "http://127.0.0.1:9"}
    server, _ = gateway_factory(env, config_file=str(path))
    assert chat(server)
    assert locked_proxy.targets[f"{NAME}:{emulator.port}"] >= 1
    assert "CONNECT" not in locked_proxy.methods
    assert locked_proxy.refused[407] == 0


def test_a_providers_own_proxy_wins_and_its_credentials_are_never_shown(
    tmp_path: Path,
    tls_emulator: ServerThread,
    authority: Authority,
    locked_proxy: ForwardProxy,
    proxy: ForwardProxy,
    gateway_factory: GatewayFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = write_config(tmp_path, tls_emulator, authority.ca_file, proxy=locked_proxy.url_with_credentials)
    server, _ = gateway_factory({"HTTPS_PROXY": proxy.url}, config_file=config)
    assert chat(server)
    assert locked_proxy.targets[f"{NAME}:{tls_emulator.port}"] >= 1
    assert proxy.total == 0
    assert locked_proxy.refused[407] == 0
    said = [r.getMessage() for r in caplog.records if "reaches" in r.getMessage()]
    assert any(f"through the proxy http://127.0.0.1:{locked_proxy.port}" in line for line in said), said

    wrong_proxy = f"http://alice:nope-wrong@127.0.0.1:{locked_proxy.port}"
    wrong = write_config(tmp_path, tls_emulator, authority.ca_file, proxy=wrong_proxy)
    refused, _ = gateway_factory({}, config_file=wrong)
    with pytest.raises(openai.APIStatusError) as caught:
        chat(refused)
    assert caught.value.status_code == 502
    message = str(caught.value.body)
    assert "407" in message and "credentials in the proxy URL" in message
    assert "nope-wrong" not in message
    assert locked_proxy.refused[407] >= 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "pr0xy-s3cret" not in logged and "nope-wrong" not in logged


def test_no_proxy_sends_a_host_directly(
    tmp_path: Path,
    tls_emulator: ServerThread,
    authority: Authority,
    proxy: ForwardProxy,
    gateway_factory: GatewayFactory,
) -> None:
    config = write_config(tmp_path, tls_emulator, authority.ca_file)
    # genai.test reached directly cannot be resolved: the call fails, and the proxy never saw it.
    server, _ = gateway_factory({"HTTPS_PROXY": proxy.url, "NO_PROXY": "example.com,.test"}, config_file=config)
    with pytest.raises(openai.APIStatusError) as caught:
        chat(server)
    assert caught.value.status_code == 502
    assert proxy.total == 0


def test_loopback_is_reached_directly_unless_the_provider_names_a_proxy(
    tmp_path: Path,
    tls_emulator: ServerThread,
    authority: Authority,
    proxy: ForwardProxy,
    gateway_factory: GatewayFactory,
) -> None:
    config = write_config(tmp_path, tls_emulator, authority.ca_file, host="127.0.0.1")
    server, _ = gateway_factory({"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url}, config_file=config)
    assert chat(server)
    assert proxy.total == 0

    # With nothing configured, the bundled emulator (on loopback) answers whatever the environment's proxy.
    embedded, _ = gateway_factory({"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url})
    assert chat(embedded)
    assert proxy.total == 0

    named = write_config(tmp_path, tls_emulator, authority.ca_file, host="127.0.0.1", proxy=proxy.url)
    through, _ = gateway_factory({}, config_file=named)
    assert chat(through)
    assert proxy.targets[f"127.0.0.1:{tls_emulator.port}"] >= 1


def test_a_proxy_that_cannot_be_reached_is_a_502_that_names_the_setting(
    tmp_path: Path, tls_emulator: ServerThread, authority: Authority, gateway_factory: GatewayFactory
) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server, _ = gateway_factory(
        {"HTTPS_PROXY": f"http://127.0.0.1:{port}"}, config_file=write_config(tmp_path, tls_emulator, authority.ca_file)
    )
    with pytest.raises(openai.APIStatusError) as caught:
        chat(server)
    assert caught.value.status_code == 502
    assert "the proxy cannot be reached" in str(caught.value.body) and "HTTPS_PROXY" in str(caught.value.body)


def test_a_proxy_that_never_answers_is_a_timeout_not_a_hang(
    tmp_path: Path, tls_emulator: ServerThread, authority: Authority, gateway_factory: GatewayFactory
) -> None:
    stalling = ForwardProxy(stall=True, idle_s=10).start()
    try:
        config = write_config(tmp_path, tls_emulator, authority.ca_file)
        env = {"HTTPS_PROXY": stalling.url, "OCIGATE_CONNECT_TIMEOUT": "0.5", "OCIGATE_MAX_ATTEMPTS": "1"}
        server, _ = gateway_factory(env, config_file=config)
        with pytest.raises(openai.APIStatusError) as caught:
            chat(server)
        assert caught.value.status_code == 504
        assert "Timed out" in str(caught.value.body)
        assert stalling.stalled >= 1
    finally:
        stalling.stop()
