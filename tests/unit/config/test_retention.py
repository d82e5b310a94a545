"""``retention:`` and ``OCIGATE_RETENTION_*``: defaults, the file, the environment over the file, ``forever``, and
values refused with the default kept."""

from __future__ import annotations

from pathlib import Path

from ocigate.config.retention import RetentionSettings, read_retention
from ocigate.config.settings import load_settings

DAY = 86400.0


def test_the_defaults_keep_usage_and_audit_400_days_and_responses_30() -> None:
    settings, problems = read_retention({}, {})
    assert settings == RetentionSettings(400.0, 400.0, 30.0, 60.0) and problems == []
    assert settings.prunes
    assert settings.cutoffs(1000 * DAY) == {"usage": 600 * DAY, "audit": 600 * DAY, "responses": 970 * DAY}


def test_the_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text(
        "retention:\n  usage_days: 90\n  audit_days: forever\n  responses_days: 7.5\n  interval_minutes: 5\n"
    )
    settings = load_settings({"OCIGATE_RETENTION_USAGE_DAYS": "120"}, config_file=str(config))
    assert settings.retention == RetentionSettings(120.0, None, 7.5, 5.0)
    assert settings.retention.cutoffs(1000 * DAY)["audit"] is None
    assert not [d for d in settings.diagnostics if "retention" in d.message.lower()]


def test_forever_everywhere_prunes_nothing() -> None:
    settings, problems = read_retention(
        {"retention": {"usage_days": None}},
        {
            "OCIGATE_RETENTION_AUDIT_DAYS": "forever",
            "OCIGATE_RETENTION_RESPONSES_DAYS": "Forever",
        },
    )
    assert problems == [] and not settings.prunes


def test_bad_values_are_reported_and_the_default_kept() -> None:
    settings, problems = read_retention(
        {"retention": {"usage_days": 0, "audit_days": "a year", "interval_minutes": -1}},
        {"OCIGATE_RETENTION_RESPONSES_DAYS": "nan"},
    )
    assert settings == RetentionSettings()
    assert problems == [
        "retention.usage_days=0 is not a positive number of days, or forever; using 400.0.",
        "retention.audit_days='a year' is not a positive number of days, or forever; using 400.0.",
        "OCIGATE_RETENTION_RESPONSES_DAYS='nan' is not a positive number of days, or forever; using 30.0.",
        "retention.interval_minutes=-1 is not a number of minutes (0: off); using 60.0.",
    ]
    assert read_retention({"retention": [1]}, {})[1] == [
        "retention: must be a mapping with usage_days, audit_days, responses_days, interval_minutes."
    ]
