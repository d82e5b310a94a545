"""``ocigate_tokens_total`` counts the tokens of every settled request: what each answer's usage reported, by type
and model, streamed or not (governance's ``on_usage`` feeds the metrics)."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import CHICAGO_KEY, MODELS, GatewayFactory, ServerThread

pytestmark = pytest.mark.e2e

MODEL = "openai.gpt-oss-120b"


def token_samples(gateway: ServerThread) -> dict[str, float]:
    """``ocigate_tokens_total`` of MODEL by type, as /metrics shows it."""
    text = httpx.get(f"{gateway.url}/metrics").text
    return {
        sample.labels["type"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ocigate_tokens_total" and sample.labels["model"] == MODEL
    }


def expected(usages: list[openai.types.CompletionUsage]) -> dict[str, float]:
    totals = {"prompt": 0.0, "completion": 0.0, "reasoning": 0.0, "cached": 0.0}
    for usage in usages:
        totals["prompt"] += usage.prompt_tokens
        totals["completion"] += usage.completion_tokens
        details = usage.completion_tokens_details
        totals["reasoning"] += (details.reasoning_tokens or 0) if details else 0
        cached = usage.prompt_tokens_details
        totals["cached"] += (cached.cached_tokens or 0) if cached else 0
    return {kind: value for kind, value in totals.items() if value}  # a type never counted has no sample


def test_the_tokens_of_each_answer_reach_the_metrics(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    gateway, _ = gateway_factory(
        {
            "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
            "ORACLE_API_KEY": CHICAGO_KEY,
            "ORACLE_REGION": "us-chicago-1",
            "ORACLE_MODELS": MODELS,
        }
    )
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", max_retries=0)
    assert token_samples(gateway) == {}

    whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Count to five."}])
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Name three colours, please."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    streamed = [chunk.usage for chunk in stream if chunk.usage is not None]
    assert whole.usage is not None and len(streamed) == 1
    want = expected([whole.usage, *streamed])
    assert want["prompt"] > 0 and want["completion"] > 0

    deadline = time.monotonic() + 5  # a request is settled once its reply is out: poll briefly
    while token_samples(gateway) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    assert token_samples(gateway) == want
