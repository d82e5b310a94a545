"""The Responses API passed through to Oracle's /responses."""

from __future__ import annotations

import openai
import pytest


def test_responses_non_streaming(client: openai.OpenAI) -> None:
    response = client.responses.create(model="openai.gpt-oss-120b", input="Reply with the single word ok.")
    assert response.output_text == "ok"
    assert response.usage is not None and response.usage.output_tokens > 0


def test_responses_streaming_event_sequence(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="xai.grok-3", input="stream this please", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert "stream this please" in text
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_meta_models_refuse_responses_with_a_clear_message(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="meta.llama-3.3-70b-instruct", input="hi")
    assert "Responses" in caught.value.message


def test_missing_input_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/responses", body={"model": "xai.grok-3"}, cast_to=object)
    assert caught.value.body["param"] == "input"
