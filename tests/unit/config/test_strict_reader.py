"""The config reader is strict: a given file must exist and parse, every key at every level must be known, a region
must exist, and every problem is an error that names its file, line and column, and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocigate.config.settings import Settings, load_settings

ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaa"


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> tuple[Settings, str]:
    path = tmp_path / "ocigate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(env or {}, config_file=str(path)), str(path)


def test_a_missing_config_file_is_an_error_and_never_the_emulator(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.yaml")
    settings = load_settings({}, config_file=missing)
    (error,) = settings.errors
    assert error.startswith(f"{missing}: the config file") and "does not exist" in error
    assert not settings.uses_emulator
    by_env = load_settings({"OCIGATE_CONFIG": missing})
    assert by_env.errors == settings.errors and not by_env.uses_emulator


def test_yaml_errors_name_the_file_line_and_column(tmp_path: Path) -> None:
    settings, path = _load(tmp_path, "providers:\n  oracle:\n    region: us-chicago-1\n   api_key: sk-x\n")
    (error,) = settings.errors
    assert error.startswith(f"{path}:4:4: not valid YAML: ")
    assert "<unicode string>" not in error and "indentation" in error
    flow, path = _load(tmp_path, "providers: [unclosed\n")
    assert flow.errors[0].startswith(f"{path}:2:1: not valid YAML: expected ',' or ']'")
    assert "(while parsing a flow sequence at line 1)" in flow.errors[0]


def test_a_document_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    settings, path = _load(tmp_path, "- providers\n")
    assert settings.errors == (
        f"{path}:1:1: the config file must be a mapping of settings (providers:, routing:, models:, request_rules:, "
        "prices:), not a list.",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "provider:\n  oracle: {region: us-chicago-1}\n",
            "1:1: unknown setting 'provider' at the top level; did you mean 'providers'?",
        ),
        (
            "providers:\n  oracle:\n    region: us-chicago-1\n    api_kye: sk-x\n",
            "4:5: unknown setting 'api_kye' in providers.oracle; did you mean 'api_key'?",
        ),
        (
            "providers:\n  o:\n    region: us-chicago-1\n    timeouts: {conect: 3}\n",
            "4:16: unknown setting 'conect' in providers.o.timeouts; did you mean 'connect'?",
        ),
        (
            f"providers:\n  o:\n    type: oci\n    region: us-chicago-1\n    dedicated:\n"
            f"      d: {{endpoint: {ENDPOINT}, modle: m}}\n",
            "unknown setting 'modle' in providers.o.dedicated.d; did you mean 'model'?",
        ),
        (
            "routing:\n  retries: {max_atempts: 2}\n",
            "2:13: unknown setting 'max_atempts' in routing.retries; did you mean 'max_attempts'?",
        ),
        (
            "routing:\n  breaker:\n    cooldwn: 3\n",
            "3:5: unknown setting 'cooldwn' in routing.breaker; did you mean 'cooldown'?",
        ),
        ("routing:\n  timeout: {idle: 3}\n", "2:3: unknown setting 'timeout' in routing; did you mean 'timeouts'?"),
        ("routing:\n  timeouts: {idel: 3}\n", "2:14: unknown setting 'idel' in routing.timeouts; did you mean 'idle'?"),
        (
            "models:\n  gpt:\n    stratgy: round_robin\n    deployments: [{provider: p, model: m}]\n",
            "3:5: unknown setting 'stratgy' in models.gpt; did you mean 'strategy'?",
        ),
        (
            "models:\n  gpt:\n    deployments:\n      - {provider: p, model: m, wieght: 2}\n",
            "4:33: unknown setting 'wieght' in models.gpt.deployments[0]; did you mean 'weight'?",
        ),
        (
            "request_rules:\n  meta: {dorp: [seed]}\n",
            "2:10: unknown setting 'dorp' in request_rules.meta; did you mean 'drop'?",
        ),
        ("prices:\n  m: {inptu: 1}\n", "2:7: unknown setting 'inptu' in prices.m; did you mean 'input'?"),
        (
            "retention:\n  usage_dayz: 3\n",
            "2:3: unknown setting 'usage_dayz' in retention; did you mean 'usage_days'?",
        ),
    ],
)
def test_unknown_keys_at_every_level_are_errors_with_the_nearest_name(tmp_path: Path, text: str, expected: str) -> None:
    settings, path = _load(tmp_path, text, {"ORACLE_API_KEY": "sk-x", "ORACLE_REGION": "us-chicago-1"})
    assert any(error.startswith(f"{path}:") and error.endswith(expected) for error in settings.errors), settings.errors


def test_a_misspelt_api_key_is_reported_as_such(tmp_path: Path) -> None:
    settings, path = _load(tmp_path, "providers:\n  oracle:\n    region: us-chicago-1\n    api_kye: sk-abc\n")
    assert settings.errors == (f"{path}:4:5: unknown setting 'api_kye' in providers.oracle; did you mean 'api_key'?",)
    assert "sk-abc" not in " ".join(settings.errors)


def test_a_key_written_twice_is_an_error(tmp_path: Path) -> None:
    settings, path = _load(tmp_path, "providers:\n  a: {region: us-chicago-1}\n  a: {region: us-ashburn-1}\n")
    assert f"{path}:3:3: providers.a is written twice in the same block" in settings.errors[0]


def test_bad_values_carry_the_place_of_their_setting(tmp_path: Path) -> None:
    text = (
        "providers:\n  o: {region: us-chicago-1}\nrouting:\n  budget: soon\n"
        "models:\n  openai.gpt-oss:\n    strategy: fastest\n    deployments: [{provider: o, model: m}]\n"
    )
    settings, path = _load(tmp_path, text)
    assert f"{path}:4:3: routing.budget='soon' is not valid (the default is 600.0)." in settings.errors
    assert any(e.startswith(f"{path}:7:5: models.openai.gpt-oss.strategy 'fastest'") for e in settings.errors)


@pytest.mark.parametrize(
    ("env", "text", "where"),
    [
        ({"ORACLE_REGION": "us-chicgo-1", "ORACLE_API_KEY": "sk-x"}, None, "ORACLE_REGION"),
        ({"ORACLE_IAD_REGION": "us-chicgo-1", "ORACLE_IAD_API_KEY": "sk-x"}, None, "ORACLE_IAD_REGION"),
        (
            {"ORACLE_BASE_URL": "https://inference.generativeai.us-chicgo-1.oci.oraclecloud.com/20231130/actions/v1"},
            None,
            "ORACLE_BASE_URL",
        ),
        ({}, "providers:\n  o:\n    type: oci\n    region: us-chicgo-1\n", "{path}:4:5: providers.o.region"),
    ],
)
def test_a_misspelt_region_is_an_error_with_the_nearest_regions(
    tmp_path: Path, env: dict[str, str], text: str | None, where: str
) -> None:
    if text is None:
        settings, path = load_settings(env), ""
    else:
        settings, path = _load(tmp_path, text, env)
    assert settings.errors == (
        f"{where.format(path=path)}: 'us-chicgo-1' is not a region where Oracle offers Generative AI; did you mean "
        "us-chicago-1 or us-phoenix-1?",
    )


def test_a_known_region_is_no_error() -> None:
    assert load_settings({"ORACLE_REGION": "eu-frankfurt-2", "ORACLE_API_KEY": "sk-x"}).diagnostics == ()


def test_a_config_file_without_providers_never_means_the_emulator(tmp_path: Path) -> None:
    settings, path = _load(tmp_path, "routing:\n  budget: 60\n")
    (error,) = settings.errors
    assert error.startswith(f"{path}: the config file configures no provider") and "--emulator" in error
    assert not settings.uses_emulator
    asked = load_settings({}, config_file=path, force_emulator=True)
    assert asked.errors == () and asked.uses_emulator
    assert load_settings({}).uses_emulator  # nothing configured at all: the emulator, as before


def test_near_misses_of_variables_are_warned_about_and_other_tools_variables_are_not() -> None:
    env = {
        "ORACLE_APIKEY": "sk-x",
        "ORACLE_IAD_REGOIN": "us-ashburn-1",
        "OCI_COMPARTMENT": "ocid1.compartment.oc1..x",
        "ORACLE_HOME": "/u01/app/oracle",
        "ORACLE_SID": "ORCL",
        "ORACLE_BASE": "/u01/app",
        "OCI_CLI_PROFILE": "DEFAULT",
    }
    settings = load_settings(env)
    assert [(d.level, d.message) for d in settings.diagnostics] == [
        ("warning", "OCI_COMPARTMENT is not a variable ocigate reads; did you mean OCI_COMPARTMENT_ID?"),
        ("warning", "ORACLE_APIKEY is not a variable ocigate reads; did you mean ORACLE_API_KEY?"),
        ("warning", "ORACLE_IAD_REGOIN is not a variable ocigate reads; did you mean ORACLE_IAD_REGION?"),
    ]


@pytest.mark.parametrize(("env", "port"), [({"OCIGATE_PORT": "eighty"}, None), ({}, 70000)])
def test_a_port_out_of_range_is_an_error(env: dict[str, str], port: int | None) -> None:
    settings = load_settings(env, port=port)
    (error,) = settings.errors
    assert "is not a port: give a number from 1 to 65535" in error and settings.port == 8080
