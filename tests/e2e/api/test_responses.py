"""The Responses API on every model, with the gateway's own store."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.servers import CHICAGO_KEY, GatewayFactory, ServerThread, access_lines

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


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


@pytest.mark.parametrize("model", ["meta.llama-3.3-70b-instruct", "xai.grok-3"])
def test_meta_models_answer_responses_through_chat(client: openai.OpenAI, model: str) -> None:
    # Oracle refuses /responses for Meta models; the gateway translates to Chat Completions and back.
    response = client.responses.create(model=model, input="Reply with the single word ok.", instructions="Be brief.")
    assert response.output_text == "ok" and response.status == "completed" and response.model == model
    with client.responses.stream(model=model, input="tell me something") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text and "tell me something" in final.output_text


def test_previous_response_id_continues_the_conversation(client: openai.OpenAI) -> None:
    first = client.responses.create(model="meta.llama-3.3-70b-instruct", input="My name is Ada.")
    second = client.responses.create(
        model="meta.llama-3.3-70b-instruct", input="Reply with the single word fine.", previous_response_id=first.id
    )
    assert second.output_text == "fine"
    items = client.responses.input_items.list(second.id)
    assert [item.type for item in items.data] == ["message"]
    assert client.responses.retrieve(first.id).output_text == first.output_text


def test_function_calls_over_two_turns_with_previous_response_id(client: openai.OpenAI) -> None:
    for model in ("meta.llama-3.3-70b-instruct", "openai.gpt-oss-120b"):
        first = client.responses.create(model=model, input="Weather in Chicago?", tools=TOOLS)  # type: ignore[arg-type]
        calls = [item for item in first.output if item.type == "function_call"]
        assert calls and calls[0].name == "get_weather", model
        second = client.responses.create(
            model=model,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "21 C and sunny"}],
            tools=TOOLS,  # type: ignore[arg-type]
        )
        assert "21 C and sunny" in second.output_text, model


def test_streaming_function_call_through_chat(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="meta.llama-3.3-70b-instruct",
        input="Weather in Paris?",
        tools=TOOLS,  # type: ignore[arg-type]
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in types and "response.function_call_arguments.done" in types
    (call,) = [item for item in final.output if item.type == "function_call"]
    assert call.name == "get_weather" and '"city"' in call.arguments


def test_delete_and_store_false(client: openai.OpenAI) -> None:
    kept = client.responses.create(model="xai.grok-3", input="keep me")
    client.responses.delete(kept.id)  # returns nothing (the SDK reads no body) and raises unless the answer is a 2xx
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept.id)
    unstored = client.responses.create(model="meta.llama-3.3-70b-instruct", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="xai.grok-3", input="hi", previous_response_id=unstored.id)
    assert "not stored" in caught.value.message


def test_stored_responses_survive_a_restart(
    emulator: ServerThread, gateway_factory: GatewayFactory, tmp_path: object
) -> None:
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": CHICAGO_KEY,
        "ORACLE_MODELS": "meta.llama-3.3-70b-instruct",
        "OCIGATE_DATA_DIR": str(tmp_path),
    }
    first_server, _ = gateway_factory(env)
    created = openai.OpenAI(base_url=f"{first_server.url}/v1", api_key="x").responses.create(
        model="meta.llama-3.3-70b-instruct", input="remember this"
    )
    first_server.stop()
    second_server, _ = gateway_factory(env)
    again = openai.OpenAI(base_url=f"{second_server.url}/v1", api_key="x").responses.retrieve(created.id)
    assert again.output_text == created.output_text


def test_missing_input_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/responses", body={"model": "xai.grok-3"}, cast_to=object)
    assert caught.value.body["param"] == "input"  # type: ignore[index]


def test_unknown_stored_response_is_a_404(gateway: ServerThread) -> None:
    headers = {"Authorization": "Bearer gw-master-key"}
    assert httpx.get(f"{gateway.url}/v1/responses/resp_nope", headers=headers).status_code == 404
    assert httpx.delete(f"{gateway.url}/v1/responses/resp_nope", headers=headers).status_code == 404


def test_responses_are_in_the_access_log(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": CHICAGO_KEY,
        "ORACLE_MODELS": "meta.llama-3.3-70b-instruct",
    }
    server, app = gateway_factory(env)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    raw = client.responses.with_raw_response.create(model="meta.llama-3.3-70b-instruct", input="hello")
    list(client.responses.create(model="meta.llama-3.3-70b-instruct", input="hello", stream=True))
    lines = access_lines(app, "path=/v1/responses", 2)
    assert len(lines) == 2 and f"request_id={raw.headers['x-request-id']}" in lines[0]
    assert "stream=no status=200" in lines[0] and "stream=yes status=200" in lines[1]
    assert f"opc-request-id={raw.headers['opc-request-id']}" in lines[0]
