"""The Responses API through the OpenAI SDK: plain, reasoning, function calls and the event stream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam

from tests.support.emulator import COMPAT, OPENAI, PROJECT, auth

OSS = "openai.gpt-oss-120b"
GROK = "xai.grok-3"
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "strict": None,
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}


def test_plain_response(emu_project_client: openai.OpenAI) -> None:
    response = emu_project_client.responses.create(model=GROK, input="Hi there", instructions="Be brief.")
    text = f"Hello from {GROK} in us-chicago-1. You said: Hi there"
    assert response.id.startswith("resp_") and response.object == "response" and response.status == "completed"
    assert response.model == GROK and response.output_text == text
    [message] = response.output
    assert message.type == "message" and message.id.startswith("msg_") and message.status == "completed"
    assert message.role == "assistant" and message.content[0].type == "output_text"
    assert message.content[0].text == text and message.content[0].annotations == []
    usage = response.usage
    assert usage is not None
    # "Be brief." and "Hi there": 4 words plus one per message.
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (6, 9, 15)
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens == 0


def test_reasoning_item_comes_first(emu_client: openai.OpenAI) -> None:
    response = emu_client.responses.create(model=OSS, input="Hi", reasoning={"effort": "low"})
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    assert len(reasoning.summary[0].text.split()) == 8 and reasoning.summary[0].type == "summary_text"
    assert message.type == "message"
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens == 8


def test_list_input_with_parts(emu_client: openai.OpenAI) -> None:
    response = emu_client.responses.create(
        model=GROK,
        input=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "noted"},
            {"role": "user", "content": [{"type": "input_text", "text": "Reply with the single word Done."}]},
        ],
    )
    assert response.output_text == "Done"
    assert response.usage is not None and response.usage.input_tokens == 2 + 6 + 3


def test_max_output_tokens_makes_it_incomplete(emu_client: openai.OpenAI) -> None:
    response = emu_client.responses.create(model=GROK, input="Hi", max_output_tokens=2)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Hello from"
    spent = emu_client.responses.create(model=OSS, input="Hi", max_output_tokens=5)
    assert spent.status == "incomplete" and [item.type for item in spent.output] == ["reasoning"]


def test_meta_models_have_no_responses_api(emu_http: httpx.Client) -> None:
    body = {"model": "meta.llama-3.3-70b-instruct", "input": "Hi"}
    response = emu_http.post(OPENAI + "/responses", json=body, headers=auth(project=PROJECT))
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert "does not support the Responses API" in response.json()["message"]
    cohere = emu_http.post(COMPAT + "/responses", json={**body, "model": "cohere.command-a-03-2025"}, headers=auth())
    assert cohere.status_code == 404


def test_function_call_over_two_turns(emu_client: openai.OpenAI) -> None:
    history: list[Any] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = emu_client.responses.create(model=GROK, input=history, tools=[WEATHER])
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather" and call.status == "completed"
    assert call.call_id.startswith("call_") and json.loads(call.arguments) == {"city": "sample", "days": 1}
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "snow"})
    second = emu_client.responses.create(model=GROK, input=history, tools=[WEATHER])
    assert second.output_text == "The tool returned: snow"


def test_function_call_output_must_answer_a_call(emu_http: httpx.Client) -> None:
    items = [{"role": "user", "content": "x"}, {"type": "function_call_output", "call_id": "call_x", "output": "1"}]
    response = emu_http.post(COMPAT + "/responses", json={"model": GROK, "input": items}, headers=auth())
    assert response.status_code == 400 and "call_x" in response.json()["message"]


def test_sdk_stream_helper(emu_client: openai.OpenAI) -> None:
    whole = emu_client.responses.create(model=OSS, input="Hi", reasoning={"effort": "low"})
    with emu_client.responses.stream(model=OSS, input="Hi", reasoning={"effort": "low"}) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    expected_tail = [
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 8,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert kinds[-len(expected_tail) :] == expected_tail
    assert kinds.count("response.reasoning_summary_text.delta") == 8
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text == final.output_text
    assert [item.type for item in final.output] == ["reasoning", "message"]


async def test_async_stream_with_a_function_call(emu_aclient: openai.AsyncOpenAI) -> None:
    stream: Any = await emu_aclient.responses.create(model=GROK, input="Weather?", tools=[WEATHER], stream=True)
    events: list[Any] = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds.count("response.function_call_arguments.delta") in (2, 3)
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert deltas == done.arguments and json.loads(deltas) == {"city": "sample", "days": 1}
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output[0].type == "function_call"


def test_raw_stream_frames(emu_http: httpx.Client) -> None:
    body = {"model": GROK, "input": "Hi", "stream": True, "max_output_tokens": 3}
    with emu_http.stream("POST", COMPAT + "/responses", json=body, headers=auth()) as response:
        text = response.read().decode()
    frames = [frame for frame in text.split("\n\n") if frame]
    for frame in frames:
        event_line, data_line = frame.split("\n")
        assert event_line[len("event: ") :] == json.loads(data_line[len("data: ") :])["type"]
    assert "[DONE]" not in text
    assert json.loads(frames[-1].split("\n")[1][6:])["type"] == "response.incomplete"


@pytest.mark.parametrize("bad", [{"input": ""}, {"input": []}, {}, {"input": [{"type": "image_generation_call"}]}])
def test_input_validation(emu_http: httpx.Client, bad: dict[str, Any]) -> None:
    response = emu_http.post(COMPAT + "/responses", json={"model": GROK, **bad}, headers=auth())
    assert response.status_code == 400 and response.json()["code"] in ("InvalidParameter", "MissingParameter")
