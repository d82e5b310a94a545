"""Prometheus metrics: the series, their label values (bounded), and dispatch feeding them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from ocigate.config.policies import BreakerPolicy
from ocigate.observe.metrics import Metrics, status_class, usage_counts
from ocigate.providers.oracle.secrets_pair import SecretPair
from ocigate.routing.breaker import BreakerBoard
from ocigate.routing.events import Attempt
from ocigate.routing.router import ModelRoute
from tests.support.fakes import OK, FakeClock, FakeProvider, FakeStream, body_for, deployment, make, oracle


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_every_series_renders_with_bounded_labels() -> None:
    m = Metrics(models=["gpt"], deployments=["oracle-ord/m", "oracle-iad/m"])
    m.on_attempt(Attempt("gpt", "oracle-ord/m", 503, 0.1, "server_error"))
    m.on_attempt(Attempt("gpt", "oracle-ord/m", 200, 0.1))
    m.on_attempt(Attempt("someone-elses-model", "unknown/x", 429, 0.1, "weird-kind"))
    m.on_retry("gpt", "oracle-ord/m", 0.25)
    m.on_fallback("gpt", "llama")
    m.on_result("gpt", "oracle-iad/m", 200, 1.5)
    m.on_result("gpt", None, 503, 0.2)
    m.on_result("made-up", "made-up/x", 499, 0.2)
    m.on_first_token("gpt", 0.3)
    m.on_usage(
        "gpt",
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "completion_tokens_details": {"reasoning_tokens": 3},
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    )
    m.on_usage("gpt", {"input_tokens": 7, "output_tokens": 2, "input_tokens_details": {"cached_tokens": 4}})
    m.on_circuit("oracle-ord/m", "open")
    m.on_circuit("oracle-iad/m", "half_open")

    assert value(m, "ocigate_requests_total", model="gpt", deployment="oracle-iad/m", status_class="2xx") == 1
    assert value(m, "ocigate_requests_total", model="gpt", deployment="none", status_class="5xx") == 1
    assert value(m, "ocigate_requests_total", model="other", deployment="other", status_class="4xx") == 1
    assert value(m, "ocigate_errors_total", model="gpt", deployment="oracle-ord/m", kind="server_error") == 1
    assert value(m, "ocigate_errors_total", model="other", deployment="other", kind="other") == 1
    assert value(m, "ocigate_request_duration_seconds_count", model="gpt", deployment="oracle-iad/m") == 1
    assert value(m, "ocigate_request_duration_seconds_bucket", model="gpt", deployment="oracle-iad/m", le="2.5") == 1
    assert value(m, "ocigate_time_to_first_token_seconds_sum", model="gpt") == 0.3
    assert value(m, "ocigate_tokens_total", model="gpt", type="prompt") == 17
    assert value(m, "ocigate_tokens_total", model="gpt", type="completion") == 7
    assert value(m, "ocigate_tokens_total", model="gpt", type="reasoning") == 3
    assert value(m, "ocigate_tokens_total", model="gpt", type="cached") == 4
    assert value(m, "ocigate_retries_total", model="gpt") == 1
    assert value(m, "ocigate_fallbacks_total", model="gpt") == 1
    assert value(m, "ocigate_circuit_state", deployment="oracle-ord/m") == 2
    assert value(m, "ocigate_circuit_state", deployment="oracle-iad/m") == 1

    allowed = {
        "model": {"gpt", "other"},
        "deployment": {"oracle-ord/m", "oracle-iad/m", "none", "other"},
        "status_class": {"2xx", "4xx", "5xx"},
        "kind": {"server_error", "other"},
        "type": {"prompt", "completion", "reasoning", "cached"},
    }
    for (_, labels), _ in samples(m).items():
        for label, label_value in labels:
            if label in allowed:
                assert label_value in allowed[label], (label, label_value)


def test_registries_are_separate_and_names_can_be_added() -> None:
    first, second = Metrics(models=["gpt"]), Metrics(models=["gpt"])
    first.on_retry("gpt", "d", 0)
    assert value(first, "ocigate_retries_total", model="gpt") == 1
    assert ("ocigate_retries_total", (("model", "gpt"),)) not in samples(second)
    second.allow(models=["llama"], deployments=["new/d"])
    second.on_circuit("new/d", "open")
    second.allow(deployments=["new/d"])  # a reload keeps the gauge as it was
    second.on_retry("llama", "new/d", 0)
    assert value(second, "ocigate_retries_total", model="llama") == 1
    assert value(second, "ocigate_circuit_state", deployment="new/d") == 2


def test_secret_rejections_by_provider_and_label() -> None:
    m = Metrics(providers=["oracle-ord"])
    pair = SecretPair(
        "sk-primary-0001", "sk-secondary-0002", on_unauthorized=lambda label: m.on_secret_rejected("oracle-ord", label)
    )
    pair.report_unauthorized("sk-primary-0001")
    m.on_secret_rejected("stranger", "tertiary")
    assert value(m, "ocigate_secret_rejections_total", provider="oracle-ord", secret="primary") == 1
    assert value(m, "ocigate_secret_rejections_total", provider="other", secret="other") == 1


def test_openmetrics_when_the_scraper_asks() -> None:
    m = Metrics(models=["gpt"])
    m.on_usage("gpt", {"prompt_tokens": 0, "completion_tokens": 2})
    body, content_type = m.render("application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith(b"# EOF\n")
    assert b'ocigate_tokens_total{model="gpt",type="completion"} 2.0' in body
    assert b'type="prompt"' not in body


def test_usage_counts_takes_only_counts() -> None:
    assert usage_counts({"prompt_tokens": True, "completion_tokens": -1, "output_tokens": 3}) == {}
    assert usage_counts({"prompt_tokens": 2, "prompt_tokens_details": None}) == {"prompt": 2}
    assert usage_counts({"output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 1}}) == {
        "completion": 3,
        "reasoning": 1,
    }


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 429, 499, 503, 42, 700)] == ["2xx", "4xx", "4xx", "5xx", "other", "other"]


async def test_dispatch_and_breakers_feed_the_metrics() -> None:
    clock = FakeClock()
    flaky, steady = FakeProvider("a", [oracle(503)]), FakeProvider("b", [OK, FakeStream()])
    route = ModelRoute("gpt", (deployment(flaky), deployment(steady, priority=1)))
    m = Metrics(models=["gpt"], deployments=["a/m", "b/m"])
    s = make([route], breaker=BreakerPolicy(failure_threshold=1), clock=clock)
    s.dispatcher.hooks = m
    s.dispatcher.breakers = BreakerBoard(BreakerPolicy(failure_threshold=1), clock=clock, on_change=m.on_circuit)
    await s.dispatcher.send(route, "chat/completions", body_for)
    opened = await s.dispatcher.open_stream(route, "chat/completions", body_for)
    assert [block async for block in opened.stream]
    await opened.stream.aclose()
    assert value(m, "ocigate_errors_total", model="gpt", deployment="a/m", kind="server_error") == 1
    assert value(m, "ocigate_requests_total", model="gpt", deployment="b/m", status_class="2xx") == 2
    assert value(m, "ocigate_retries_total", model="gpt") == 1
    assert value(m, "ocigate_circuit_state", deployment="a/m") == 2
    assert value(m, "ocigate_time_to_first_token_seconds_count", model="gpt") == 1
