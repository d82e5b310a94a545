"""The HTTP limits read from the environment: defaults, overrides, and what a bad value becomes."""

from __future__ import annotations

import pytest

from ocigate.config.http import HttpLimits, read_http_limits
from ocigate.config.settings import load_settings


def test_the_defaults_without_environment() -> None:
    limits, problems = read_http_limits({})
    assert limits == HttpLimits(65536, 10.0, 30.0, 5, 2048) and problems == []


def test_every_limit_is_set_by_its_variable() -> None:
    env = {
        "OCIGATE_MAX_HEADER_BYTES": "16384",
        "OCIGATE_HEADER_TIMEOUT": "2.5",
        "OCIGATE_BODY_TIMEOUT": " 7 ",
        "OCIGATE_KEEPALIVE_TIMEOUT": "1",
        "OCIGATE_MAX_CONNECTIONS": "100",
    }
    assert read_http_limits(env) == (HttpLimits(16384, 2.5, 7.0, 1, 100), [])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OCIGATE_MAX_HEADER_BYTES", "512"),
        ("OCIGATE_MAX_HEADER_BYTES", "64k"),
        ("OCIGATE_HEADER_TIMEOUT", "0"),
        ("OCIGATE_HEADER_TIMEOUT", "nan"),
        ("OCIGATE_BODY_TIMEOUT", "inf"),
        ("OCIGATE_BODY_TIMEOUT", "-1"),
        ("OCIGATE_KEEPALIVE_TIMEOUT", "0.5"),
        ("OCIGATE_MAX_CONNECTIONS", "0"),
    ],
)
def test_a_bad_value_keeps_the_default_and_is_reported(name: str, value: str) -> None:
    limits, problems = read_http_limits({name: value})
    assert limits == HttpLimits()
    assert len(problems) == 1 and problems[0].startswith(f"{name}={value!r}")


def test_settings_carry_the_limits_and_their_problems() -> None:
    settings = load_settings({"OCIGATE_MAX_CONNECTIONS": "64", "OCIGATE_HEADER_TIMEOUT": "soon"})
    assert settings.http == HttpLimits(max_connections=64)
    assert any("OCIGATE_HEADER_TIMEOUT='soon'" in d.message and d.level == "error" for d in settings.diagnostics)
