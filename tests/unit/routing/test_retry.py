"""Retry arithmetic, Retry-After, the give-up errors, and the events vocabulary."""

from __future__ import annotations

import email.utils
import random

import pytest

from ocigate.config.policies import RetryPolicy
from ocigate.core.errors import GatewayError, InvalidRequest, ProviderUnavailable
from ocigate.routing.events import Attempt, FanOut, NullHooks, attempt_headers, failure_kind
from ocigate.routing.retry import given_up, retry_after_s, timed_out
from ocigate.routing.router import Deployment
from tests.support.fakes import FakeProvider, Recorder, oracle, timeout, unreachable

NOW = 1_700_000_000.0


def test_exponential_backoff_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3, jitter=False)
    assert [policy.backoff(n, random.Random()) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_stays_under_the_exponential_delay() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=100)
    rng = random.Random(11)
    delays = [policy.backoff(3, rng) for _ in range(2_000)]
    assert all(0 <= d <= 4 for d in delays)
    assert sum(delays) / len(delays) == pytest.approx(2, abs=0.15)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_attempts": 0},
        {"base_delay": -1},
        {"max_delay": -1},
        {"budget_s": 0},
        {"stream_failover": "never"},
    ],
)
def test_a_bad_policy_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"RETRY-AFTER": email.utils.formatdate(NOW + 42, usegmt=True)}, 42.0),
        ({"Retry-After": email.utils.formatdate(NOW - 42, usegmt=True)}, 0.0),
        ({"Retry-After": "Tue, 14 Nov 2023 22:14:02"}, 42.0),  # no zone: taken as UTC
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_s(headers, NOW) == seconds


def test_timeouts_say_whose_they_are() -> None:
    budget, first_byte = timed_out("d", 3, True), timed_out("d", 3, False)
    assert budget.code == "budget_exhausted" and budget.status == 504 and budget.retryable
    assert first_byte.code == "upstream_timeout" and "within 3 s" in first_byte.message


def test_given_up_keeps_the_last_error_and_names_the_attempts() -> None:
    last = oracle(429, retry_after="7")
    attempts = [Attempt("gpt", "oracle-ord", 503, 0.1, "server_error"), Attempt("gpt", "oracle-iad", 429, 0.1, "x")]
    err = given_up("gpt", attempts, last, ["oracle-fra"], out_of_budget=False, probe_in_s=0)
    assert err.message.startswith(
        "Model 'gpt': every attempt failed; tried oracle-ord (503), oracle-iad (429); skipped oracle-fra "
        "(circuit open). The last error: Oracle is throttling"
    )
    assert (err.status, err.code, err.headers) == (429, "rate_limit_exceeded", {"Retry-After": "7"})
    assert err.upstream_status == 429


def test_given_up_without_an_upstream_error() -> None:
    err = given_up("gpt", [], InvalidRequest("x"), [], out_of_budget=True, probe_in_s=0)
    assert err.status == 400 and err.message == "Model 'gpt': the request's time budget ran out. The last error: x"
    circuits = given_up("gpt", [], None, ["a"], out_of_budget=False, probe_in_s=0.2)
    assert isinstance(circuits, ProviderUnavailable) and circuits.headers == {"Retry-After": "1"}


@pytest.mark.parametrize(
    ("err", "kind"),
    [
        (oracle(429), "rate_limited"),
        (oracle(503), "server_error"),
        (oracle(408), "timeout"),
        (oracle(401), "unauthorized"),
        (oracle(403), "unauthorized"),
        (oracle(400), "client_error"),
        (unreachable(), "connection"),
        (timeout(), "timeout"),
        (timed_out("d", 1, True), "timeout"),
        (GatewayError("plain", status=502), "server_error"),
        (GatewayError("odd", status=302), "other"),
    ],
)
def test_failure_kinds(err: GatewayError, kind: str) -> None:
    assert failure_kind(err) == kind


def test_attempt_headers() -> None:
    served = Deployment("oracle-iad/m", FakeProvider("oracle-iad"), "m")
    attempts = [Attempt("gpt", "oracle-ord/m", 504, 1.2345, "timeout"), Attempt("gpt", "oracle-iad/m", 200, 0.5)]
    assert attempt_headers(attempts, served) == {
        "x-ocigate-attempts": "2",
        "x-ocigate-deployment": "oracle-iad/m",
        "x-ocigate-attempt-log": "oracle-ord/m timeout 1234ms, oracle-iad/m 200 500ms",
    }
    assert attempt_headers([], None) == {"x-ocigate-attempts": "0"}


def test_fan_out_hands_every_event_to_every_hook() -> None:
    first, second = Recorder(), Recorder()
    hooks = FanOut(first, NullHooks(), second)
    attempt = Attempt("gpt", "d", 200, 0.1)
    hooks.on_attempt(attempt)
    hooks.on_retry("gpt", "d", 0.5)
    hooks.on_fallback("gpt", "llama")
    hooks.on_result("gpt", "d", 200, 1.0)
    hooks.on_first_token("gpt", 0.2)
    hooks.on_usage("gpt", {"prompt_tokens": 1})
    assert (
        first.events
        == second.events
        == [
            ("attempt", "d", 200, None),
            ("retry", "gpt", "d", 0.5),
            ("fallback", "gpt", "llama"),
            ("result", "gpt", "d", 200),
            ("first_token", "gpt", 0.2),
            ("usage", "gpt", {"prompt_tokens": 1}),
        ]
    )
