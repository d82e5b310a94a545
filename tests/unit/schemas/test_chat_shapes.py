"""check_chat: every wrong shape of a Chat Completions request is a 400 that names the field in ``param``."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.chat import check_chat

CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "Hello"}], **fields}


def refused(payload: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as raised:
        check_chat(payload)
    assert raised.value.status == 400 and raised.value.type == "invalid_request_error"
    return raised.value


def test_a_full_request_passes() -> None:
    check_chat(
        body(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Really."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}},
                        {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}},
                        {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA", "filename": "a"}},
                    ],
                    "name": "ann",
                },
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": "found"},
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}], "refusal": "No."},
                {"role": "function", "name": "lookup", "content": "legacy"},
            ],
            tools=[TOOL],
            tool_choice={"type": "function", "function": {"name": "lookup"}},
            response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
            temperature=2,
            top_p=0,
            presence_penalty=-2,
            frequency_penalty=2.0,
            n=1,
            max_tokens=10,
            max_completion_tokens=10,
            stream=True,
            stream_options={"include_usage": True},
            stop=["\n", "END"],
            seed=-1,
            metadata={"a": "b"},
            reasoning_effort="low",
        )
    )


def test_unknown_fields_and_nulls_pass() -> None:
    check_chat(body(copilot_references=[1], temperature=None, tools=None, stop=None, anything={"x": [1]}))
    check_chat(body(messages=[{"role": "user", "content": None, "cache_control": {"type": "ephemeral"}}]))


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": None}, "model"),
        ({"model": ["m"]}, "model"),
        ({"messages": None}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": {"role": "user"}}, "messages"),
        ({"messages": ["hello"]}, "messages[0]"),
        ({"messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": ["user"], "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": {"text": "hi"}}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": ["hi"]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": {"a": 1}}]}]}, "messages[0].content[0].type"),
        ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type"),
        ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]}, "messages[0].content[0].text"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content[0].image_url"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "A"}}]}]},
            "messages[0].content[0].input_audio.format",
        ),
        ({"messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]}, "messages[0].content[0].file"),
        (
            {"messages": [{"role": "user", "content": [{"type": "refusal", "refusal": "x"}]}]},
            "messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": "u"}]}]},
            "messages[0].content[0].type",
        ),
        ({"messages": [{"role": "user", "content": "hi", "name": ["n"]}]}, "messages[0].name"),
        ({"messages": [{"role": "tool", "content": "r", "tool_call_id": 7}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "assistant", "tool_calls": "x"}]}, "messages[0].tool_calls"),
        ({"messages": [{"role": "assistant", "tool_calls": ["x"]}]}, "messages[0].tool_calls[0]"),
        ({"messages": [{"role": "assistant", "tool_calls": [{"id": "c"}]}]}, "messages[0].tool_calls[0].function"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{**CALL, "type": "custom"}]}]},
            "messages[0].tool_calls[0].type",
        ),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{**CALL, "function": {"arguments": "{}"}}]}]},
            "messages[0].tool_calls[0].function.name",
        ),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "f", "arguments": 1}}]}]},
            "messages[0].tool_calls[0].function.arguments",
        ),
        ({"messages": [{"role": "assistant", "function_call": {"arguments": "{}"}}]}, "messages[0].function_call.name"),
    ],
)
def test_wrong_messages_are_named(fields: dict[str, Any], param: str) -> None:
    err = refused(body(**fields))
    assert err.param == param, err.message
    assert err.message.startswith(f"'{param}'"), err.message


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": "x"}, "tools"),
        ({"tools": ["x"]}, "tools[0]"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools[0].function.name"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]},
            "tools[0].function.parameters",
        ),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": ["auto"]}, "tool_choice"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.function"),
        ({"tool_choice": {"type": "function", "function": {"name": 1}}}, "tool_choice.function.name"),
        ({"tool_choice": {"type": {"x": 1}}}, "tool_choice.type"),
        ({"response_format": "json"}, "response_format"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        ({"response_format": {"type": ["json_object"]}}, "response_format.type"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": []}}},
            "response_format.json_schema.schema",
        ),
        ({"functions": [{"parameters": {}}]}, "functions[0].name"),
        ({"function_call": 3}, "function_call"),
    ],
)
def test_wrong_tools_and_formats_are_named(fields: dict[str, Any], param: str) -> None:
    assert refused(body(**fields)).param == param


@pytest.mark.parametrize(
    ("field", "bad", "good"),
    [
        ("temperature", [2.01, -0.1, "0.5", True], [0, 1.5, 2]),
        ("top_p", [1.5, -1, "1"], [0, 0.3, 1]),
        ("presence_penalty", [-2.5, 3], [-2, 0, 2]),
        ("frequency_penalty", [2.5, [0]], [-1.5]),
        ("n", [0, 1.5, True, 129, "2"], [1, 128]),
        ("max_tokens", [0, -5, 1.0, True, "100", [1]], [1, 100_000]),
        ("max_completion_tokens", [0, False, 2.5], [1]),
        ("top_logprobs", [-1, 21], [0, 20]),
        ("seed", [1.5, "7", 2**63], [0, -(2**63), 2**63 - 1]),
        ("stream", ["yes", 1, [True]], [True, False]),
        ("logprobs", ["true"], [False]),
        ("parallel_tool_calls", [0], [True]),
        ("stop", [5, [1], ["a", None], {"a": 1}], ["x", [], ["a", "b"]]),
        ("stream_options", ["x", {"include_usage": "yes"}], [{"include_usage": False}, {}]),
        ("reasoning_effort", [["low"]], ["high"]),
        ("user", [1], ["u"]),
        ("metadata", ["m", [1]], [{}]),
        ("modalities", ["text", [1]], [["text"]]),
    ],
)
def test_numbers_flags_and_lists(field: str, bad: list[Any], good: list[Any]) -> None:
    for value in bad:
        err = refused(body(**{field: value}))
        assert err.param is not None and err.param.startswith(field), (value, err.param)
    for value in good:
        check_chat(body(**{field: value}))


def test_messages_name_the_wrong_value_shortly() -> None:
    err = refused(body(messages=[{"role": "x" * 500, "content": "hi"}]))
    assert "got 'xxx" in err.message and len(err.message) < 200
    err = refused(body(messages=[{"role": ["user"], "content": "hi"}]))
    assert err.message.endswith("got an array.")


def test_the_checks_of_today_keep_their_words() -> None:
    assert refused(body(messages=[])).message == "'messages' must be a non-empty array of messages."
    assert refused(body(model="  ")).message == "'model' is required: the name of a model this gateway serves."
    err = refused(body(messages=[{"role": "assistant", "content": [{"type": "image_url", "image_url": "u"}]}]))
    assert err.message == "'messages[0].content[0].type' 'image_url' is only allowed in user messages."
