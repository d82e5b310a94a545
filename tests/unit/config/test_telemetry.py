"""Which tracing a gateway runs (``OCIGATE_TRACING``, ``OTEL_*``) and its log format: off unless asked, and every
value it cannot use an error that names the fix."""

from __future__ import annotations

import pytest

from ocigate.config.settings import load_settings
from ocigate.config.telemetry import read_log_format, read_tracing


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "off"),
        ({"OCIGATE_TRACING": "otlp"}, "otlp"),
        ({"OCIGATE_TRACING": " OTLP "}, "otlp"),
        ({"OCIGATE_TRACING": "console"}, "console"),
        ({"OCIGATE_TRACING": "off", "OTEL_TRACES_EXPORTER": "otlp"}, "off"),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "none"}, "off"),
        ({"OCIGATE_TRACING": "otlp", "OTEL_SDK_DISABLED": "true"}, "off"),
        ({"OCIGATE_TRACING": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "otlp"),
    ],
)
def test_tracing_is_off_unless_asked_for(env: dict[str, str], mode: str) -> None:
    problems: list[str] = []
    assert read_tracing(env, problems) == mode
    assert problems == []


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"OCIGATE_TRACING": "jaeger"}, "off, otlp or console"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "otlp (OTLP over HTTP) or console"),
        ({"OCIGATE_TRACING": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "set it to http/protobuf"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "http/protobuf"),
    ],
)
def test_a_tracing_setting_it_cannot_use_stops_the_gateway(env: dict[str, str], names: str) -> None:
    settings = load_settings(env)
    assert len(settings.errors) == 1 and names in settings.errors[0]
    assert settings.tracing == "off"


def test_log_format() -> None:
    problems: list[str] = []
    assert read_log_format({}, problems) == "text"
    assert read_log_format({"OCIGATE_LOG_FORMAT": "JSON"}, problems) == "json"
    assert problems == []
    assert read_log_format({"OCIGATE_LOG_FORMAT": "yaml"}, problems) == "text"
    assert problems == ["OCIGATE_LOG_FORMAT='yaml' is not a log format: use text or json."]
    settings = load_settings({"OCIGATE_LOG_FORMAT": "json", "OCIGATE_TRACING": "otlp"})
    assert (settings.log_format, settings.tracing, settings.errors) == ("json", "otlp", ())
