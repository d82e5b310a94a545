"""Configuration of native and IAM providers, the checks that run at start-up, and the promise that the API-key
path never imports Oracle's ``oci`` SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ocigate.config.oracle import DedicatedEndpoint
from ocigate.config.settings import load_settings
from ocigate.providers.oracle.checks import check_provider
from ocigate.providers.oracle.hints import UpstreamContext, iam_policy, oracle_error

from .conftest import COMPARTMENT, ENDPOINT, REGION


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


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_api_key_path_never_imports_oci() -> None:
    code = """
import asyncio, sys, tempfile
from ocigate.app.runtime import create_app
from ocigate.config.settings import load_settings
env = {"ORACLE_API_KEY": "sk-x", "ORACLE_BASE_URL": "http://127.0.0.1:9/20231130/actions/v1",
       "ORACLE_MODELS": "xai.grok-3", "OCIGATE_DATA_DIR": tempfile.mkdtemp(), "OCIGATE_NO_ACCESS_LOG": "1"}
app = create_app(load_settings(env))
async def main():
    await app.runtime.start()
    await app.runtime.discovery
    await app.runtime.stop()
asyncio.run(main())
print("oci" in sys.modules, any(m.startswith("oci.") for m in sys.modules))
"""
    assert _python(code).split() == ["False", "False"]
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ocigate", "--version"], capture_output=True, text=True, timeout=60
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in timing.stderr.splitlines() if "|" in line}
    assert "oci" not in imported and timing.stdout.startswith("ocigate ")


def test_missing_sdk_is_a_start_up_error_naming_the_install() -> None:
    code = """
import sys
sys.modules["oci"] = None  # as if the oci extra were not installed
from ocigate.providers.oracle.checks import check_provider
from ocigate.config.settings import ProviderConfig
config = ProviderConfig("oci", type="oci", base_url="https://x", auth="user_principal")
print([d.message for d in check_provider(config) if d.level == "error"])
"""
    assert "pip install 'ocigate[oci]'" in _python(code)
