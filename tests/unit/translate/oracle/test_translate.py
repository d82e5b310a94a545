"""The translations' edges that golden files do not show: client mistakes, format choice, odd upstream payloads."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.catalog.models import find_model
from ocigate.core.errors import InvalidRequest, UpstreamError
from ocigate.translate.oracle.chat import api_format_for, from_oci_chat_response, to_oci_chat_request
from ocigate.translate.oracle.embed import (
    embedding_format,
    from_oci_embed_results,
    to_oci_embed_requests,
    to_oci_rerank_request,
)
from ocigate.translate.oracle.messages import parse_arguments
from ocigate.translate.oracle.schema import inline_schema
from ocigate.translate.oracle.serving import ServingMode
from ocigate.translate.oracle.stream import OciStreamTranslator, parse_objects

LLAMA = "meta.llama-3.3-70b-instruct"
COMMAND = "cohere.command-r-08-2024"
SERVING = ServingMode.on_demand(LLAMA)


def translate(request: dict[str, Any], model_id: str = LLAMA) -> dict[str, Any]:
    return to_oci_chat_request(
        request,
        model_id=model_id,
        compartment_id="c",
        serving=ServingMode.on_demand(model_id),
        model=find_model(model_id),
    )


def user(text: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_api_format_for() -> None:
    assert api_format_for(find_model(COMMAND), COMMAND) == "COHERE"
    assert api_format_for(find_model("cohere.command-latest"), "cohere.command-latest") == "COHERE"
    assert api_format_for(find_model("cohere.command-a-vision-07-2025"), "x") == "COHEREV2"
    assert api_format_for(None, "cohere.command-a-reasoning-09-2099") == "COHEREV2"
    assert api_format_for(None, "cohere.command-x") == "COHERE"
    assert api_format_for(None, "ocid1.generativeaiendpoint.oc1..x") == "GENERIC"
    assert api_format_for(find_model("xai.grok-4"), "xai.grok-4") == "GENERIC"


def test_serving_mode() -> None:
    assert ServingMode.for_target("ocid1.generativeaiendpoint.oc1.x").to_json() == {
        "servingType": "DEDICATED",
        "endpointId": "ocid1.generativeaiendpoint.oc1.x",
    }
    assert ServingMode.for_target(LLAMA).to_json() == {"servingType": "ON_DEMAND", "modelId": LLAMA}


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "function", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]}, "messages[0].content[0].text"),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": "u"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content[0].image_url",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "messages[0].content[0].input_audio",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}]},
            "messages[0].content[0].file",
        ),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "assistant", "tool_calls": {}}]}, "messages[0].tool_calls"),
        ({"messages": [{"role": "assistant", "tool_calls": [{"id": 1}]}]}, "messages[0].tool_calls[0]"),
        ({"messages": user(), "tools": {}}, "tools"),
        ({"messages": user(), "tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"messages": user(), "tools": [{"type": "function", "function": {}}]}, "tools[0].function"),
        (
            {"messages": user(), "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
            "tools[0].function.parameters",
        ),
        ({"messages": user(), "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"messages": user(), "tool_choice": "always"}, "tool_choice"),
        ({"messages": user(), "response_format": {"type": "yaml"}}, "response_format"),
        ({"messages": user(), "response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        ({"messages": user(), "reasoning_effort": "max"}, "reasoning_effort"),
        ({"messages": user(), "temperature": "hot"}, "temperature"),
        ({"messages": user(), "max_tokens": 0}, "max_tokens"),
        ({"messages": user(), "seed": True}, "seed"),
        ({"messages": user(), "stop": [1]}, "stop"),
    ],
)
def test_client_mistakes(request_: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(request_)
    assert caught.value.param == param


def test_cohere_mistakes() -> None:
    with pytest.raises(InvalidRequest, match="ends with a user message"):
        translate({"messages": [*user(), {"role": "assistant", "content": "x"}]}, COMMAND)
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}]
    with pytest.raises(InvalidRequest, match="COHEREV2"):
        translate({"messages": image}, COMMAND)
    with pytest.raises(InvalidRequest, match="'n' must be 1"):
        translate({"messages": user(), "n": 2}, COMMAND)
    orphan = [*user(), {"role": "assistant", "content": "x"}, {"role": "tool", "tool_call_id": "c", "content": "r"}]
    with pytest.raises(InvalidRequest, match="tool_call_id 'c'"):
        translate({"messages": orphan}, COMMAND)
    audio = [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}]}]
    with pytest.raises(InvalidRequest, match="no audio content"):
        translate({"messages": audio}, "cohere.command-a-vision-07-2025")


def test_tools_on_a_model_without_them() -> None:
    tool = {"type": "function", "function": {"name": "f"}}
    with pytest.raises(InvalidRequest, match="does not support tool calling"):
        translate({"messages": user(), "tools": [tool]}, "meta.llama-3.2-90b-vision-instruct")


def test_generic_media_and_extras() -> None:
    content = [
        {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA"}},
        {"type": "image_url", "image_url": "https://x/y.png"},
    ]
    messages = [
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
        {"role": "user", "content": content},
    ]
    chat = translate(
        {
            "messages": messages,
            "prediction": {"type": "content", "content": [{"type": "text", "text": "p"}]},
            "metadata": {"k": "v"},
        },
        "meta.llama-4-scout-17b-16e-instruct",
    )["chatRequest"]
    assert chat["messages"][0] == {"role": "ASSISTANT"}
    assert [c["type"] for c in chat["messages"][1]["content"]] == ["AUDIO", "DOCUMENT", "IMAGE"]
    assert chat["prediction"] == {"type": "CONTENT", "content": [{"type": "TEXT", "text": "p"}]}
    assert chat["metadata"] == {"k": "v"}
    assert translate({"messages": user(), "prediction": {"type": "content", "content": "q"}})["chatRequest"][
        "prediction"
    ]
    assert (
        "prediction"
        not in translate({"messages": user(), "prediction": {"type": "content", "content": 1}})["chatRequest"]
    )
    empty_tool = translate({"messages": [{"role": "tool", "tool_call_id": "c", "content": None}]})["chatRequest"]
    assert empty_tool["messages"][0]["content"] == [{"type": "TEXT", "text": ""}]
    dict_args = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]
    chat = translate({"messages": [*user(), {"role": "assistant", "tool_calls": dict_args}]})["chatRequest"]
    assert chat["messages"][1]["toolCalls"][0]["arguments"] == '{"a": 1}'


def test_response_format_variants() -> None:
    text = translate({"messages": user(), "response_format": {"type": "text"}})["chatRequest"]
    assert text["responseFormat"] == {"type": "TEXT"}
    bare = {"type": "json_schema", "json_schema": {"schema": "nope"}}
    assert translate({"messages": user(), "response_format": bare})["chatRequest"]["responseFormat"]["jsonSchema"] == {
        "name": "response",
        "schema": {"type": "object"},
    }
    cohere = translate({"messages": user(), "response_format": {"type": "text"}}, COMMAND)["chatRequest"]
    assert cohere["responseFormat"] == {"type": "TEXT"}
    cohere = translate({"messages": user(), "response_format": bare}, COMMAND)["chatRequest"]
    assert cohere["responseFormat"] == {"type": "JSON_OBJECT", "schema": {"type": "object"}}


def test_cohere_parameter_types() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "number"}, "b": {"type": "boolean"}, "o": {"properties": {}}, "u": {}, "x": "bad"},
    }
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    chat = translate({"messages": user(), "tools": [tool], "tool_choice": "required"}, COMMAND)["chatRequest"]
    definitions = chat["tools"][0]["parameterDefinitions"]
    assert {k: v["type"] for k, v in definitions.items()} == {
        "n": "float",
        "b": "bool",
        "o": "dict",
        "u": "str",
        "x": "str",
    }
    v2 = translate({"messages": user(), "tools": [tool], "tool_choice": "none"}, "cohere.command-a-reasoning-08-2025")
    assert v2["chatRequest"]["toolsChoice"] == "NONE"


def test_parse_arguments() -> None:
    assert parse_arguments("") == {}
    assert parse_arguments("{oops") == {"arguments": "{oops"}
    assert parse_arguments("[1]") == {"arguments": [1]}


def test_inline_schema_edges() -> None:
    assert inline_schema({"properties": {"a": True, "b": False, "c": None}}) == {
        "properties": {"a": {}, "b": {"not": {}}, "c": {}}
    }
    assert inline_schema({"anyOf": [{"type": "null"}]}) == {"type": "null"}
    assert inline_schema({"type": ["null"], "anyOf": []}) == {"type": "null"}
    assert inline_schema({"$ref": "#/definitions/A~1B", "definitions": {"A/B": {"type": "string"}}}) == {
        "type": "string"
    }
    assert inline_schema({"$ref": "http://x"}) == {"type": "object"}
    assert inline_schema(
        {"items": True, "prefixItems": [{"$ref": "#/$defs/X"}], "$defs": {"X": {"type": "integer"}}}
    ) == {
        "items": True,
        "prefixItems": [{"type": "integer"}],
    }
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(80):
        deep = {"type": "array", "items": deep}
    flattened = inline_schema(deep)
    depth = 0
    while "items" in flattened:
        flattened, depth = flattened["items"], depth + 1
    assert depth < 80 and flattened == {"type": "object"}


def test_response_edges() -> None:
    empty = from_oci_chat_response({"chatResponse": "x"}, model="m", completion_id="c", created=1)
    assert empty["choices"] == [] and "usage" not in empty
    odd = {
        "apiFormat": "GENERIC",
        "choices": ["x", {"message": {"toolCalls": ["y", {"name": "f", "arguments": {"a": 1}}]}}],
    }
    choice = from_oci_chat_response(odd, model="m", completion_id="c", created=1)["choices"][0]
    assert choice["index"] == 0 and choice["message"]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'
    assert choice["finish_reason"] == "tool_calls"
    v2 = {
        "apiFormat": "COHEREV2",
        "message": {"toolCalls": [{"function": "bad"}, {"function": {"name": "g", "arguments": {}}}]},
    }
    calls = from_oci_chat_response(v2, model="m", completion_id="c", created=1)["choices"][0]["message"]["tool_calls"]
    assert calls[0]["function"] == {"name": "g", "arguments": "{}"} and calls[0]["id"].startswith("call_")
    cohere = {"apiFormat": "COHERE", "toolCalls": ["z"], "finishReason": 3, "text": "t", "usage": {"promptTokens": 1}}
    result = from_oci_chat_response(cohere, model="m", completion_id="c", created=1)
    assert result["choices"][0]["finish_reason"] == "stop" and result["usage"]["total_tokens"] == 1


def test_stream_edges() -> None:
    assert parse_objects("  \n") == [] and parse_objects("data: {}\n[DONE]") == [{}]
    with pytest.raises(UpstreamError, match="not JSON"):
        parse_objects("{oops")
    with pytest.raises(UpstreamError, match="ended the stream") as caught:
        parse_objects('{"code": "InternalServerError", "message": "boom"}')
    assert caught.value.upstream_code == "InternalServerError"
    translator = OciStreamTranslator("GENERIC", model="m", completion_id="c", created=1, include_usage=False)
    chunks = translator.feed('{"choices": [{"message": {"toolCalls": [{"arguments": "{}"}]}, "finishReason": "stop"}]}')
    assert chunks[0]["choices"][0]["delta"]["tool_calls"][0]["id"].startswith("call_")
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert translator.feed('{"message": {"content": [{"type": "TEXT", "text": "late"}]}}') == []
    assert translator.finish() == []
    v2 = OciStreamTranslator("COHEREV2", model="m", completion_id="c", created=1, include_usage=True)
    assert v2.feed(
        '{"message": {"toolCalls": [{"function": "x"}, {"id": "a", "function": {"name": "f", "arguments": ""}}]}}'
    )
    assert v2.feed('{"message": {"toolCalls": [{"id": "a", "function": {"arguments": ""}}]}}') == []
    assert [c["choices"][0]["finish_reason"] for c in v2.finish()] == ["tool_calls"]


def test_embed_edges() -> None:
    with pytest.raises(InvalidRequest, match="token arrays"):
        to_oci_embed_requests({"input": [[1, 2]]}, model_id="e", compartment_id="c", serving=SERVING)
    with pytest.raises(InvalidRequest, match="non-empty array"):
        to_oci_embed_requests({"input": []}, model_id="e", compartment_id="c", serving=SERVING)
    with pytest.raises(InvalidRequest, match="positive integer"):
        to_oci_embed_requests({"input": "x", "dimensions": 0}, model_id="e", compartment_id="c", serving=SERVING)
    with pytest.raises(InvalidRequest, match="input_type"):
        to_oci_embed_requests({"input": "x", "input_type": "poem"}, model_id="e", compartment_id="c", serving=SERVING)
    with pytest.raises(InvalidRequest, match="encoding_format"):
        embedding_format({"encoding_format": "int8"})
    assert from_oci_embed_results([{"embeddings": "x"}], model="e", encoding_format="float")["data"] == []
    for body, match in (
        ({"documents": ["d"]}, "query"),
        ({"query": "q", "documents": []}, "documents"),
        ({"query": "q", "documents": [1]}, r"documents\[0\]"),
        ({"query": "q", "documents": ["d"], "top_n": 0}, "top_n"),
    ):
        with pytest.raises(InvalidRequest, match=match):
            to_oci_rerank_request(body, compartment_id="c", serving=SERVING)


def test_cohere_history_details() -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    tools = [
        {"type": "function", "function": {"name": "f"}},
        {"type": "function", "function": {"name": "g"}},
    ]
    messages = [
        *user(),
        {"role": "assistant", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "a", "content": "42"},
        {"role": "tool", "tool_call_id": "b", "content": "[1, 2]"},
        *user("next"),
    ]
    choice = {"type": "function", "function": {"name": "g"}}
    chat = translate({"messages": messages, "tools": tools, "tool_choice": choice}, COMMAND)["chatRequest"]
    (tool_entry,) = [h for h in chat["chatHistory"] if h["role"] == "TOOL"]
    assert [r["outputs"] for r in tool_entry["toolResults"]] == [[{"output": 42}], [{"output": [1, 2]}]]
    assert [t["name"] for t in chat["tools"]] == ["g"]
    image = {"type": "image_url", "image_url": {"url": "u", "detail": "low"}}
    v2 = translate({"messages": [{"role": "user", "content": [image]}]}, "cohere.command-a-vision-07-2025")
    assert v2["chatRequest"]["messages"][0]["content"] == [
        {"type": "IMAGE_URL", "imageUrl": {"url": "u", "detail": "LOW"}}
    ]


def test_string_content_in_a_response() -> None:
    raw = {"apiFormat": "GENERIC", "choices": [{"message": {"content": "plain", "reasoningContent": 1}}]}
    message = from_oci_chat_response(raw, model="m", completion_id="c", created=1)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "plain"}
