"""The attempt loop: retries, Retry-After, failover, fallbacks, budgets, streams, and what it reports."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from ocigate.config.policies import RetryPolicy
from ocigate.core.errors import GatewayError, ProviderUnavailable, UpstreamError
from ocigate.providers.base import UpstreamReply
from ocigate.providers.oracle.secrets_pair import SecretPair
from ocigate.routing.router import Deployment, ModelRoute
from tests.support.fakes import (
    OK,
    FakeProvider,
    body_for,
    deployment,
    make,
    one,
    oracle,
    real_time,
    timeout,
    two,
    unreachable,
)


async def test_retries_a_503_then_succeeds() -> None:
    ord_ = FakeProvider("oracle-ord", [oracle(503), OK])
    s = make([one(ord_)])
    reply, served, attempts = await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert reply is OK and served.name == "oracle-ord/m"
    assert [(a.status, a.kind) for a in attempts] == [(503, "server_error"), (200, None)]
    assert s.clock.sleeps == [0.25]  # base_delay, no jitter
    assert ord_.calls == [("chat/completions", b"m", "m")] * 2
    assert s.hooks.named("retry") == [("retry", "gpt", "oracle-ord/m", 0.25)]
    assert s.hooks.named("result") == [("result", "gpt", "oracle-ord/m", 200)]


async def test_headers_name_the_deployment_and_the_attempts() -> None:
    s = make([one(FakeProvider("oracle-ord", [oracle(503), OK]))])
    sent = await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    headers = sent.headers()
    assert headers["x-ocigate-deployment"] == "oracle-ord/m"
    assert headers["x-ocigate-attempts"] == "2"
    assert headers["x-ocigate-attempt-log"] == "oracle-ord/m 503 0ms, oracle-ord/m 200 0ms"


async def test_retry_after_in_seconds_is_honoured() -> None:
    s = make([one(FakeProvider("p", [oracle(429, retry_after="3"), OK]))])
    await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.clock.sleeps == [3.0]


async def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = email.utils.formatdate(1_700_000_000.0 + 5, usegmt=True)  # the setup's wall clock + 5 s
    s = make([one(FakeProvider("p", [oracle(503, retry_after=when), OK]))])
    await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.clock.sleeps == [5.0]


async def test_backoff_wins_over_a_shorter_retry_after() -> None:
    s = make(
        [one(FakeProvider("p", [oracle(429, retry_after="0.1"), OK]))], policy=RetryPolicy(base_delay=1.0, jitter=False)
    )
    await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.clock.sleeps == [1.0]


async def test_retry_after_can_be_ignored() -> None:
    policy = RetryPolicy(jitter=False, honour_retry_after=False)
    s = make([one(FakeProvider("p", [oracle(429, retry_after="3"), OK]))], policy=policy)
    await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.clock.sleeps == [0.25]


async def test_retry_after_beyond_the_budget_is_not_slept_and_reaches_the_client() -> None:
    provider = FakeProvider("p", [oracle(429, retry_after="30")])
    s = make([one(provider)], policy=RetryPolicy(budget_s=10, jitter=False))
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.clock.sleeps == [] and len(provider.calls) == 1
    err = raised.value
    assert err.status == 429 and err.headers["Retry-After"] == "30"
    assert err.message.startswith("Model 'gpt': the request's time budget ran out; tried p/m (429). The last error:")
    assert "Oracle is throttling" in err.message
    assert err.headers["x-ocigate-attempts"] == "1"


async def test_a_400_is_neither_retried_nor_failed_over() -> None:
    first, second = FakeProvider("a", [oracle(400)]), FakeProvider("b")
    s = make([two(first, second)])
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert raised.value.status == 400 and raised.value.headers["x-ocigate-attempts"] == "1"
    assert len(first.calls) == 1 and second.calls == [] and s.clock.sleeps == []
    assert s.breakers.get("a/m").failures == 0  # the client's fault, not the deployment's
    assert s.hooks.named("result") == [("result", "gpt", None, 400)]


async def test_a_401_with_no_other_secret_is_reported_and_not_retried() -> None:
    pair = SecretPair("sk-only-one-secret")
    provider = FakeProvider("p", [oracle(401), OK], secrets=pair)
    s = make([one(provider)])
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert raised.value.status == 401 and len(provider.calls) == 1
    assert pair.failing() == ["primary"]


async def test_a_401_moves_to_the_other_secret_and_retries_at_once() -> None:
    pair = SecretPair("sk-primary-secret", "sk-secondary-secret")
    provider = FakeProvider("p", [oracle(401), OK], secrets=pair)
    s = make([one(provider)], policy=RetryPolicy(max_attempts=1))  # the switch's retry is not counted
    reply, _, attempts = await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert reply is OK and [a.status for a in attempts] == [401, 200]
    assert provider.used == ["sk-primary-secret", "sk-secondary-secret"]
    assert s.clock.sleeps == [] and pair.failing() == ["primary"]
    assert s.breakers.get("p/m").failures == 0


async def test_both_secrets_rejected_is_the_clients_401() -> None:
    pair = SecretPair("sk-primary-secret", "sk-secondary-secret")
    provider = FakeProvider("p", [oracle(401)], secrets=pair)
    s = make([one(provider)])
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert raised.value.status == 401 and len(provider.calls) == 2 and s.clock.sleeps == []
    assert pair.failing() == ["primary", "secondary"]


async def test_a_pin_that_names_nothing_in_the_route() -> None:
    s = make([one(FakeProvider("p"))])
    with pytest.raises(ProviderUnavailable) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for, pin="elsewhere/m")
    assert raised.value.message == "Model 'gpt' has no deployment that can serve this request."


async def test_fails_over_to_the_second_region_without_sleeping() -> None:
    ord_, iad = FakeProvider("oracle-ord", [oracle(503)]), FakeProvider("oracle-iad")
    s = make([two(ord_, iad)])
    reply, served, attempts = await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert served.name == "oracle-iad/m" and [a.label for a in attempts] == ["oracle-ord/m (503)", "oracle-iad/m (200)"]
    assert s.clock.sleeps == []


async def test_every_deployment_is_tried_before_one_is_tried_again() -> None:
    a, b = FakeProvider("a", [oracle(503), OK]), FakeProvider("b", [oracle(502), OK])
    s = make([two(a, b)])
    _, served, attempts = await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert [a.deployment for a in attempts] == ["a/m", "b/m", "a/m"] and served.name == "a/m"
    assert s.clock.sleeps == [0.25]


async def test_max_attempts_is_per_deployment_and_the_error_names_every_attempt() -> None:
    a, b = FakeProvider("oracle-ord", [oracle(503)]), FakeProvider("oracle-iad", [oracle(429)])
    s = make([two(a, b)], policy=RetryPolicy(max_attempts=2, jitter=False))
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert len(a.calls) == 2 and len(b.calls) == 2
    assert raised.value.message.startswith(
        "Model 'gpt': every attempt failed; tried oracle-ord/m (503), oracle-iad/m (429), oracle-ord/m (503), "
        "oracle-iad/m (429). The last error: Oracle is throttling"
    )
    assert raised.value.status == 429 and raised.value.code == "rate_limit_exceeded"
    assert raised.value.headers["x-ocigate-attempts"] == "4" and "x-ocigate-deployment" not in raised.value.headers
    assert isinstance(raised.value.__cause__, UpstreamError)


async def test_connection_errors_and_timeouts_are_named_as_such() -> None:
    a, b = FakeProvider("a", [unreachable()]), FakeProvider("b", [timeout()])
    s = make([two(a, b)], policy=RetryPolicy(max_attempts=1))
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert "tried a/m (connection), b/m (timeout)." in raised.value.message
    assert raised.value.status == 504


async def test_falls_back_to_another_model_after_every_deployment_failed() -> None:
    big, small = FakeProvider("a", [oracle(503)]), FakeProvider("b")
    routes = [
        ModelRoute("big", (deployment(big, "big-model"),), fallbacks=("small",)),
        ModelRoute("small", (deployment(small, "small-model"),)),
    ]
    s = make(routes, policy=RetryPolicy(max_attempts=2, jitter=False))
    _, served, attempts = await s.dispatcher.send(s.router.routes["big"], "chat/completions", body_for)
    assert served.name == "b/small-model" and small.calls == [("chat/completions", b"small-model", "small-model")]
    assert [(a.model, a.status) for a in attempts] == [("big", 503), ("big", 503), ("small", 200)]
    assert s.hooks.named("fallback") == [("fallback", "big", "small")]
    assert len(s.hooks.named("retry")) == 1  # the second attempt on big; a fallback is not a retry
    assert s.hooks.named("result") == [("result", "big", "b/small-model", 200)]


async def test_a_pinned_request_has_no_fallbacks() -> None:
    big, small = FakeProvider("a", [oracle(503)]), FakeProvider("b")
    routes = [
        ModelRoute("big", (deployment(big),), fallbacks=("small",)),
        ModelRoute("small", (deployment(small, "s"),)),
    ]
    s = make(routes, policy=RetryPolicy(max_attempts=1))
    resolved = s.router.resolve("a/m")
    assert resolved is not None and resolved.pin == "a/m"
    with pytest.raises(UpstreamError):
        await s.dispatcher.send(resolved.route, "chat/completions", body_for, pin=resolved.pin)
    assert small.calls == []


async def test_the_budget_bounds_the_retries() -> None:
    provider = FakeProvider("p", [oracle(503)])
    s = make([one(provider)], policy=RetryPolicy(max_attempts=10, base_delay=0.4, jitter=False, budget_s=1.0))
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert (
        s.clock.sleeps == [pytest.approx(0.4)] and len(provider.calls) == 2
    )  # a 0.8 s backoff would end past the budget
    assert "the request's time budget ran out; tried p/m (503), p/m (503)" in raised.value.message


async def test_a_slow_attempt_eats_the_budget_and_stops_everything() -> None:
    slow, spare = FakeProvider("a", [5.0, oracle(503)]), FakeProvider("b")
    routes = [ModelRoute("gpt", (deployment(slow),), fallbacks=("spare",)), ModelRoute("spare", (deployment(spare),))]
    s = make(routes, policy=RetryPolicy(budget_s=4.0))
    slow.clock = s.clock
    with pytest.raises(UpstreamError) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert spare.calls == [] and s.hooks.named("fallback") == []
    assert "time budget ran out" in raised.value.message


async def test_a_budget_given_per_request_wins() -> None:
    provider = FakeProvider("p", [oracle(503)])
    s = make([one(provider)], policy=RetryPolicy(max_attempts=10, base_delay=0.4, jitter=False, budget_s=100))
    with pytest.raises(UpstreamError):
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for, budget_s=1.0)
    assert len(provider.calls) == 2


async def test_a_budget_spent_before_any_attempt() -> None:
    provider = FakeProvider("p")
    s = make([one(provider)])
    with pytest.raises(ProviderUnavailable) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for, budget_s=0.0)
    assert raised.value.code == "budget_exhausted" and provider.calls == []


async def test_an_attempt_in_flight_is_cut_at_the_budget() -> None:
    provider = FakeProvider("p", hang=True)
    dispatcher, breakers, router = real_time([one(provider)], RetryPolicy(budget_s=0.05))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as raised:
        await dispatcher.send(router.routes["gpt"], "chat/completions", body_for)
    assert time.monotonic() - started < 1.0
    assert "time budget ran out" in raised.value.message and "tried p/m (timeout)" in raised.value.message
    assert breakers.get("p/m").failures == 0  # the budget's end says nothing of the deployment
    assert router.stats("p/m").in_flight == 0


async def test_a_cancelled_request_frees_its_slot_and_reports_499() -> None:
    provider = FakeProvider("p", hang=True)
    s = make([one(provider)])
    task = asyncio.create_task(s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for))
    while not provider.calls:
        await asyncio.sleep(0)
    assert s.router.stats("p/m").in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert s.router.stats("p/m").in_flight == 0
    assert s.hooks.named("result") == [("result", "gpt", None, 499)]


async def test_a_bug_in_a_provider_is_not_swallowed() -> None:
    class Broken(FakeProvider):
        async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply:
            raise RuntimeError("bug")

    s = make([one(Broken("p"))])
    with pytest.raises(RuntimeError):
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.router.stats("p/m").in_flight == 0
    assert s.hooks.named("result") == [("result", "gpt", None, 500)]


async def test_every_circuit_open_is_a_503_with_retry_after() -> None:
    a, b = FakeProvider("a", [oracle(503)]), FakeProvider("b", [oracle(503)])
    s = make([two(a, b)])
    for name in ("a/m", "b/m"):
        for _ in range(5):
            s.breakers.get(name).failure()
    s.clock.now += 10
    with pytest.raises(ProviderUnavailable) as raised:
        await s.dispatcher.send(s.router.routes["gpt"], "chat/completions", body_for)
    err = raised.value
    assert err.status == 503 and err.code == "circuit_open" and err.headers["Retry-After"] == "20"
    assert err.message == (
        "Model 'gpt' has no deployment in service: the circuit of a/m, b/m is open after repeated failures; "
        "the next probe is in 20 s."
    )
    assert a.calls == [] and b.calls == []


async def test_the_path_may_depend_on_the_deployment_and_bodies_are_made_once() -> None:
    a, b = FakeProvider("a", [oracle(503), OK]), FakeProvider("b", [oracle(503), OK])
    made: list[str] = []

    def body(d: Deployment) -> bytes:
        made.append(d.name)
        return d.name.encode()

    s = make([two(a, b)])
    await s.dispatcher.send(s.router.routes["gpt"], lambda d: "responses" if d.name == "a/m" else "chat", body)
    assert [c[0] for c in a.calls + b.calls] == ["responses", "responses", "chat"]
    assert made == ["a/m", "b/m"]


async def test_a_non_retryable_error_from_a_fallback_is_raised_with_every_attempt() -> None:
    big, small = FakeProvider("a", [oracle(503)]), FakeProvider("b", [oracle(404)])
    routes = [
        ModelRoute("big", (deployment(big),), fallbacks=("small",)),
        ModelRoute("small", (deployment(small, "s"),)),
    ]
    s = make(routes, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(GatewayError) as raised:
        await s.dispatcher.send(s.router.routes["big"], "chat/completions", body_for)
    assert raised.value.status == 404 and raised.value.headers["x-ocigate-attempts"] == "2"
