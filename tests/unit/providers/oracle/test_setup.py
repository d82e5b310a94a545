"""Configuration of native and IAM providers and the checks that run at start-up. tests/e2e/oracle/test_sdk_import.py
checks, in a subprocess, that the API-key path never imports Oracle's ``oci`` SDK."""

from __future__ import annotations

from pathlib import Path

from ocigate.config.oracle import DedicatedEndpoint
from ocigate.config.settings import load_settings
from ocigate.providers.oracle.checks import check_provider
from ocigate.providers.oracle.hints import UpstreamContext, iam_policy, oracle_error
from tests.support.iam import COMPARTMENT, ENDPOINT, REGION


def test_env_only_oci_provider(oci_dir: Path) -> None:
    env = {
        "OCI_COMPARTMENT_ID": COMPARTMENT,
        "OCI_MODELS": "cohere.command-r-08-2024, meta.llama-3.3-70b-instruct",
        "OCI_CONFIG_FILE": str(oci_dir / "config"),
        "OCI_CLI_PROFILE": "ENCRYPTED",
    }
    (provider,) = load_settings(env).providers
    assert (provider.name, provider.type, provider.auth, provider.profile) == (
        "oci",
        "oci",
        "user_principal",
        "ENCRYPTED",
    )
    assert provider.region == REGION  # from the profile
    assert provider.base_url == f"https://inference.generativeai.{REGION}.oci.oraclecloud.com"
    assert provider.models == ("cohere.command-r-08-2024", "meta.llama-3.3-70b-instruct") and provider.discovery
    assert check_provider(provider) == []
    # OCI_REGION alone, as many OCI tools set it, creates no provider.
    assert load_settings({"OCI_REGION": "us-ashburn-1"}).providers == ()


def test_yaml_oci_provider_with_dedicated_endpoints(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""
providers:
  chicago:
    type: oci
    region: {REGION}
    auth: instance_principal
    compartment_id: {COMPARTMENT}
    discovery: false
    dedicated:
      mine: {ENDPOINT}
      theirs: {{endpoint: {ENDPOINT}, model: cohere.command-r-08-2024}}
      broken: ocid1.compartment.oc1..nope
""",
        encoding="utf-8",
    )
    settings = load_settings({}, config_file=str(config))
    (provider,) = settings.providers
    assert provider.dedicated == (
        DedicatedEndpoint("mine", ENDPOINT),
        DedicatedEndpoint("theirs", ENDPOINT, "cohere.command-r-08-2024"),
    )
    assert provider.served_models == ("mine", "theirs") and not provider.discovery
    assert "dedicated.broken" in " ".join(d.message for d in settings.diagnostics)


def test_iam_checks() -> None:
    def messages(env: dict[str, str], config_file: str | None = None) -> str:
        (provider,) = load_settings(env, config_file=config_file).providers
        return " ".join(d.message for d in check_provider(provider))

    base = {"OCI_AUTH": "resource_principal", "OCI_REGION": REGION}
    assert "OCI_RESOURCE_PRINCIPAL_VERSION is not set" in messages(base)
    assert "not a compartment OCID" in messages({**base, "OCI_COMPARTMENT_ID": "my-compartment"})
    assert "no region" in messages({"OCI_AUTH": "instance_principal", "OCI_COMPARTMENT_ID": COMPARTMENT})
    compat = {"ORACLE_REGION": REGION, "ORACLE_MODELS": "xai.grok-4"}
    (signed,) = load_settings(compat).providers
    assert signed.auth == "api_key"
    assert "compartment_id" not in " ".join(d.message for d in check_provider(signed))


def test_compat_iam_needs_a_compartment(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"providers:\n  oracle:\n    region: {REGION}\n    auth: user_principal\n", encoding="utf-8")
    (provider,) = load_settings({}, config_file=str(config)).providers
    found = " ".join(d.message for d in check_provider(provider) if d.level == "error")
    assert "carry a compartment: set compartment_id" in found and "API key" not in found


def test_hints_for_iam() -> None:
    assert iam_policy("user_principal", COMPARTMENT) == (
        f"allow group <group> to use generative-ai-family in compartment id {COMPARTMENT}"
    )
    assert iam_policy("instance_principal", None) == (
        "allow dynamic-group <dynamic-group> to use generative-ai-family in tenancy"
    )
    ctx = UpstreamContext("oci", "m", REGION, "https://x", auth="instance_principal", compartment=COMPARTMENT)
    err = oracle_error(404, b'{"code":"NotAuthorizedOrNotFound","message":"no"}', {}, ctx, "rid")
    assert "dynamic group" in err.message and "dynamic-group <dynamic-group>" in err.message
    expired = oracle_error(401, b'{"code":"NotAuthenticated"}', {}, ctx, None)
    assert "token may have expired" in expired.message and expired.status == 401
