"""Proxies and CA bundles as the configuration gives them: the environment's variables (lowercase first), NO_PROXY
as curl reads it, loopback always direct, a provider's own ``proxy:`` over everything, credentials kept out of the
URL, unusable values refused at start with their place; and the gateway's own certificate checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from ocigate.clients.served import gateway_root
from ocigate.config.network import Egress, Proxy, bypassed, parse_proxy, read_server_tls
from ocigate.config.settings import load_settings
from ocigate.providers.oracle.checks import check_provider

PROXY = Proxy("http://proxy.corp:3128")


@pytest.mark.parametrize(
    ("host", "port", "rules", "direct"),
    [
        ("genai.oci.oraclecloud.com", 443, ("oraclecloud.com",), True),
        ("genai.oci.oraclecloud.com", 443, (".oraclecloud.com",), True),
        ("oraclecloud.com", 443, (".oraclecloud.com",), True),
        ("notoraclecloud.com", 443, ("oraclecloud.com",), False),
        ("anything", 443, ("*",), True),
        ("10.1.2.3", 443, ("10.0.0.0/8",), True),
        ("11.1.2.3", 443, ("10.0.0.0/8",), False),
        ("10.1.2.3", 443, ("10.1.2.3",), True),
        ("genai.test", 443, ("genai.test:8443",), False),
        ("genai.test", 8443, ("genai.test:8443",), True),
        ("::1", 443, ("::1",), True),
        ("fd00::5", 443, ("fd00::/8",), True),
        ("genai.test", 443, (), False),
    ],
)
def test_no_proxy_rules(host: str, port: int, rules: tuple[str, ...], direct: bool) -> None:
    assert bypassed(host, port, rules) is direct


def test_the_environment_proxy_by_scheme_with_loopback_and_no_proxy_direct() -> None:
    egress = Egress(http_proxy=Proxy("http://plain:1"), https_proxy=PROXY, no_proxy=("internal.corp",))
    assert egress.proxy_for("https://genai.us-chicago-1.oci.oraclecloud.com/x") == PROXY
    assert egress.proxy_for("http://genai.test:8080/x") == Proxy("http://plain:1")
    assert Egress(https_proxy=PROXY, no_proxy=("genai.test:443",)).proxy_for("https://genai.test/x") is None
    for direct in ("https://127.0.0.1:8443/x", "http://localhost:1/x", "https://[::1]:1/", "https://a.internal.corp/"):
        assert egress.proxy_for(direct) is None, direct
    explicit = Egress(http_proxy=PROXY, https_proxy=PROXY, no_proxy=("*",), explicit=True)
    assert explicit.proxy_for("https://127.0.0.1/x") == PROXY


def test_credentials_are_kept_apart_from_the_proxy_url() -> None:
    proxy, problem = parse_proxy("http://al%40ice:p%3Ass@proxy.corp:3128", "HTTPS_PROXY")
    assert problem is None and proxy is not None
    assert proxy.url == "http://proxy.corp:3128"
    assert (proxy.username, proxy.password) == ("al@ice", "p:ss")
    assert "p:ss" not in repr(proxy) and "p%3Ass" not in repr(proxy)
    assert proxy.url_with_credentials == "http://al%40ice:p%3Ass@proxy.corp:3128"
    bare, _ = parse_proxy("proxy.corp:3128", "HTTPS_PROXY")
    assert bare == Proxy("http://proxy.corp:3128")


@pytest.mark.parametrize("value", ["https://proxy.corp:3128", "socks5://proxy.corp:1080", "http://:3128", "http://h:x"])
def test_a_proxy_the_gateway_cannot_use_is_refused_with_the_fix(value: str) -> None:
    settings = load_settings({"HTTPS_PROXY": value, "ORACLE_API_KEY": "sk-x", "ORACLE_REGION": "us-chicago-1"})
    (error,) = settings.errors
    assert error.startswith("HTTPS_PROXY: ") and "NO_PROXY" in error


def test_lowercase_variables_win_and_reach_every_provider() -> None:
    env = {
        "https_proxy": "http://lower:1",
        "HTTPS_PROXY": "http://upper:1",
        "NO_PROXY": "a.corp, b.corp",
        "ORACLE_API_KEY": "sk-x",
        "ORACLE_REGION": "us-chicago-1",
    }
    (provider,) = load_settings(env).providers
    assert provider.egress.https_proxy == Proxy("http://lower:1")
    assert provider.egress.no_proxy == ("a.corp", "b.corp")


def test_a_providers_proxy_and_bundle_from_the_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    path = tmp_path / "ocigate.yaml"
    path.write_text(
        f"ca_bundle: {ca}\n"
        "providers:\n"
        "  corp:\n    region: us-chicago-1\n    api_key: sk-x\n    proxy: http://bob:${PROXY_PASSWORD}@proxy.corp:3128\n"
        "  home:\n    region: us-ashburn-1\n    api_key: sk-y\n    proxy: direct\n    ca_bundle: ''\n"
    )
    settings = load_settings({"HTTPS_PROXY": "http://env:1", "PROXY_PASSWORD": "pw"}, config_file=str(path))
    assert settings.errors == ()
    corp, home = settings.providers
    assert corp.egress.https_proxy == Proxy("http://proxy.corp:3128", "bob", "pw") and corp.egress.explicit
    assert home.egress.https_proxy is None and home.egress.explicit
    assert corp.egress.ca_bundle == home.egress.ca_bundle == str(ca)
    unset = load_settings({}, config_file=str(path))
    assert any("providers.corp.proxy: ${PROXY_PASSWORD} names a variable that is not set" in e for e in unset.errors)


def test_proxy_and_ca_bundle_are_known_keys_and_misspellings_are_not(tmp_path: Path) -> None:
    path = tmp_path / "ocigate.yaml"
    path.write_text("providers:\n  oracle:\n    region: us-chicago-1\n    api_key: sk-x\n    proxi: http://p:1\n")
    (error,) = load_settings({}, config_file=str(path)).errors
    assert "unknown setting 'proxi'" in error and "did you mean 'proxy'?" in error


def test_instance_principals_behind_an_http_proxy_need_the_metadata_service_in_no_proxy() -> None:
    env = {"OCI_AUTH": "instance_principal", "OCI_REGION": "us-chicago-1", "HTTP_PROXY": "http://proxy.corp:3128"}
    (provider,) = load_settings(env).providers
    assert any("169.254.169.254 to NO_PROXY" in d.message for d in check_provider(provider))
    (provider,) = load_settings({**env, "NO_PROXY": "169.254.169.254"}).providers
    assert not any("NO_PROXY" in d.message for d in check_provider(provider))


def test_the_gateways_own_certificate_is_checked_at_load(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    cert, key, other = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "other.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    trustme.CA().issue_cert("localhost").private_key_pem.write_to_path(str(other))
    tls, problems = read_server_tls({}, str(cert), str(key))
    assert problems == [] and tls is not None and tls.keyfile == str(key)
    _, problems = read_server_tls({"OCIGATE_SSL_CERTFILE": str(cert), "OCIGATE_SSL_KEYFILE": str(other)})
    assert "does not match" in problems[0] and problems[0].startswith("OCIGATE_SSL_CERTFILE=")
    _, problems = read_server_tls({}, str(cert), str(tmp_path / "nope.pem"))
    assert problems == [
        f"--ssl-keyfile: '{tmp_path / 'nope.pem'}' does not exist or is not a file; give the PEM file's path."
    ]
    assert load_settings({"OCIGATE_SSL_KEYFILE": str(key)}).errors
    served = load_settings({"OCIGATE_SSL_CERTFILE": str(cert), "OCIGATE_SSL_KEYFILE": str(key), "OCIGATE_PORT": "8443"})
    assert served.errors == () and gateway_root(None, served) == "https://127.0.0.1:8443"  # ocigate vscode, postman
