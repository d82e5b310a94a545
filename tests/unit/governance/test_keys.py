"""Virtual keys: the pure helpers. tests/e2e/governance/test_key_store.py runs the store and the cache in front
of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.governance.keys import (
    Budget,
    KeyHasher,
    KeyRecord,
    is_virtual_key,
    model_allowed,
    model_refused,
    period_label,
    period_reset,
    period_start,
    visible_prefix,
)
from ocigate.store.keys import parse_key_fields


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_hashes_are_peppered_and_compared_in_constant_time() -> None:
    plain, peppered = KeyHasher(), KeyHasher("pepper")
    secret = "ogk-" + "a" * 43
    assert plain.hash(secret) != peppered.hash(secret) != KeyHasher("other").hash(secret)
    assert len(plain.hash(secret)) == 64 and peppered.peppered and not plain.peppered
    assert peppered.matches(secret, peppered.hash(secret))
    assert not peppered.matches(secret + "x", peppered.hash(secret))
    assert visible_prefix(secret) == "aaaaaaaa" and is_virtual_key(secret) and not is_virtual_key("sk-x")


def test_allowed_models_are_names_or_patterns() -> None:
    everything = KeyRecord("key_1", "abcdefgh", "ci")
    some = KeyRecord("key_2", "abcdefgh", "ci", allowed_models=("xai.*", "meta.llama-3.3-70b-instruct"))
    assert model_allowed(everything, "anything")
    assert model_allowed(some, "xai.grok-4") and model_allowed(some, "meta.llama-3.3-70b-instruct")
    assert not model_allowed(some, "meta.llama-4-scout-17b-16e-instruct")
    error = model_refused(some, "cohere.command-a-03-2025")
    assert error.status == 403 and error.code == "model_not_allowed" and "xai.*" in error.message


def test_budget_periods_follow_the_utc_calendar() -> None:
    now = _at("2025-01-29T15:30:00")  # a Wednesday
    assert period_start("day", now) == _at("2025-01-29T00:00:00")
    assert period_reset("day", now) == _at("2025-01-30T00:00:00")
    assert period_start("week", now) == _at("2025-01-27T00:00:00")  # ISO weeks start on Monday
    assert period_reset("week", now) == _at("2025-02-03T00:00:00")
    assert period_start("month", now) == _at("2025-01-01T00:00:00")
    assert period_reset("month", now) == _at("2025-02-01T00:00:00")
    assert period_reset("month", _at("2024-02-29T23:59:59")) == _at("2024-03-01T00:00:00")
    assert period_reset("month", _at("2025-12-31T12:00:00")) == _at("2026-01-01T00:00:00")
    assert period_start("total", now) == 0.0 and period_reset("total", now) is None
    assert period_label("day", now) == "d2025-01-29"
    assert period_label("week", _at("2025-01-01T00:00:00")) == "w2025-01"
    assert period_label("week", _at("2024-12-30T00:00:00")) == "w2025-01"  # ISO week of the new year
    assert period_label("month", now) == "m2025-01" and period_label("total", now) == "total"


def test_admin_fields_are_checked() -> None:
    fields = parse_key_fields(
        {
            "name": " ci ",
            "team": "platform",
            "allowed_models": ["xai.*"],
            "rpm": 60,
            "budget": {"amount": 10, "unit": "usd", "period": "day"},
            "expires_at": "2030-01-01T00:00:00Z",
        }
    )
    assert fields["name"] == "ci" and fields["budget"] == Budget(10.0, "usd", "day")
    assert fields["expires_at"] == _at("2030-01-01T00:00:00") and fields["allowed_models"] == ("xai.*",)
    assert parse_key_fields({"rpm": None}, partial=True) == {"rpm": None}
    for bad in (
        {},
        {"name": "x", "rpm": 0},
        {"name": "x", "rpm": True},
        {"name": "x", "budget": {"amount": -1}},
        {"name": "x", "budget": {"amount": 1, "period": "year"}},
        {"name": "x", "expires_at": "soon"},
        {"name": "x", "allowed_models": "xai.*"},
        {"name": "x", "colour": "red"},
    ):
        with pytest.raises(InvalidRequest):
            parse_key_fields(bad)


def test_records_render_for_the_admin_api() -> None:
    record = KeyRecord("key_1", "abcdefgh", "ci", budget=Budget(5, "tokens", "day"), created_at=1.0)
    view = record.to_json(now=2.0)
    assert view["display"] == "ogk-abcdefgh…" and view["status"] == "active"
    assert view["budget"] == {"amount": 5, "unit": "tokens", "period": "day"}
    assert "hash" not in str(view) and record.budget is not None and record.budget.describe() == "5 tokens daily"
    assert Budget(12.5).describe() == "$12.50 monthly"
