"""Traces and log lines: whether the gateway traces (and where to), and the log lines' format.

Tracing is off unless asked for, so that a gateway without it imports nothing of OpenTelemetry:

- ``OCIGATE_TRACING=otlp`` exports spans over OTLP/HTTP (protobuf), configured by the standard ``OTEL_*``
  variables, which OpenTelemetry's SDK reads itself (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``,
  ``OTEL_TRACES_SAMPLER``...); ``console`` writes them to stderr instead (trying it out); ``off`` (the default).
- Without ``OCIGATE_TRACING``, ``OTEL_TRACES_EXPORTER=otlp`` (or ``console``) turns it on the same way, so a
  deployment configured only with ``OTEL_*`` variables is traced; ``none`` leaves it off.
- ``OTEL_SDK_DISABLED=true`` turns it off whatever else says, as the SDK's own switch does.

Every other value is an error that stops the gateway with the fix, as is ``OTEL_EXPORTER_OTLP_PROTOCOL`` (or
``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``) naming a protocol other than ``http/protobuf``, the one the ``otel`` extra
installs. Whether that extra is installed is checked when the app is built (``observe/tracing.py``).

``OCIGATE_LOG_FORMAT``: ``text`` (the default) or ``json``, one JSON object a line.
"""

from __future__ import annotations

from collections.abc import Mapping

TRACING_MODES = ("off", "otlp", "console")
LOG_FORMATS = ("text", "json")


def read_tracing(env: Mapping[str, str], problems: list[str]) -> str:
    """The tracing mode, one of :data:`TRACING_MODES`; a problem appended for a value the gateway cannot use."""
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return "off"
    own = (env.get("OCIGATE_TRACING") or "").strip().lower()
    if own:
        if own not in TRACING_MODES:
            problems.append(f"OCIGATE_TRACING={own!r} is not a tracing mode: use off, otlp or console.")
            return "off"
        mode = own
    else:
        exporter = (env.get("OTEL_TRACES_EXPORTER") or "none").strip().lower()
        if exporter not in ("none", "otlp", "console"):
            problems.append(
                f"OTEL_TRACES_EXPORTER={exporter!r}: ocigate exports traces with otlp (OTLP over HTTP) or console; "
                "set one of them, or none."
            )
            return "off"
        mode = "off" if exporter == "none" else exporter
    if mode == "otlp":
        for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            protocol = (env.get(name) or "").strip()
            if protocol and protocol != "http/protobuf":
                problems.append(
                    f"{name}={protocol!r}: ocigate exports OTLP over HTTP with protobuf; set it to http/protobuf "
                    "(a collector's port 4318) or unset it."
                )
                return "off"
    return mode


def read_log_format(env: Mapping[str, str], problems: list[str]) -> str:
    value = (env.get("OCIGATE_LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        problems.append(f"OCIGATE_LOG_FORMAT={value!r} is not a log format: use text or json.")
        return "text"
    return value
