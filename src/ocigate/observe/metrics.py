"""Prometheus metrics for ``GET /metrics``, fed by dispatch events (this is a :class:`DispatchHooks` observer).

Series, in their own :class:`CollectorRegistry` (never the global one, so that several gateways in one process,
as in the tests, do not share counters):

- ``ocigate_requests_total{model, deployment, status_class}``: client requests by how they ended (deployment
  ``none`` when none served);
- ``ocigate_errors_total{model, deployment, kind}``: failed upstream attempts;
- ``ocigate_request_duration_seconds{model, deployment}``: histogram, a stream's until its end;
- ``ocigate_time_to_first_token_seconds{model}``: histogram, streams only, retries included;
- ``ocigate_tokens_total{model, type}``: prompt, completion, reasoning (part of completion), cached (part of prompt);
- ``ocigate_retries_total{model}``, ``ocigate_fallbacks_total{model}``;
- ``ocigate_circuit_state{deployment}``: 0 closed, 1 half-open, 2 open;
- ``ocigate_secret_rejections_total{provider, secret}``: 401s per secret of a key (primary or secondary), from
  ``SecretPair(on_unauthorized=...)``;
- with several workers only, ``ocigate_worker_requests{pid}``: requests answered per worker process, whatever
  their route or status (a gauge: in
  prometheus_client's multiprocess mode only gauges keep the ``pid`` label), to see how connections spread.

Several workers (``ocigate serve --workers N``): each worker counts in memory as one process does and copies its
values into prometheus_client's multiprocess files in ``multiprocess_dir`` (``observe/shared.py``: every second,
before it renders, when it stops; :meth:`Metrics.sync`), and :meth:`Metrics.render` sums every worker's files, so
``/metrics`` reports the whole server whichever worker answers; the circuit gauge shows the most open circuit of
the live workers.

Label values are bounded: model, deployment and provider names are those given by the configuration (the
constructor and :meth:`Metrics.allow`) and anything else is counted as ``other``; status classes, failure kinds
and token types are fixed sets. ``model`` is the public name the client asked for (fallbacks included in it).

Usage::

    metrics = Metrics(models=["gpt-oss", "llama"], deployments=["oracle-ord/openai.gpt-oss-120b", ...])
    breakers = BreakerBoard(policy, on_change=metrics.on_circuit)
    dispatcher = Dispatcher(router, breakers, metrics, retry_policy)
    ...
    breakers.refresh()                       # in the /metrics route: open circuits past their cool-down
    body, content_type = metrics.render(request.headers.get("accept", ""))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from ocigate.observe.shared import MetricFiles
from ocigate.routing.breaker import STATE_VALUES, CircuitState
from ocigate.routing.events import FAILURE_KINDS, Attempt, NullHooks

M = TypeVar("M", Counter, Gauge, Histogram)
OTHER = "other"
NONE = "none"
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
GAUGE_MODES = {"ocigate_circuit_state": "livemax", "ocigate_worker_requests": "all"}
"""How the workers' values of each gauge combine on /metrics: the most open circuit of the live workers; each
worker's requests under its ``pid`` label."""
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


def usage_counts(usage: Mapping[str, object]) -> dict[str, int]:
    """Token counts by type from a Chat Completions (``prompt_tokens``...) or Responses (``input_tokens``...)
    usage object; what is missing or not a count is left out."""

    def count(value: object) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    def detail(name: str, key: str) -> int | None:
        inner = usage.get(name)
        return count(inner.get(key)) if isinstance(inner, Mapping) else None

    found = {
        "prompt": count(usage.get("prompt_tokens", usage.get("input_tokens"))),
        "completion": count(usage.get("completion_tokens", usage.get("output_tokens"))),
        "reasoning": detail("completion_tokens_details", "reasoning_tokens")
        or detail("output_tokens_details", "reasoning_tokens"),
        "cached": detail("prompt_tokens_details", "cached_tokens") or detail("input_tokens_details", "cached_tokens"),
    }
    return {kind: value for kind, value in found.items() if value is not None}


class _Children(Generic[M]):
    """A metric's children by label values, kept: ``labels()`` validates and locks on every call, which the hot path
    need not pay for (the label sets are bounded, so is this)."""

    __slots__ = ("metric", "_children")

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *labels: str) -> M:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self.metric.labels(*labels)
        return child


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else OTHER


class Metrics(NullHooks):
    def __init__(
        self,
        models: Iterable[str] = (),
        deployments: Iterable[str] = (),
        providers: Iterable[str] = (),
        *,
        registry: CollectorRegistry | None = None,
        multiprocess_dir: str | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self._multiprocess_dir = multiprocess_dir
        self._models: set[str] = set()
        self._deployments: set[str] = set()
        self._providers: set[str] = set()
        r = self.registry
        labels = ["model", "deployment"]
        self.requests = _Children(
            Counter("ocigate_requests", "Client requests by how they ended.", [*labels, "status_class"], registry=r)
        )
        self.errors = _Children(
            Counter("ocigate_errors", "Failed upstream attempts by kind.", [*labels, "kind"], registry=r)
        )
        self.duration = _Children(
            Histogram(
                "ocigate_request_duration_seconds",
                "Time from dispatch to the end of the reply (of the stream, for streams).",
                labels,
                buckets=DURATION_BUCKETS,
                registry=r,
            )
        )
        self.ttft = _Children(
            Histogram(
                "ocigate_time_to_first_token_seconds",
                "Time from dispatch to a stream's first block, retries included.",
                ["model"],
                buckets=TTFT_BUCKETS,
                registry=r,
            )
        )
        self.tokens = _Children(
            Counter("ocigate_tokens", "Tokens by type (reasoning and cached are parts).", ["model", "type"], registry=r)
        )
        self.retries = _Children(
            Counter("ocigate_retries", "Attempts after the first for the same model.", ["model"], registry=r)
        )
        self.fallbacks = _Children(
            Counter("ocigate_fallbacks", "Requests that moved on to a fallback model.", ["model"], registry=r)
        )
        self.circuits = _Children(
            Gauge(
                "ocigate_circuit_state",
                "Circuit state: 0 closed, 1 half-open, 2 open.",
                ["deployment"],
                registry=r,
                multiprocess_mode="livemax",
            )
        )
        self.secrets = _Children(
            Counter("ocigate_secret_rejections", "401s per secret of an API key.", ["provider", "secret"], registry=r)
        )
        self._worker: Gauge | None = None
        self._files: MetricFiles | None = None
        self._answered = 0
        if multiprocess_dir is not None:
            self._worker = Gauge(
                "ocigate_worker_requests",
                "Requests answered (any route, any status), per worker process.",
                registry=r,
                multiprocess_mode="all",
            )
            self._files = MetricFiles(r, multiprocess_dir, GAUGE_MODES)
        self.allow(models, deployments, providers)

    def allow(self, models: Iterable[str] = (), deployments: Iterable[str] = (), providers: Iterable[str] = ()) -> None:
        """Adds configured names to the label values (a reload); new deployments start with a closed circuit."""
        self._models.update(models)
        self._providers.update(providers)
        for name in deployments:
            if name not in self._deployments:
                self._deployments.add(name)
                self.circuits(name).set(0)

    def _model(self, name: str) -> str:
        return name if name in self._models else OTHER

    def _deployment(self, name: str | None) -> str:
        if name is None:
            return NONE
        return name if name in self._deployments else OTHER

    def on_attempt(self, attempt: Attempt) -> None:
        if attempt.kind is not None:
            kind = attempt.kind if attempt.kind in FAILURE_KINDS else OTHER
            self.errors(self._model(attempt.model), self._deployment(attempt.deployment), kind).inc()

    def on_retry(self, model: str, deployment: str, delay_s: float) -> None:
        self.retries(self._model(model)).inc()

    def on_fallback(self, model: str, to_model: str) -> None:
        self.fallbacks(self._model(model)).inc()

    def on_result(self, model: str, deployment: str | None, status: int, duration_s: float) -> None:
        model_label, deployment_label = self._model(model), self._deployment(deployment)
        self.requests(model_label, deployment_label, status_class(status)).inc()
        self.duration(model_label, deployment_label).observe(duration_s)

    def on_answered(self) -> None:
        """One more request answered by this worker, whatever its route or status (several workers only): a plain
        count, set on the gauge when the values are copied (:meth:`sync`)."""
        self._answered += 1

    def on_first_token(self, model: str, seconds: float) -> None:
        self.ttft(self._model(model)).observe(seconds)

    def on_usage(self, model: str, usage: Mapping[str, object]) -> None:
        self.on_tokens(model, usage_counts(usage))

    def on_tokens(self, model: str, counts: Mapping[str, int]) -> None:
        """Token counts by type (prompt, completion, reasoning, cached): a settled usage record's, through
        governance's ``on_usage``."""
        model_label = self._model(model)
        for kind, value in counts.items():
            if value:
                self.tokens(model_label, kind).inc(value)

    def on_circuit(self, deployment: str, state: CircuitState) -> None:
        """The breaker board's ``on_change`` listener."""
        self.circuits(self._deployment(deployment)).set(STATE_VALUES[state])

    def on_secret_rejected(self, provider: str, secret: str) -> None:
        """A provider's ``SecretPair(on_unauthorized=lambda label: metrics.on_secret_rejected(name, label))``."""
        label = secret if secret in ("primary", "secondary") else OTHER
        self.secrets(provider if provider in self._providers else OTHER, label).inc()

    def sync(self) -> None:
        """Copies this worker's values into its multiprocess files (several workers only)."""
        if self._files is not None:
            assert self._worker is not None
            self._worker.set(self._answered)
            self._files.write()

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The body and content type of ``GET /metrics`` for the scraper's ``Accept`` header: Prometheus text
        format 0.0.4 by default, OpenMetrics or text 1.0.0 when asked for."""
        encode, content_type = choose_encoder(accept)
        if self._files is not None and self._multiprocess_dir is not None:
            from prometheus_client.multiprocess import MultiProcessCollector

            self.sync()
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
            return encode(registry), content_type
        return encode(self.registry), content_type
