"""Upstream TLS with a private certificate authority: trusted through ``ca_bundle:`` (the provider's or the top
level's) or ``SSL_CERT_FILE``; an authority that did not sign the upstream's certificate is a 502 whose message
names the setting, and a bundle that cannot be used stops the gateway at start."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from ocigate.app.runtime import ConfigurationError, create_app
from ocigate.config.settings import load_settings
from tests.e2e.network.conftest import Authority
from tests.e2e.network.test_proxy import EMBED, MODEL, chat, client, write_config
from tests.support.servers import CHICAGO_KEY, GatewayFactory, ServerThread


def test_a_providers_ca_bundle_is_trusted_for_both_apis(
    tmp_path: Path, tls_emulator: ServerThread, authority: Authority, gateway_factory: GatewayFactory
) -> None:
    config = write_config(tmp_path, tls_emulator, authority.ca_file, host="localhost")
    server, _ = gateway_factory({}, config_file=config)
    assert chat(server)
    assert len(client(server).embeddings.create(model=EMBED, input="one").data) == 1


def test_ssl_cert_file_is_the_bundle_when_no_ca_bundle_is_given(
    tmp_path: Path, tls_emulator: ServerThread, authority: Authority, gateway_factory: GatewayFactory
) -> None:
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        "providers:\n  oracle:\n"
        f"    base_url: {tls_emulator.url}/20231130/actions/v1\n"
        f"    api_key: {CHICAGO_KEY}\n    region: us-chicago-1\n    models: [{MODEL}]\n"
    )
    server, _ = gateway_factory({"SSL_CERT_FILE": authority.ca_file}, config_file=str(path))
    assert chat(server)

    # The top level's ca_bundle: wins over SSL_CERT_FILE (here: the wrong authority, so the call fails).
    path.write_text(f"ca_bundle: {authority.other_ca_file}\n" + path.read_text())
    wrong, _ = gateway_factory({"SSL_CERT_FILE": authority.ca_file}, config_file=str(path))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(wrong)
    assert caught.value.status_code == 502


def test_the_wrong_authority_is_a_502_that_names_the_ca_bundle_setting(
    tmp_path: Path, tls_emulator: ServerThread, authority: Authority, gateway_factory: GatewayFactory
) -> None:
    config = write_config(tmp_path, tls_emulator, authority.other_ca_file, host="127.0.0.1")
    server, _ = gateway_factory({}, config_file=config)
    with pytest.raises(openai.APIStatusError) as caught:
        chat(server)
    error = caught.value.body
    assert caught.value.status_code == 502
    assert isinstance(error, dict) and error["code"] == "upstream_unreachable"
    assert "certificate" in error["message"] and "ca_bundle" in error["message"]
    assert "SSL_CERT_FILE" in error["message"]
    with pytest.raises(openai.APIStatusError) as caught:
        client(server).embeddings.create(model=EMBED, input="one")
    assert caught.value.status_code == 502 and "ca_bundle" in str(caught.value.body)
    # The gateway still answers: the failure was one request's, not the server's.
    assert client(server).models.list().data


def test_the_system_authorities_do_not_trust_a_private_one(
    tmp_path: Path, tls_emulator: ServerThread, gateway_factory: GatewayFactory
) -> None:
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        "providers:\n  oracle:\n"
        f"    base_url: {tls_emulator.url}/20231130/actions/v1\n"
        f"    api_key: {CHICAGO_KEY}\n    region: us-chicago-1\n    models: [{MODEL}]\n"
    )
    server, _ = gateway_factory({}, config_file=str(path))
    with pytest.raises(openai.APIStatusError) as caught:
        chat(server)
    assert caught.value.status_code == 502 and "ca_bundle" in str(caught.value.body)


@pytest.mark.parametrize("bundle", ["missing.pem", "folder", "empty.pem"])
def test_a_bundle_that_cannot_be_used_stops_the_gateway_at_start(
    tmp_path: Path, tls_emulator: ServerThread, authority: Authority, bundle: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    config = write_config(tmp_path, tls_emulator, str(tmp_path / bundle))
    with pytest.raises(ConfigurationError) as caught:
        create_app(load_settings({}, config_file=config))
    problem = caught.value.problems[0]
    assert "ocigate.yaml:7:5: providers.oracle.ca_bundle:" in problem  # placed as file:line:column
    assert str(tmp_path / bundle) in problem and "CA bundle" in problem
    settings = load_settings({"SSL_CERT_FILE": str(tmp_path / bundle)})
    assert any("SSL_CERT_FILE" in error for error in settings.errors)
