"""Both secrets of an API key: a 401 moves traffic to the other and reports the failing one."""

from __future__ import annotations

import pytest

from ocigate.providers.oracle.secrets_pair import SecretLabel, SecretPair, mask
from tests.support.fakes import FakeClock

PRIMARY = "sk-primary-0001"
SECONDARY = "sk-secondary-0002"


def test_a_401_switches_to_the_other_secret_and_reports_the_failing_one() -> None:
    reported: list[SecretLabel] = []
    pair = SecretPair(PRIMARY, SECONDARY, on_unauthorized=reported.append)
    assert pair.current() == PRIMARY and pair.active == "primary" and pair.failing() == []
    assert pair.report_unauthorized(PRIMARY) is True
    assert pair.current() == SECONDARY and pair.snapshot()["active"] == "secondary"
    assert pair.failing() == ["primary"] and reported == ["primary"]


def test_a_late_401_on_the_old_secret_still_says_retry() -> None:
    reported: list[SecretLabel] = []
    pair = SecretPair(PRIMARY, SECONDARY, on_unauthorized=reported.append)
    pair.report_unauthorized(PRIMARY)
    assert pair.report_unauthorized(PRIMARY) is True  # a concurrent request: traffic already moved
    assert pair.current() == SECONDARY and reported == ["primary"]


def test_both_failing_does_not_flip_flop_until_the_recheck_time() -> None:
    clock = FakeClock()
    pair = SecretPair(PRIMARY, SECONDARY, clock=clock, recheck_after_s=600)
    pair.report_unauthorized(PRIMARY)
    clock.now += 10
    assert pair.report_unauthorized(SECONDARY) is False
    assert pair.current() == SECONDARY and pair.failing() == ["primary", "secondary"]
    clock.now += 600
    assert pair.report_unauthorized(SECONDARY) is True  # the primary gets another chance
    assert pair.current() == PRIMARY and pair.failing() == ["secondary"]


def test_one_secret_has_nothing_to_switch_to() -> None:
    pair = SecretPair(PRIMARY)
    assert pair.report_unauthorized(PRIMARY) is False
    assert pair.current() == PRIMARY and pair.failing() == ["primary"]


def test_an_unknown_secret_is_ignored() -> None:
    pair = SecretPair(PRIMARY, SECONDARY)
    assert pair.report_unauthorized("sk-something-else") is False
    assert pair.failing() == []


def test_an_empty_primary_is_refused_and_an_empty_secondary_is_none() -> None:
    with pytest.raises(ValueError):
        SecretPair("")
    assert SecretPair(PRIMARY, "").snapshot()["secondary"] is None


def test_secrets_are_never_shown() -> None:
    pair = SecretPair(PRIMARY, SECONDARY)
    pair.report_unauthorized(PRIMARY)
    assert pair.snapshot() == {"active": "secondary", "failing": ["primary"], "primary": "…0001", "secondary": "…0002"}
    assert PRIMARY not in repr(pair) and repr(pair) == "SecretPair(active=secondary, failing=['primary'])"
    assert mask("short") == "…"
