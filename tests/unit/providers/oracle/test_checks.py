from __future__ import annotations

import pytest

from ocigate.config.settings import ProviderConfig, Settings
from ocigate.providers.oracle.checks import check_provider, check_settings, secret_problem

CHICAGO = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/v1"


def _messages(provider: ProviderConfig, level: str = "error") -> str:
    return " | ".join(d.message for d in check_provider(provider) if d.level == level)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("", "empty"),
        ("${ORACLE_API_KEY}", "unexpanded ${ORACLE_API_KEY}"),
        ("ocid1.generativeaiapikey.oc1.us-chicago-1.aaaa", "is an OCID"),
        ("https://cloud.oracle.com/generative-ai/api-keys", "is a URL"),
        ("Bearer sk-abc", "starts with 'Bearer '"),
        ("sk-abc def", "whitespace"),
    ],
)
def test_secret_shape_problems_name_the_fix(secret: str, expected: str) -> None:
    problem = secret_problem(secret, "ORACLE_API_KEY")
    assert problem is not None and expected in problem


def test_plausible_secret_passes() -> None:
    assert secret_problem("sk-abc123", "ORACLE_API_KEY") is None
    assert check_provider(ProviderConfig("oracle", base_url=CHICAGO, api_key="sk-1", models=("m",))) == []


def test_region_mismatch_between_url_and_oracle_region() -> None:
    provider = ProviderConfig("oracle", base_url=CHICAGO, api_key="sk-1", models=("m",), region="us-ashburn-1")
    text = _messages(provider)
    assert "us-chicago-1" in text and "ORACLE_REGION says us-ashburn-1" in text


def test_openai_base_requires_a_project() -> None:
    url = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/openai/v1"
    assert "ORACLE_PROJECT" in _messages(ProviderConfig("oracle", base_url=url, api_key="sk-1", models=("m",)))
    ok = ProviderConfig("oracle", base_url=url, api_key="sk-1", models=("m",), project="ocid1.generativeaiproject.x")
    assert _messages(ok) == ""


def test_suffixed_provider_names_its_own_variables() -> None:
    text = _messages(ProviderConfig("oracle-eu", base_url="", api_key=""))
    assert "ORACLE_EU_API_KEY" in text and "ORACLE_EU_BASE_URL" in text


def test_unexpanded_base_url_and_missing_models_are_reported() -> None:
    provider = ProviderConfig("oracle", base_url="${ORACLE_BASE_URL}", api_key="sk-1")
    assert "${ORACLE_BASE_URL}" in _messages(provider)
    warnings = _messages(ProviderConfig("oracle", base_url=CHICAGO, api_key="sk-1"), "warning")
    assert "ORACLE_MODELS" in warnings


def test_non_loopback_without_master_key_is_an_error() -> None:
    assert any("OCIGATE_MASTER_KEY" in d.message for d in check_settings(Settings(host="0.0.0.0")))
    assert not check_settings(Settings(host="0.0.0.0", master_key="k"))
    assert not check_settings(Settings(host="127.0.0.1"))
