"""The gateway's translations against the emulator: an OpenAI request translated to OCI is accepted by the native
endpoint, and its answer translated back matches what Oracle's OpenAI-compatible path answers to the same request.

The emulator is strict where Oracle is said to be (doc §3.4): content arrays, upper-case reasoningEffort, no
``$ref``/``anyOf`` in tool schemas, ``isStrict`` not ``strict``, Python type names in Cohere tools; so these tests
also prove the translation respects those rules."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ocigate.catalog.models import find_model
from ocigate.core.sse import SSEParser
from ocigate.emulator import DEFAULT_KEY
from ocigate.translate.oracle.chat import api_format_for, from_oci_chat_response, to_oci_chat_request
from ocigate.translate.oracle.embed import (
    embedding_format,
    from_oci_embed_results,
    from_oci_rerank_result,
    rerank_documents,
    to_oci_embed_requests,
    to_oci_rerank_request,
)
from ocigate.translate.oracle.serving import ServingMode
from ocigate.translate.oracle.stream import OciStreamTranslator
from tests.support.native import COMPARTMENT, REGION
from tests.support.servers import ServerThread

BEARER = {"Authorization": f"Bearer {DEFAULT_KEY}"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {
            "$defs": {"Place": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            "type": "object",
            "properties": {
                "place": {"$ref": "#/$defs/Place"},
                "unit": {"anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}]},
            },
            "required": ["place", "unit"],
        },
    },
}


def native(url: str, request: dict[str, Any], model_id: str) -> dict[str, Any]:
    details = to_oci_chat_request(
        request,
        model_id=model_id,
        compartment_id=COMPARTMENT,
        serving=ServingMode.for_target(model_id),
        model=find_model(model_id),
    )
    answer = httpx.post(url + "/20231130/actions/chat", json=details, headers=BEARER, timeout=10)
    assert answer.status_code == 200, answer.text
    return from_oci_chat_response(answer.json(), model=request["model"], completion_id="chatcmpl-x", created=1)


def native_stream(url: str, request: dict[str, Any], model_id: str) -> list[dict[str, Any]]:
    body = {**request, "stream": True}
    details = to_oci_chat_request(
        body,
        model_id=model_id,
        compartment_id=COMPARTMENT,
        serving=ServingMode.on_demand(model_id),
        model=find_model(model_id),
    )
    options = body.get("stream_options")
    translator = OciStreamTranslator(
        api_format_for(find_model(model_id), model_id),
        model=request["model"],
        completion_id="chatcmpl-x",
        created=1,
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
    )
    parser = SSEParser()
    chunks: list[dict[str, Any]] = []
    with httpx.stream("POST", url + "/20231130/actions/chat", json=details, headers=BEARER, timeout=10) as answer:
        assert answer.status_code == 200
        for read in answer.iter_bytes():
            for event in parser.feed(read):
                chunks.extend(translator.feed(event.data))
    chunks.extend(translator.finish())
    return chunks


def compat(url: str, request: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(url + "/20231130/actions/v1/chat/completions", json=request, headers=BEARER, timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def assembled(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"])
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []) if chunk["choices"] else []:
            entry = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] = call.get("id", entry["id"])
            entry["name"] += call.get("function", {}).get("name", "")
            entry["arguments"] += call.get("function", {}).get("arguments", "")
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    usage = [c["usage"] for c in chunks if not c["choices"]]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    return {"content": content, "reasoning": reasoning, "calls": calls, "finishes": finishes, "usage": usage}


@pytest.mark.parametrize("model_id", ["meta.llama-3.3-70b-instruct", "openai.gpt-oss-120b", "xai.grok-4"])
def test_text_matches_the_compatible_path(native_emulator: ServerThread, model_id: str) -> None:
    request = {"model": model_id, "messages": [{"role": "user", "content": "Hello there"}], "reasoning_effort": "low"}
    ours = native(native_emulator.url, request, model_id)
    theirs = compat(native_emulator.url, {**request, "max_tokens": 4096})
    assert ours["choices"][0]["message"] == theirs["choices"][0]["message"]
    assert ours["choices"][0]["finish_reason"] == theirs["choices"][0]["finish_reason"] == "stop"
    assert ours["usage"] == theirs["usage"]
    streamed = assembled(
        native_stream(native_emulator.url, {**request, "stream_options": {"include_usage": True}}, model_id)
    )
    assert streamed["content"] == ours["choices"][0]["message"]["content"]
    assert streamed["reasoning"] == ours["choices"][0]["message"].get("reasoning_content", "")
    assert streamed["finishes"] == ["stop"] and streamed["usage"] == [ours["usage"]]


def test_generic_tool_round(native_emulator: ServerThread) -> None:
    model_id = "meta.llama-3.3-70b-instruct"
    first = {"model": "llama", "messages": [{"role": "user", "content": "Weather?"}], "tools": [WEATHER]}
    answer = native(native_emulator.url, first, model_id)
    message = answer["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    call = message["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"place": {"city": "sample"}, "unit": "c"}
    streamed = assembled(native_stream(native_emulator.url, first, model_id))
    assert [c["name"] for c in streamed["calls"].values()] == ["get_weather"]
    assert json.loads(streamed["calls"][0]["arguments"]) == json.loads(call["function"]["arguments"])
    second = {
        **first,
        "messages": [*first["messages"], message, {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}],
    }
    final = native(native_emulator.url, second, model_id)
    assert final["choices"][0]["message"]["content"] == "The tool returned: sunny"


@pytest.mark.parametrize("model_id", ["cohere.command-r-08-2024", "cohere.command-a-reasoning-08-2025"])
def test_cohere_tool_round(native_emulator: ServerThread, model_id: str) -> None:
    system = {"role": "system", "content": "Be helpful."}
    first = {"model": "cohere", "messages": [system, {"role": "user", "content": "Weather?"}], "tools": [WEATHER]}
    answer = native(native_emulator.url, first, model_id)
    message = answer["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    call = message["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and call["id"].startswith("call_")
    streamed = assembled(native_stream(native_emulator.url, first, model_id))
    assert streamed["finishes"] == ["tool_calls"]
    if api_format_for(find_model(model_id), model_id) == "COHERE":
        assert streamed["calls"][0]["id"] == call["id"]  # synthesised ids are stable across stream and JSON
    results = [{"role": "tool", "tool_call_id": call["id"], "content": '{"sky": "clear"}'}]
    second = {**first, "messages": [*first["messages"], message, *results]}
    final = native(native_emulator.url, second, model_id)
    prefix, _, output = final["choices"][0]["message"]["content"].partition(": ")
    assert prefix == "The tool returned" and json.loads(output) == {"sky": "clear"}


def test_cohere_text_stream_is_not_doubled(native_emulator: ServerThread) -> None:
    model_id = "cohere.command-r-plus-08-2024"
    request = {"model": "c", "messages": [{"role": "user", "content": "Hi"}], "stream_options": {"include_usage": True}}
    streamed = assembled(native_stream(native_emulator.url, request, model_id))
    assert streamed["content"] == f"Hello from {model_id} in {REGION}. You said: Hi"
    assert streamed["finishes"] == ["stop"] and len(streamed["usage"]) == 1


def test_json_schema_and_vision(native_emulator: ServerThread) -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        "required": ["n"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    for model_id in ("meta.llama-4-scout-17b-16e-instruct", "cohere.command-a-vision-07-2025"):
        request = {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "n?"}, image]}],
            "response_format": fmt,
        }
        answer = native(native_emulator.url, request, model_id)
        assert json.loads(answer["choices"][0]["message"]["content"]) == {"n": 1}


def test_embeddings_and_rerank(native_emulator: ServerThread) -> None:
    model_id = "cohere.embed-english-light-v3.0"
    request = {"model": "e", "input": [f"text {i}" for i in range(100)], "encoding_format": "base64"}
    bodies = to_oci_embed_requests(
        request, model_id=model_id, compartment_id=COMPARTMENT, serving=ServingMode.on_demand(model_id)
    )
    results = []
    for body in bodies:
        answer = httpx.post(native_emulator.url + "/20231130/actions/embedText", json=body, headers=BEARER)
        assert answer.status_code == 200, answer.text
        results.append(answer.json())
    joined = from_oci_embed_results(results, model="e", encoding_format=embedding_format(request))
    assert [d["index"] for d in joined["data"]] == list(range(100))
    assert len(joined["data"][0]["embedding"]) == 384 * 4 * 4 // 3  # base64 of 384 float32
    assert joined["usage"]["prompt_tokens"] == 200
    rerank = {
        "model": "r",
        "query": "red apple",
        "documents": ["a red apple", {"text": "a green pear"}],
        "return_documents": True,
    }
    body = to_oci_rerank_request(
        rerank, compartment_id=COMPARTMENT, serving=ServingMode.on_demand("cohere.rerank-v3.5")
    )
    answer = httpx.post(native_emulator.url + "/20231130/actions/rerankText", json=body, headers=BEARER)
    assert answer.status_code == 200, answer.text
    ranked = from_oci_rerank_result(answer.json(), model="r", return_documents=True, documents=rerank_documents(rerank))
    assert [r["index"] for r in ranked["results"]] == [0, 1]
    assert ranked["results"][0]["document"] == {"text": "a red apple"}
