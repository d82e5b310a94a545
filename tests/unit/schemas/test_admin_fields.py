"""The admin API's inputs: key fields and usage query parameters, refused with a 400 naming them."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.admin import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    check_key_fields,
    check_query,
    plausible_key_id,
    usage_query,
)

GROUPS = ("key", "team", "user", "model", "provider", "day")
NOW = 1_800_000_000.0


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def test_a_full_key_passes() -> None:
    check_key_fields(
        {
            "name": "team-a",
            "team": "platform",
            "user": None,
            "allowed_models": ["xai.*", "openai.gpt-oss-120b"],
            "rpm": 60,
            "tpm": 2**31 - 1,
            "max_concurrent": None,
            "budget": {"amount": 12.5, "unit": "usd", "period": "month"},
            "expires_at": "2030-01-31T00:00:00Z",
            "metadata": nested(MAX_METADATA_DEPTH),
        }
    )
    check_key_fields({"team": "", "expires_at": 1_900_000_000}, partial=True)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": ["a"]}, "name"),
        ({"team": 5}, "team"),
        ({"user": "u\n"}, "user"),
        ({"allowed_models": "xai.*"}, "allowed_models"),
        ({"allowed_models": ["m"] * 501}, "allowed_models"),
        ({"allowed_models": ["ok", ""]}, "allowed_models[1]"),
        ({"allowed_models": [["x"]]}, "allowed_models[0]"),
        ({"rpm": 0}, "rpm"),
        ({"rpm": 2**31}, "rpm"),
        ({"tpm": 9_223_372_036_854_775_808}, "tpm"),
        ({"max_concurrent": True}, "max_concurrent"),
        ({"max_concurrent": 1.5}, "max_concurrent"),
        ({"budget": 5}, "budget"),
        ({"budget": {"amount": 0}}, "budget.amount"),
        ({"budget": {"amount": 1e300}}, "budget.amount"),
        ({"budget": {"amount": "5"}}, "budget.amount"),
        ({"budget": {"amount": 5, "unit": ["usd"]}}, "budget.unit"),
        ({"budget": {"amount": 5, "period": "year"}}, "budget.period"),
        ({"budget": {"amount": 5, "currency": "eur"}}, "budget"),
        ({"expires_at": -1}, "expires_at"),
        ({"expires_at": 1e20}, "expires_at"),
        ({"expires_at": [1]}, "expires_at"),
        ({"expires_at": "2030-01-31" + "Z" * 100}, "expires_at"),
        ({"metadata": "m"}, "metadata"),
        ({"metadata": None}, "metadata"),
        ({"metadata": nested(MAX_METADATA_DEPTH + 1)}, "metadata"),
        ({"metadata": {"blob": "x" * MAX_METADATA_BYTES}}, "metadata"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_wrong_key_fields_are_named(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        check_key_fields({"name": "k", **fields})
    assert raised.value.param == param, raised.value.message


def test_a_partial_update_needs_no_name_but_checks_one_given() -> None:
    check_key_fields({"rpm": 5}, partial=True)
    with pytest.raises(InvalidRequest):
        check_key_fields({"rpm": 5})
    with pytest.raises(InvalidRequest):
        check_key_fields({"name": ""}, partial=True)


def test_usage_query_defaults_and_groups() -> None:
    query = usage_query({}, GROUPS, NOW)
    assert query.by == ("key",) and query.since == NOW - 30 * 86400 and query.until == NOW + 1
    query = usage_query({"by": ["key,model", "day"], "since": ["0"], "until": ["1e9"], "team": ["t"]}, GROUPS, NOW)
    assert query.by == ("key", "model", "day") and (query.since, query.until) == (0.0, 1e9) and query.team == "t"
    assert usage_query({"by": [""]}, GROUPS, NOW).by == ()


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"by": ["key,key"]}, "by"),
        ({"by": ["key", "key"]}, "by"),
        ({"by": ["colour"]}, "by"),
        ({"since": ["nan"]}, "since"),
        ({"since": ["-inf"]}, "since"),
        ({"until": ["inf"]}, "until"),
        ({"until": ["1e400"]}, "until"),
        ({"until": ["tomorrow"]}, "until"),
        ({"since": ["-5"]}, "since"),
        ({"since": ["100"], "until": ["100"]}, "since"),
        ({"since": ["1", "2"]}, "since"),
        ({"key": ["a\x00"]}, "key"),
        ({"model": ["m" * 300]}, "model"),
        ({"sinse": ["1"]}, "sinse"),
    ],
)
def test_wrong_usage_queries_are_named(query: dict[str, list[str]], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        usage_query(query, GROUPS, NOW)
    assert raised.value.param == param, raised.value.message


def test_other_queries() -> None:
    assert check_query({"team": ["platform"]}, ("team",)) == {"team": "platform"}
    with pytest.raises(InvalidRequest, match="takes none"):
        check_query({"x": ["1"]}, ())
    assert plausible_key_id("key_0123456789abcdef")
    assert not any(map(plausible_key_id, ["", "key\x00", "k" * 41, "../etc", "key id"]))
