"""The official ``openai`` SDK through the gateway to Oracle's native API, signed as a user principal: every model
family, streaming and not, tools across several turns, a dedicated endpoint and the Responses API."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionFunctionToolParam

from ocigate.app.runtime import Gateway
from tests.support.iam import COMMAND_R_OCID, REGION
from tests.support.servers import ServerThread

CHAT_MODELS = [
    "cohere.command-r-08-2024",
    "cohere.command-a-03-2025",
    "meta.llama-3.3-70b-instruct",
    "openai.gpt-oss-120b",
    "xai.grok-4",
    "google.gemini-2.5-flash",
]
WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def reply(model: str, said: str) -> str:
    return f"Hello from {model} in {REGION}. You said: {said}"


@pytest.fixture
def sdk(iam_gateway: tuple[ServerThread, Gateway]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{iam_gateway[0].url}/v1", api_key="gw-key", max_retries=0)


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_chat_and_stream(sdk: openai.OpenAI, model: str) -> None:
    messages: list[Any] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    raw = sdk.chat.completions.with_raw_response.create(model=model, messages=messages)
    assert raw.headers["x-ocigate-provider"] == "oci" and raw.headers["opc-request-id"]
    completion = raw.parse()
    assert completion.model == model and completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == reply(model, "Hi there")
    assert completion.choices[0].finish_reason == "stop" and completion.usage and completion.usage.total_tokens > 0

    stream = sdk.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply(model, "Hi there")
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.total_tokens > 0

    plain = list(sdk.chat.completions.create(model=model, messages=messages, stream=True))
    assert all(c.usage is None for c in plain) and all(c.choices for c in plain)


@pytest.mark.parametrize("model", ["cohere.command-r-08-2024", "meta.llama-3.3-70b-instruct", "xai.grok-4"])
@pytest.mark.parametrize("stream", [False, True])
def test_tools_across_turns(sdk: openai.OpenAI, model: str, stream: bool) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    for turn in range(2):
        if stream:
            chunks = list(sdk.chat.completions.create(model=model, messages=messages, tools=[WEATHER], stream=True))
            calls: dict[int, dict[str, str]] = {}
            for chunk in chunks:
                for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                    entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                    entry["id"] = delta.id or entry["id"]
                    entry["name"] += (delta.function.name or "") if delta.function else ""
                    entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
            finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason][0]
            tool_calls: list[dict[str, Any]] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls.values()
            ]
        else:
            choice = sdk.chat.completions.create(model=model, messages=messages, tools=[WEATHER]).choices[0]
            finish = choice.finish_reason
            tool_calls = [c.model_dump() for c in choice.message.tool_calls or []]
        assert finish == "tool_calls", turn
        (call,) = tool_calls
        assert call["function"]["name"] == "get_weather" and call["id"]
        assert json.loads(call["function"]["arguments"]) == {"city": "sample"}
        messages += [
            {"role": "assistant", "content": None, "tool_calls": tool_calls},
            {"role": "tool", "tool_call_id": call["id"], "content": f"sunny, turn {turn}"},
            {"role": "user", "content": "And tomorrow?"},
        ]
    messages.pop()  # end on the tool result: the model answers with it
    final = sdk.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
    assert final.choices[0].finish_reason == "stop"
    content = final.choices[0].message.content or ""
    # Cohere takes tool output as JSON objects: plain text travels as {"output": ...}.
    assert content.startswith("The tool returned: ") and "sunny, turn 1" in content


def test_dedicated_endpoint_under_an_operator_name(sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(model="team-command-r", messages=[{"role": "user", "content": "Hi"}])
    assert answer.model == "team-command-r"
    assert answer.choices[0].message.content == reply("cohere.command-r-08-2024", "Hi")
    hi: list[Any] = [{"role": "user", "content": "Hi"}]
    streamed = sdk.chat.completions.create(model="team-command-r", messages=hi, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == reply(
        "cohere.command-r-08-2024", "Hi"
    )


def test_model_ocid_runs_on_demand_in_its_models_format(sdk: openai.OpenAI) -> None:
    # A Cohere model named by its OCID: discovery tells the gateway which model it is, hence COHERE's format.
    answer = sdk.chat.completions.create(model=COMMAND_R_OCID, messages=[{"role": "user", "content": "Hi"}])
    assert answer.choices[0].message.content == reply("cohere.command-r-08-2024", "Hi")
    card = sdk.models.retrieve(COMMAND_R_OCID)
    assert card.model_dump()["kind"] == "chat" and card.model_dump()["source"] == "configured"


def test_responses_api_over_native_chat(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model="cohere.command-a-03-2025", input="Hi there")
    assert first.output_text == reply("cohere.command-a-03-2025", "Hi there")
    second = sdk.responses.create(model="meta.llama-3.3-70b-instruct", input="Again", previous_response_id=first.id)
    assert second.output_text == reply("meta.llama-3.3-70b-instruct", "Again")


def test_wrong_kind_is_a_clear_400(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="cohere.embed-english-v3.0", messages=[{"role": "user", "content": "Hi"}])
    assert "embeddings model" in caught.value.message and "/v1/embeddings" in caught.value.message
    with pytest.raises(openai.BadRequestError) as wrong:
        sdk.embeddings.create(model="meta.llama-3.3-70b-instruct", input="x")
    assert "chat model" in wrong.value.message and "/v1/chat/completions" in wrong.value.message
