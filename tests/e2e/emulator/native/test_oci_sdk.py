"""Oracle's own Python SDK against the emulator's native surfaces, signed with a user principal: the SDK builds
the requests, signs them and parses the replies (its own SSE client included), so what passes here is what the
SDK accepts from Oracle."""

from __future__ import annotations

import json
import math
from typing import Any

import oci  # type: ignore[import-untyped]
import pytest
from oci.generative_ai_inference import models as m  # type: ignore[import-untyped]

from ocigate.emulator.native_models import model_ocid
from tests.support.native import COMPARTMENT, ENDPOINT, OTHER_COMPARTMENT, REGION

LLAMA = "meta.llama-3.3-70b-instruct"
COMMAND_R = "cohere.command-r-08-2024"
REASONING = "cohere.command-a-reasoning-08-2025"


def reply_to(model: str, said: str) -> str:
    """The emulator's deterministic reply, the same on the OpenAI-compatible path."""
    return f"Hello from {model} in {REGION}. You said: {said}"


def details(request: Any, model: str = LLAMA, compartment: str = COMPARTMENT) -> Any:
    return m.ChatDetails(
        compartment_id=compartment, serving_mode=m.OnDemandServingMode(model_id=model), chat_request=request
    )


def generic(text: str, **kwargs: Any) -> Any:
    return m.GenericChatRequest(messages=[m.UserMessage(content=[m.TextContent(text=text)])], **kwargs)


def events(response: Any) -> list[dict[str, Any]]:
    return [json.loads(event.data) for event in response.data.events()]


def test_generic_chat(inference: Any) -> None:
    result = inference.chat(details(generic("Hi there", max_tokens=100))).data
    assert result.model_id == LLAMA
    response = result.chat_response
    assert response.api_format == "GENERIC"
    choice = response.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "ASSISTANT"
    assert choice.message.content[0].text == reply_to(LLAMA, "Hi there")
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    assert response.time_created.year >= 2024


def test_generic_stream_has_pad_and_no_done(inference: Any) -> None:
    response = inference.chat(details(generic("Hi there", max_tokens=100, is_stream=True)))
    assert response.headers["content-type"] == "text/event-stream"
    received = events(response)
    assert all("pad" in e and "apiFormat" not in e for e in received)
    assert received[-1].keys() == {"finishReason", "pad"} and received[-1]["finishReason"] == "stop"
    text = "".join(e["message"]["content"][0]["text"] for e in received[:-1])
    assert text == reply_to(LLAMA, "Hi there")


def test_generic_stream_usage_on_the_last_event(inference: Any) -> None:
    request = generic("Hi", max_tokens=100, is_stream=True, stream_options=m.StreamOptions(is_include_usage=True))
    last = events(inference.chat(details(request)))[-1]
    assert last["finishReason"] == "stop" and last["usage"]["totalTokens"] > 0


def test_generic_default_budget_is_tiny(inference: Any) -> None:
    said = " ".join(["word"] * 30)
    choice = inference.chat(details(generic(said))).data.chat_response.choices[0]
    assert choice.finish_reason == "length"
    assert len(choice.message.content[0].text.split()) == 20


def test_generic_tool_call(inference: Any) -> None:
    tool = m.FunctionDefinition(
        name="get_weather",
        description="Weather.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    request = generic("Weather in Paris?", max_tokens=100, tools=[tool])
    choice = inference.chat(details(request)).data.chat_response.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.name == "get_weather" and call.id.startswith("call_")
    assert json.loads(call.arguments) == {"city": "sample"}


def test_generic_reasoning_model(inference: Any) -> None:
    request = generic("Hi", max_completion_tokens=200, reasoning_effort="LOW")
    message = inference.chat(details(request, model="openai.gpt-oss-120b")).data.chat_response.choices[0].message
    assert len(message.reasoning_content.split()) == 8
    assert message.content[0].text == reply_to("openai.gpt-oss-120b", "Hi")


def test_cohere_chat_with_history(inference: Any) -> None:
    request = m.CohereChatRequest(
        message="Where is it?",
        chat_history=[m.CohereUserMessage(message="Hi"), m.CohereChatBotMessage(message="Ahoy")],
        preamble_override="You are a pirate.",
        max_tokens=100,
    )
    response = inference.chat(details(request, model="cohere.command-latest")).data.chat_response
    assert response.api_format == "COHERE"
    assert response.text == reply_to(COMMAND_R, "Where is it?")
    assert response.finish_reason == "COMPLETE"
    assert [h.role for h in response.chat_history] == ["USER", "CHATBOT", "USER", "CHATBOT"]
    assert response.chat_history[-1].message == response.text


def test_cohere_stream_repeats_the_text_at_the_end(inference: Any) -> None:
    request = m.CohereChatRequest(message="Hi", max_tokens=100, is_stream=True)
    received = events(inference.chat(details(request, model=COMMAND_R)))
    assert all(e["apiFormat"] == "COHERE" and "pad" in e for e in received)
    deltas, last = received[:-1], received[-1]
    assert "".join(e["text"] for e in deltas) == last["text"] == reply_to(COMMAND_R, "Hi")
    assert last["finishReason"] == "COMPLETE" and last["chatHistory"][-1]["role"] == "CHATBOT"
    assert all("finishReason" not in e for e in deltas)


def test_cohere_tool_call_has_no_id(inference: Any) -> None:
    tool = m.CohereTool(
        name="get_time",
        description="Time in a zone.",
        parameter_definitions={"zone": m.CohereParameterDefinition(type="str", description="tz", is_required=True)},
    )
    request = m.CohereChatRequest(message="Time?", tools=[tool], max_tokens=100)
    response = inference.chat(details(request, model=COMMAND_R)).data.chat_response
    assert [(c.name, c.parameters) for c in response.tool_calls] == [("get_time", {"zone": "sample"})]


def test_cohere_v2_reasoning(inference: Any) -> None:
    request = m.CohereChatRequestV2(
        messages=[m.CohereUserMessageV2(content=[m.CohereTextContentV2(text="Hi")])], max_tokens=200
    )
    response = inference.chat(details(request, model=REASONING)).data.chat_response
    assert response.api_format == "COHEREV2"
    kinds = [c.type for c in response.message.content]
    assert kinds == ["THINKING", "TEXT"]
    assert response.message.content[1].text == reply_to(REASONING, "Hi")
    assert response.finish_reason == "COMPLETE"


def test_cohere_v2_stream(inference: Any) -> None:
    request = m.CohereChatRequestV2(
        messages=[m.CohereUserMessageV2(content=[m.CohereTextContentV2(text="Hi")])], max_tokens=200, is_stream=True
    )
    received = events(inference.chat(details(request, model=REASONING)))
    texts = [c["text"] for e in received[:-1] for c in e["message"]["content"] if c["type"] == "TEXT"]
    assert "".join(texts) == reply_to(REASONING, "Hi")
    assert received[-1]["finishReason"] == "COMPLETE"


def test_cohere_model_refuses_generic(inference: Any) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        inference.chat(details(generic("Hi", max_tokens=10), model=COMMAND_R))
    assert caught.value.status == 400


def test_dedicated_endpoint_and_model_ocid(inference: Any) -> None:
    dedicated = m.ChatDetails(
        compartment_id=COMPARTMENT,
        serving_mode=m.DedicatedServingMode(endpoint_id=ENDPOINT),
        chat_request=generic("Hi", max_tokens=100),
    )
    assert inference.chat(dedicated).data.model_id == LLAMA
    by_ocid = inference.chat(details(generic("Hi", max_tokens=100), model=model_ocid(REGION, LLAMA)))
    assert by_ocid.data.model_id == LLAMA
    unknown = m.ChatDetails(
        compartment_id=COMPARTMENT,
        serving_mode=m.DedicatedServingMode(endpoint_id=ENDPOINT + "x"),
        chat_request=generic("Hi", max_tokens=100),
    )
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        inference.chat(unknown)
    assert (caught.value.status, caught.value.code) == (404, "NotAuthorizedOrNotFound")


def test_compartment_outside_the_policy(inference: Any) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        inference.chat(details(generic("Hi", max_tokens=10), compartment=OTHER_COMPARTMENT))
    assert (caught.value.status, caught.value.code) == (404, "NotAuthorizedOrNotFound")


def test_embed_text(inference: Any) -> None:
    request = m.EmbedTextDetails(
        inputs=["alpha", "beta", "alpha"],
        serving_mode=m.OnDemandServingMode(model_id="cohere.embed-english-v3.0"),
        compartment_id=COMPARTMENT,
        input_type="SEARCH_DOCUMENT",
    )
    result = inference.embed_text(request).data
    vectors = result.embeddings
    assert len(vectors) == 3 and all(len(v) == 1024 for v in vectors)
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-9)
    assert vectors[0] == vectors[2] != vectors[1]
    assert result.model_id == "cohere.embed-english-v3.0"


def test_embed_text_v4_dimensions_and_the_96_limit(inference: Any) -> None:
    serving = m.OnDemandServingMode(model_id="cohere.embed-v4.0")
    small = m.EmbedTextDetails(inputs=["x"], serving_mode=serving, compartment_id=COMPARTMENT, output_dimensions=256)
    assert len(inference.embed_text(small).data.embeddings[0]) == 256
    many = m.EmbedTextDetails(inputs=["x"] * 97, serving_mode=serving, compartment_id=COMPARTMENT)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        inference.embed_text(many)
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")


def test_rerank_text(inference: Any) -> None:
    request = m.RerankTextDetails(
        input="capital of France",
        documents=["Berlin is in Germany.", "Paris is the capital of France.", "France has wine."],
        serving_mode=m.OnDemandServingMode(model_id="cohere.rerank-v3.5"),
        compartment_id=COMPARTMENT,
        top_n=2,
        is_echo=True,
    )
    ranks = inference.rerank_text(request).data.document_ranks
    assert [r.index for r in ranks] == [1, 2]
    assert ranks[0].relevance_score > ranks[1].relevance_score
    assert ranks[0].document.text == "Paris is the capital of France."


def test_list_models_paginated(management: Any) -> None:
    everything = management.list_models(compartment_id=COMPARTMENT, limit=1000).data.items
    first = management.list_models(compartment_id=COMPARTMENT, limit=5)
    assert len(first.data.items) == 5 and first.headers.get("opc-next-page")
    paged = oci.pagination.list_call_get_all_results(management.list_models, compartment_id=COMPARTMENT, limit=7).data
    assert [s.id for s in paged] == [s.id for s in everything]
    assert {s.lifecycle_state for s in everything} == {"ACTIVE", "DELETED"}
    active = oci.pagination.list_call_get_all_results(
        management.list_models, compartment_id=COMPARTMENT, lifecycle_state="ACTIVE", limit=10
    ).data
    assert active and all(s.lifecycle_state == "ACTIVE" for s in active)
    assert len(active) == len(everything) - 2
    llama = next(s for s in active if s.display_name == LLAMA)
    assert llama.id == model_ocid(REGION, LLAMA) and llama.capabilities == ["CHAT"] and llama.vendor == "meta"


def test_list_models_filters(management: Any) -> None:
    embeddings = management.list_models(compartment_id=COMPARTMENT, capability=["TEXT_EMBEDDINGS"]).data.items
    assert embeddings and all(s.capabilities == ["TEXT_EMBEDDINGS"] for s in embeddings)
    rerank = management.list_models(
        compartment_id=COMPARTMENT, capability=["TEXT_RERANK"], sort_by="displayName", sort_order="ASC"
    ).data.items
    names = [s.display_name for s in rerank]
    assert names == sorted(names) and names[0] == "cohere.rerank-v3.5"
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        management.list_models(compartment_id=OTHER_COMPARTMENT)
    assert caught.value.status == 404
