"""Traces of a gateway with tracing on, its spans in OpenTelemetry's in-memory exporter: one server span per model
request with the GenAI attributes, a client span per upstream attempt under it, the client's ``traceparent``
continued and each attempt's sent to the emulator; streams end their span when they end, or when the client
leaves; retries and failovers against the emulator's fault injection give one attempt span each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ocigate.app.runtime import Gateway
from ocigate.emulator import EmulatorConfig
from tests.support.governance import MASTER, gateway_env
from tests.support.regions import IAD, MODEL, ORD, clear_faults, fault, two_region_config
from tests.support.servers import ServerThread, start_emulator
from tests.support.tracing import CLIENT_SPAN, CLIENT_TRACE, TRACEPARENT, finished, hex_ids, parent_id, traced_gateway

pytestmark = pytest.mark.e2e

KEY = "gw-master-key-do-not-leak"
PROMPT = "Tell me about the secret garden of Quibbleton."
FAST_RETRIES = {
    "retries": {"max_attempts": 3, "base_delay": 0.01, "max_delay": 0.05, "jitter": False},
    "budget": 20,
}


@pytest.fixture(scope="module")
def out_of_the_box() -> Iterator[tuple[ServerThread, Gateway, InMemorySpanExporter]]:
    with traced_gateway({"OCIGATE_MASTER_KEY": KEY}) as served:
        yield served


@pytest.fixture
def exporter(out_of_the_box: tuple[ServerThread, Gateway, InMemorySpanExporter]) -> InMemorySpanExporter:
    out_of_the_box[2].clear()
    return out_of_the_box[2]


def emulator_root(app: Gateway) -> str:
    assert app.runtime.emulator is not None
    parts = urlsplit(app.runtime.emulator.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if parent_id(s) == hex_ids(parent)[1]]


def no_secret_or_prompt(spans: list[ReadableSpan]) -> None:
    for span in spans:
        for value in (span.attributes or {}).values():
            assert KEY not in str(value) and "Quibbleton" not in str(value), (span.name, value)


def test_a_chat_request_is_one_server_span_continuing_the_clients_trace(
    out_of_the_box: tuple[ServerThread, Gateway, InMemorySpanExporter], exporter: InMemorySpanExporter
) -> None:
    gateway, app, _ = out_of_the_box
    root = emulator_root(app)
    httpx.delete(f"{root}/_emulator/stats").raise_for_status()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0)
    answer = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": PROMPT}],
        extra_headers={"traceparent": TRACEPARENT, "tracestate": "client=yes"},
    )
    [server] = finished(exporter, f"chat {MODEL}")
    spans = exporter.get_finished_spans()
    [attempt] = children(list(spans), server)

    assert server.kind == SpanKind.SERVER and attempt.kind == SpanKind.CLIENT
    assert hex_ids(server)[0] == CLIENT_TRACE and parent_id(server) == CLIENT_SPAN
    assert hex_ids(attempt)[0] == CLIENT_TRACE
    attributes = dict(server.attributes or {})
    assert answer.usage is not None
    assert attributes == attributes | {
        "gen_ai.system": "oci_genai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "gen_ai.usage.input_tokens": answer.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": answer.usage.completion_tokens,
        "http.response.status_code": 200,
        "ocigate.attempts": 1,
        "ocigate.deployment": f"oracle/{MODEL}",
        "cloud.region": "us-chicago-1",
        "ocigate.stream": False,
    }
    assert "error.type" not in attributes
    assert dict(attempt.attributes or {}) == dict(attempt.attributes or {}) | {
        "ocigate.attempt": 1,
        "http.response.status_code": 200,
        "ocigate.deployment": f"oracle/{MODEL}",
    }
    assert "ocigate.retry.reason" not in (attempt.attributes or {})
    no_secret_or_prompt(list(spans))

    # Oracle got the attempt's own trace context: the client's trace, the attempt span as parent.
    traces = httpx.get(f"{root}/_emulator/traces").json()["traces"]
    sent = [t for t in traces if t["path"].endswith("/chat/completions")]
    assert sent == [
        {
            "path": sent[0]["path"],
            "traceparent": f"00-{CLIENT_TRACE}-{hex_ids(attempt)[1]}-01",
            "tracestate": "client=yes",
        }
    ]


def test_without_a_traceparent_the_request_starts_a_trace(
    out_of_the_box: tuple[ServerThread, Gateway, InMemorySpanExporter], exporter: InMemorySpanExporter
) -> None:
    gateway, _, _ = out_of_the_box
    httpx.get(f"{gateway.url}/healthz").raise_for_status()  # not a model request: no span
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0)
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    [server] = finished(exporter, "chat ")
    assert server.parent is None and hex_ids(server)[0] != CLIENT_TRACE
    assert [s.name for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER] == [server.name]


def test_a_stream_ends_its_span_with_its_usage(
    out_of_the_box: tuple[ServerThread, Gateway, InMemorySpanExporter], exporter: InMemorySpanExporter
) -> None:
    gateway, _, _ = out_of_the_box
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Name three colours."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = [chunk.usage for chunk in stream if chunk.usage is not None][0]
    [server] = finished(exporter, f"chat {MODEL}")
    attributes = dict(server.attributes or {})
    assert attributes["ocigate.stream"] is True and attributes["http.response.status_code"] == 200
    assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    [attempt] = children(list(exporter.get_finished_spans()), server)
    assert server.end_time is not None and attempt.end_time is not None and attempt.end_time <= server.end_time


def test_a_client_leaving_a_stream_ends_its_span_as_499() -> None:
    slow = start_emulator(EmulatorConfig(stream_delay_s=0.05))  # an event every 50 ms
    body = {"model": MODEL, "stream": True, "max_tokens": 4000, "messages": [{"role": "user", "content": "Count"}]}
    try:
        with traced_gateway(gateway_env(slow)) as (gateway, _, exporter):
            with httpx.stream(
                "POST", f"{gateway.url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {MASTER}"}
            ) as response:
                assert response.status_code == 200
                next(response.iter_bytes())  # the first bytes, then the client goes away
            [server] = finished(exporter, f"chat {MODEL}")
    finally:
        slow.stop()
    assert dict(server.attributes or {})["http.response.status_code"] == 499
    assert server.end_time is not None


def test_embeddings_rerank_and_responses_each_have_their_operation(
    out_of_the_box: tuple[ServerThread, Gateway, InMemorySpanExporter], exporter: InMemorySpanExporter
) -> None:
    gateway, app, _ = out_of_the_box
    httpx.delete(f"{emulator_root(app)}/_emulator/stats").raise_for_status()
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=KEY, max_retries=0)
    client.embeddings.create(model="cohere.embed-v4.0", input=["a fox"], extra_headers={"traceparent": TRACEPARENT})
    reranked = httpx.post(
        f"{gateway.url}/v1/rerank",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "cohere.rerank-v3.5", "query": "a fox", "documents": ["a quick brown fox", "tax law"]},
    )
    assert reranked.status_code == 200
    client.responses.create(model=MODEL, input="Say hi.")
    embedded = finished(exporter, "embeddings cohere.embed-v4.0")
    ranked = finished(exporter, "rerank cohere.rerank-v3.5")
    responded = finished(exporter, f"chat {MODEL}")
    assert len(embedded) == len(ranked) == len(responded) == 1
    assert "ocigate.endpoint" not in (embedded[0].attributes or {})  # named by the operation
    assert (responded[0].attributes or {})["ocigate.endpoint"] == "responses"
    assert (ranked[0].attributes or {})["gen_ai.system"] == "oci_genai"
    # the native API (embeddings, rerank) gets the trace context too
    traces = httpx.get(f"{emulator_root(app)}/_emulator/traces").json()["traces"]
    assert any("embedText" in t["path"] and t["traceparent"].startswith(f"00-{CLIENT_TRACE}-") for t in traces)


def test_an_error_before_any_upstream_call_is_on_the_span(
    out_of_the_box: tuple[ServerThread, Gateway, InMemorySpanExporter], exporter: InMemorySpanExporter
) -> None:
    gateway, _, _ = out_of_the_box
    answer = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert answer.status_code == 404
    [server] = finished(exporter, "chat no-such-model")
    attributes = dict(server.attributes or {})
    assert attributes["error.type"] == "model_not_found" and attributes["http.response.status_code"] == 404
    assert server.status.status_code == StatusCode.UNSET  # a client's error is not the server's
    assert children(list(exporter.get_finished_spans()), server) == []


@pytest.fixture(scope="module")
def regions() -> Iterator[tuple[ServerThread, ServerThread]]:
    a = start_emulator(EmulatorConfig(region="us-chicago-1", seed=11))
    b = start_emulator(EmulatorConfig(region="us-ashburn-1", seed=12))
    yield a, b
    a.stop()
    b.stop()


def test_retries_and_failover_are_one_attempt_span_each(
    regions: tuple[ServerThread, ServerThread], tmp_path: Path
) -> None:
    a, b = regions
    config = two_region_config(tmp_path / "ocigate.yaml", a, b, routing=FAST_RETRIES)
    clear_faults(a, b)
    fault(a, status=503, count=1)
    fault(b, status=429, count=1)
    with traced_gateway({}, config_file=config) as (gateway, _, exporter):
        client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", max_retries=0)
        answer = client.chat.completions.with_raw_response.create(
            model="gpt-oss", messages=[{"role": "user", "content": "hi"}]
        )
        [server] = finished(exporter, "chat gpt-oss")
    clear_faults(a, b)
    attempts = sorted(children(list(exporter.get_finished_spans()), server), key=lambda s: s.start_time or 0)
    assert answer.headers["x-ocigate-attempts"] == "3"
    assert [(s.attributes or {})["ocigate.attempt"] for s in attempts] == [1, 2, 3]
    statuses = [(s.attributes or {})["http.response.status_code"] for s in attempts]
    assert set(statuses[:2]) == {429, 503} and statuses[2] == 200
    assert {(s.attributes or {})["ocigate.deployment"] for s in attempts[:2]} == {ORD, IAD}
    assert "ocigate.retry.reason" not in (attempts[0].attributes or {})
    reasons = [(s.attributes or {})["ocigate.retry.reason"] for s in attempts[1:]]
    assert set(reasons) <= {"server_error", "rate_limited"} and len(reasons) == 2
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.ERROR, StatusCode.UNSET]
    assert dict(server.attributes or {})["ocigate.attempts"] == 3
    served = (attempts[2].attributes or {})["ocigate.deployment"]
    assert dict(server.attributes or {})["ocigate.deployment"] == served
    assert dict(server.attributes or {})["cloud.region"] == ("us-chicago-1" if served == ORD else "us-ashburn-1")


def test_when_every_attempt_fails_the_span_says_so(regions: tuple[ServerThread, ServerThread], tmp_path: Path) -> None:
    a, b = regions
    config = two_region_config(tmp_path / "ocigate.yaml", a, b, routing=FAST_RETRIES)
    clear_faults(a, b)
    fault(a, status=503)
    fault(b, status=503)
    try:
        with traced_gateway({}, config_file=config) as (gateway, _, exporter):
            answer = httpx.post(
                f"{gateway.url}/v1/chat/completions",
                json={"model": "gpt-oss", "messages": [{"role": "user", "content": "hi"}]},
                timeout=30,
            )
            [server] = finished(exporter, "chat gpt-oss")
    finally:
        clear_faults(a, b)
    assert answer.status_code == 503
    attributes = dict(server.attributes or {})
    assert attributes["http.response.status_code"] == 503 and attributes["ocigate.attempts"] == 6
    assert server.status.status_code == StatusCode.ERROR and attributes["error.type"]
    assert len(children(list(exporter.get_finished_spans()), server)) == 6
