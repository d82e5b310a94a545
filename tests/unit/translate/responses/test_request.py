"""to_chat_request: Responses items as Chat Completions messages, and the client mistakes it names."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.translate.responses.items import input_items
from ocigate.translate.responses.output import from_chat_response
from ocigate.translate.responses.request import to_chat_request

JSON = dict[str, Any]
LLAMA = "meta.llama-3.3-70b-instruct"


def chat_for(input: object, **request: Any) -> JSON:
    return to_chat_request({"model": LLAMA, "input": input, **request})


def call(call_id: str, name: str = "f", arguments: str = "{}") -> JSON:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def refused(request: JSON, history: list[JSON] | None = None) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        to_chat_request(request, history)
    return caught.value


def test_a_string_input_is_one_user_message() -> None:
    assert chat_for("Hi")["messages"] == [{"role": "user", "content": "Hi"}]


def test_consecutive_function_calls_join_one_assistant_message() -> None:
    items = [
        {"role": "user", "content": "Go"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        call("a"),
        call("b"),
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "function_call_output", "call_id": "b", "output": "2"},
        call("c"),
    ]
    messages = chat_for(items)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["a", "b"]
    assert messages[1]["content"] is None
    assert [m["tool_call_id"] for m in messages[2:4]] == ["a", "b"]


def test_assistant_text_followed_by_calls_is_one_turn_and_text_after_calls_another() -> None:
    text: JSON = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "On it."}]}
    messages = chat_for([{"role": "user", "content": "Go"}, text, call("a"), text])["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": "On it.",
        "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    assert messages[2] == {"role": "assistant", "content": "On it."}


def test_reasoning_alone_and_empty_assistant_messages_leave_nothing() -> None:
    items = [
        {"role": "user", "content": "Hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}]},
        {"role": "assistant", "content": ""},
    ]
    assert chat_for(items)["messages"] == [{"role": "user", "content": "Hi"}]


def test_refusal_parts_are_assistant_text() -> None:
    refusal: JSON = {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}]}
    assert chat_for([refusal, {"role": "user", "content": "Why?"}])["messages"][0]["content"] == "I can't."


def test_history_comes_first_and_earlier_instructions_do_not() -> None:
    history = [{"role": "user", "content": "One"}, {"role": "assistant", "content": "Two"}]
    chat = to_chat_request({"model": LLAMA, "input": "Three", "instructions": "Now."}, history)
    assert chat["messages"] == [
        {"role": "system", "content": "Now."},
        {"role": "user", "content": "One"},
        {"role": "assistant", "content": "Two"},
        {"role": "user", "content": "Three"},
    ]


def test_a_stored_conversation_replays_as_chat_history() -> None:
    """What the gateway stores per response (its input items, then its output) is the next turn's history."""
    first: JSON = {"model": LLAMA, "input": "Weather in Paris?", "instructions": "Be brief.", "tools": []}
    message = {
        "role": "assistant",
        "content": "Checking.",
        "reasoning_content": "Use the tool.",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}],
    }
    chat = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    answer = from_chat_response(chat, first, response_id="resp_1", created_at=1)
    history = [*input_items(first, response_id="resp_1"), *answer["output"]]
    second = {
        "model": LLAMA,
        "previous_response_id": "resp_1",
        "input": [{"type": "function_call_output", "call_id": "call_1", "output": "18C"}],
    }
    assert to_chat_request(second, history)["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": message["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]


def test_previous_response_without_new_input_is_the_history() -> None:
    chat = to_chat_request({"model": LLAMA, "previous_response_id": "resp_1"}, [{"role": "user", "content": "Hi"}])
    assert chat["messages"] == [{"role": "user", "content": "Hi"}]


def test_item_references_resolve_within_the_conversation() -> None:
    history = [{"id": "msg_1", "type": "message", "role": "user", "content": "Again"}]
    chat = to_chat_request({"model": LLAMA, "input": [{"type": "item_reference", "id": "msg_1"}]}, history)
    assert chat["messages"] == [{"role": "user", "content": "Again"}, {"role": "user", "content": "Again"}]
    error = refused({"model": LLAMA, "input": [{"type": "item_reference", "id": "msg_404"}]})
    assert "msg_404" in error.message and error.param == "input"


def test_parts_map_to_chat_parts() -> None:
    content = [
        {"type": "input_text", "text": "Look:"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE"},
    ]
    parts = chat_for([{"role": "user", "content": content}])["messages"][0]["content"]
    assert parts == [
        {"type": "text", "text": "Look:"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
    ]


def test_builtin_tools_are_refused_by_name() -> None:
    error = refused({"model": LLAMA, "input": "Hi", "tools": [{"type": "web_search_preview"}]})
    assert "'web_search_preview' tool" in error.message and LLAMA in error.message
    assert error.param == "tools" and error.status == 400


def test_function_tools_and_tool_choice_map_to_chat_forms() -> None:
    tools = [
        {"type": "function", "name": "a", "parameters": {"type": "object"}, "strict": None},
        {"type": "function", "function": {"name": "b", "parameters": {}}},  # already chat-shaped
    ]
    chat = chat_for("Hi", tools=tools, tool_choice="required")
    assert chat["tools"] == [
        {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "b", "parameters": {}}},
    ]
    assert chat["tool_choice"] == "required"
    assert "tool_choice" not in chat_for("Hi", tools=tools)


def test_text_settings_without_a_format_send_only_verbosity() -> None:
    chat = chat_for("Hi", text={"verbosity": "high"})
    assert "response_format" not in chat and chat["verbosity"] == "high"


def test_allowed_tools_narrow_the_tool_list() -> None:
    tools = [{"type": "function", "name": name} for name in ("a", "b", "c")]
    choice = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "b"}]}
    chat = chat_for("Hi", tools=tools, tool_choice=choice)
    assert [t["function"]["name"] for t in chat["tools"]] == ["b"]
    assert chat["tool_choice"] == "auto"


def test_settings_map_and_responses_only_ones_stay_behind() -> None:
    chat = chat_for(
        "Hi",
        max_output_tokens=10,
        reasoning={"effort": "high"},
        text={"format": {"type": "text"}},
        store=True,
        include=["reasoning.encrypted_content"],
        truncation="auto",
        background=False,
        previous_response_id="resp_1",
        service_tier="auto",
        safety_identifier="u",
    )
    assert chat == {
        "model": LLAMA,
        "messages": [{"role": "user", "content": "Hi"}],
        "service_tier": "auto",
        "safety_identifier": "u",
        "max_tokens": 10,
        "reasoning_effort": "high",
    }


@pytest.mark.parametrize(
    ("request_fields", "words", "param"),
    [
        ({"input": None}, "'input' is required", "input"),
        ({"input": 3}, "string or an array", "input"),
        ({"input": ["hi"]}, "'input[0]' must be an object", "input"),
        ({"input": "Hi", "instructions": ["x"]}, "'instructions' must be a string", "instructions"),
        ({"input": "Hi", "prompt": {"id": "pmpt_1"}}, "'prompt' is not supported", "prompt"),
        ({"input": "Hi", "conversation": "conv_1"}, "'conversation' is not supported", "conversation"),
        ({"input": [{"type": "web_search_call", "id": "ws_1"}]}, "'web_search_call' item", "input"),
        ({"input": [{"content": "no role"}]}, "'untyped' item", "input"),
        ({"input": [{"type": "message", "role": "tool", "content": "x"}]}, "input[0].role must be", "input"),
        ({"input": [{"role": "user", "content": 5}]}, "input[0].content must be", "input"),
        ({"input": [{"role": "user", "content": ["x"]}]}, "input[0].content[0] must be an object", "input"),
        ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, "content[0].text must be a", "input"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}, "no Files", "input"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "inline", "input"),
        ({"input": [{"role": "user", "content": [{"type": "input_video"}]}]}, "'input_video' is not", "input"),
        (
            {"input": [{"role": "system", "content": [{"type": "input_image", "image_url": "http://i"}]}]},
            "a system message may hold text only",
            "input",
        ),
        ({"input": [{"role": "assistant", "content": 1}]}, "input[0].content must be", "input"),
        ({"input": [{"role": "assistant", "content": [{"type": "input_image"}]}]}, "text only", "input"),
        ({"input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id must be a string", "input"),
        ({"input": [{"type": "function_call_output", "call_id": "a", "output": 1}]}, ".output must be", "input"),
        (
            {"input": [{"type": "function_call_output", "call_id": "a", "output": [{"type": "input_image"}]}]},
            "text function call outputs only",
            "input",
        ),
        ({"input": "Hi", "tools": {"type": "function"}}, "'tools' must be an array", "tools"),
        ({"input": "Hi", "tools": ["f"]}, "tools[0] must be an object", "tools"),
        ({"input": "Hi", "tool_choice": {"type": "file_search"}}, "tool_choice", "tool_choice"),
        ({"input": "Hi", "tool_choice": "any"}, "tool_choice", "tool_choice"),
        ({"input": "Hi", "text": {"format": {"type": "xml"}}}, "text.format must be", "text.format"),
    ],
)
def test_client_mistakes_are_named(request_fields: JSON, words: str, param: str) -> None:
    error = refused({"model": LLAMA, **request_fields})
    assert words in error.message
    assert error.param == param


def test_mistakes_in_stored_history_say_so() -> None:
    error = refused({"model": LLAMA, "input": "Hi"}, [{"type": "computer_call", "id": "cu_1"}])
    assert "previous response's conversation" in error.message
