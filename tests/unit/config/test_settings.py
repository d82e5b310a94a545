from __future__ import annotations

from pathlib import Path

from ocigate.config.settings import expand, load_settings, split_models

CHICAGO = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/v1"


def test_models_are_trimmed_deduplicated_and_ordered() -> None:
    assert split_models(" a , b,,a , c ") == ("a", "b", "c")
    assert split_models(["x", " y ", "x"]) == ("x", "y")


def test_env_only_default_provider() -> None:
    settings = load_settings({"ORACLE_BASE_URL": CHICAGO + "/", "ORACLE_API_KEY": "sk-1", "ORACLE_MODELS": "m1, m2"})
    (provider,) = settings.providers
    assert (provider.name, provider.type, provider.base_url) == ("oracle", "oracle", CHICAGO)
    assert provider.models == ("m1", "m2") and provider.region == "us-chicago-1" and provider.source == "env"


def test_region_builds_the_base_url() -> None:
    (provider,) = load_settings({"ORACLE_REGION": "eu-frankfurt-2", "ORACLE_API_KEY": "sk-1"}).providers
    assert provider.base_url == "https://inference.generativeai.eu-frankfurt-2.oci.oraclecloud.eu/20231130/actions/v1"


def test_suffixed_variables_add_named_providers() -> None:
    env = {
        "ORACLE_API_KEY": "sk-default",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_EU_WEST_API_KEY": "sk-eu",
        "ORACLE_EU_WEST_REGION": "eu-frankfurt-1",
        "ORACLE_EU_WEST_MODELS": "xai.grok-3",
    }
    providers = {p.name: p for p in load_settings(env).providers}
    assert set(providers) == {"oracle", "oracle-eu-west"}
    assert providers["oracle-eu-west"].api_key == "sk-eu"
    assert providers["oracle-eu-west"].region == "eu-frankfurt-1"
    assert providers["oracle"].api_key == "sk-default"


def test_expansion_with_defaults_and_unset_variables() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert expand("${A}-${B:-two}-${EMPTY:-d}", env) == "1-two-d"
    assert expand("x${MISSING}y", env) == "x${MISSING}y"  # left visible for the checks to report
    assert expand("${EMPTY}", env) == ""


def test_yaml_block_env_wins_and_oracle_models_replaces_yaml_models(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        """
providers:
  oracle:
    type: oracle
    base_url: "${ORACLE_BASE_URL}"
    api_key: "${ORACLE_API_KEY}"
    models:
      - openai.gpt-oss-120b
  second:
    type: oracle
    base_url: "${SECOND_URL:-https://inference.generativeai.us-ashburn-1.oci.oraclecloud.com/openai/v1}"
    api_key: "${SECOND_KEY}"
    project: ocid1.generativeaiproject.oc1.iad.x
    models: [xai.grok-4]
""",
        encoding="utf-8",
    )
    env = {"ORACLE_BASE_URL": CHICAGO, "ORACLE_API_KEY": "sk-yaml", "ORACLE_MODELS": "xai.grok-3"}
    providers = {p.name: p for p in load_settings(env, config_file=str(config)).providers}
    assert providers["oracle"].models == ("xai.grok-3",)
    assert providers["oracle"].api_key == "sk-yaml"
    assert providers["oracle"].source == f"yaml:{config}+env"
    second = providers["second"]
    assert second.base_url.endswith("/openai/v1") and second.region == "us-ashburn-1"
    assert second.api_key == "${SECOND_KEY}" and second.models == ("xai.grok-4",)


def test_env_overrides_yaml_field_by_field(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("providers:\n  oracle:\n    api_key: sk-from-yaml\n    region: us-ashburn-1\n", encoding="utf-8")
    (provider,) = load_settings({"ORACLE_API_KEY": "sk-from-env"}, config_file=str(config)).providers
    assert provider.api_key == "sk-from-env" and provider.region == "us-ashburn-1"


def test_bad_yaml_and_bad_numbers_become_diagnostics(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("providers: [unclosed", encoding="utf-8")
    settings = load_settings({"OCIGATE_PORT": "eighty"}, config_file=str(config))
    messages = " ".join(d.message for d in settings.diagnostics)
    assert "not valid YAML" in messages and "OCIGATE_PORT" in messages
    assert settings.port == 8080
    missing = load_settings({}, config_file=str(tmp_path / "nope.yaml"))
    assert "nope.yaml: the config file (--config or OCIGATE_CONFIG) does not exist" in missing.errors[0]


def test_no_provider_means_emulator() -> None:
    assert load_settings({}).uses_emulator
    assert not load_settings({"ORACLE_API_KEY": "sk-1", "ORACLE_REGION": "us-chicago-1"}).uses_emulator
