"""check_responses: every wrong shape of a Responses request is a 400 that names the field in ``param``."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.responses import check_responses

FUNCTION = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "openai.gpt-oss-120b", "input": "Hello", **fields}


def refused(payload: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as raised:
        check_responses(payload)
    assert raised.value.status == 400
    return raised.value


def test_a_full_request_passes() -> None:
    check_responses(
        body(
            input=[
                {"role": "developer", "content": "Be brief."},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "Look"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "auto"},
                        {"type": "input_file", "file_data": "data:application/pdf;base64,AA", "filename": "a.pdf"},
                        {"type": "input_audio", "input_audio": {"data": "AA", "format": "mp3"}},
                    ],
                },
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}]},
                {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": '{"q": 1}'},
                {"type": "function_call", "call_id": "c2", "name": "lookup", "arguments": {"q": 1}},
                {"type": "function_call_output", "call_id": "c1", "output": "found"},
                {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "x"}]},
                {"role": "assistant", "content": [{"type": "output_text", "text": "ok", "annotations": []}]},
                {"type": "item_reference", "id": "msg_1"},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            ],
            instructions="Answer.",
            previous_response_id="resp_1",
            tools=[FUNCTION, {"type": "web_search_preview"}, {"type": "function", "function": {"name": "f"}}],
            tool_choice={"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "lookup"}]},
            text={"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}, "verbosity": "low"},
            reasoning={"effort": "low", "summary": "auto"},
            temperature=1,
            top_p=1,
            max_output_tokens=64,
            stream=False,
            store=True,
            include=["reasoning.encrypted_content"],
            metadata={"k": "v"},
            truncation="auto",
            conversation="conv_1",
        )
    )


def test_unknown_fields_pass() -> None:
    check_responses(body(future_field={"a": [1]}, input=[{"role": "user", "content": "hi", "extra": 1}]))


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": 5}, "model"),
        ({"input": None}, "input"),
        ({"input": 5}, "input"),
        ({"input": {"role": "user"}}, "input"),
        ({"input": ["hi"]}, "input[0]"),
        ({"input": [{"content": "hi"}]}, "input[0]"),
        ({"input": [{"type": ["message"], "role": "user", "content": "x"}]}, "input[0].type"),
        ({"input": [{"role": ["user"], "content": "hi"}]}, "input[0].role"),
        ({"input": [{"role": "tool", "content": "hi"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": 5}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": None}]}, "input[0].content"),
        ({"input": [{"role": "user", "content": [{"type": {"a": 1}}]}]}, "input[0].content[0].type"),
        ({"input": [{"role": "user", "content": ["hi"]}]}, "input[0].content[0]"),
        ({"input": [{"role": "user", "content": [{"type": "input_text", "text": 5}]}]}, "input[0].content[0].text"),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input[0].content[0].image_url"),
        ({"input": [{"role": "user", "content": [{"type": "input_file"}]}]}, "input[0].content[0].file_data"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": 5}]}]},
            "input[0].content[0].image_url",
        ),
        (
            {"input": [{"role": "system", "content": [{"type": "input_image", "image_url": "u"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": [{"role": "assistant", "content": [{"type": "input_file"}]}]}, "input[0].content[0].type"),
        ({"input": [{"role": "user", "content": "x", "id": 5}]}, "input[0].id"),
        ({"input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": ["c"], "name": "f"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c"}]}, "input[0].name"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 5}]}, "input[0].arguments"),
        ({"input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": 5}]}, "input[0].output"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": ["x"]}]}, "input[0].output[0]"),
        ({"input": [{"type": "reasoning", "summary": "s"}]}, "input[0].summary"),
        ({"input": [{"type": "reasoning", "summary": ["s"]}]}, "input[0].summary[0]"),
        ({"input": [{"type": "item_reference"}]}, "input[0].id"),
        ({"instructions": ["Be brief."]}, "instructions"),
        ({"previous_response_id": 5}, "previous_response_id"),
        ({"tools": "x"}, "tools"),
        ({"tools": [5]}, "tools[0]"),
        ({"tools": [{"name": "f"}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"tools": [{**FUNCTION, "parameters": []}]}, "tools[0].parameters"),
        ({"tools": [{"type": "function", "function": "f"}]}, "tools[0].function"),
        ({"tool_choice": "maybe"}, "tool_choice"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"tool_choice": {"type": "allowed_tools", "mode": "sometimes", "tools": []}}, "tool_choice.mode"),
        ({"text": "json"}, "text"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"text": {"format": {"type": "json_schema", "schema": "{}"}}}, "text.format.schema"),
        ({"reasoning": "high"}, "reasoning"),
        ({"reasoning": {"effort": 1}}, "reasoning.effort"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": -0.5}, "top_p"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"max_output_tokens": True}, "max_output_tokens"),
        ({"stream": "true"}, "stream"),
        ({"store": 0}, "store"),
        ({"include": "x"}, "include"),
        ({"conversation": 5}, "conversation"),
    ],
)
def test_wrong_shapes_are_named(fields: dict[str, Any], param: str) -> None:
    err = refused(body(**fields))
    assert err.param == param, err.message


def test_the_checks_of_today_keep_their_words() -> None:
    assert refused(body(input=None)).message == "'input' is required: a string or an array of input items."
    err = refused(body(input=[{"role": ["user"], "content": "hi"}]))  # a TypeError, a plain 500, before
    assert err.message == "'input[0].role' must be one of user, assistant, system, developer, got an array."
