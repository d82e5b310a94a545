"""The Messages request as Chat Completions: every block and setting of the brief, and the refusals that name the
block; the answer back (content order, stop reasons, usage split), Anthropic's error envelope, and the
count_tokens estimate."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocigate.core.errors import GatewayError, InvalidRequest, UpstreamError
from ocigate.governance.usage import tokens_from_usage
from ocigate.schemas.messages import check_messages
from ocigate.translate.anthropic.request import effort_for_budget, to_chat_request
from ocigate.translate.anthropic.response import error_object, error_status, from_chat_response
from ocigate.translate.anthropic.tokens import PER_IMAGE, estimate_input_tokens

JSON = dict[str, Any]
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def request(messages: list[JSON], **extra: Any) -> JSON:
    body: JSON = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": messages, **extra}
    check_messages(body)
    return body


def test_system_blocks_settings_and_thinking() -> None:
    chat = to_chat_request(
        request(
            [{"role": "user", "content": "hi"}],
            system=[{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Be brief."}],
            stop_sequences=["END"],
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            metadata={"user_id": "u-1"},
            thinking={"type": "enabled", "budget_tokens": 8000},
            stream=True,
        )
    )  # fmt: skip
    assert chat["messages"][0] == {"role": "system", "content": "You are Claude Code.\n\nBe brief."}
    assert chat["messages"][1] == {"role": "user", "content": "hi"}
    assert (chat["stop"], chat["temperature"], chat["top_p"], chat["top_k"]) == (["END"], 0.2, 0.9, 40)
    assert (chat["user"], chat["max_tokens"], chat["reasoning_effort"]) == ("u-1", 64, "medium")
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(("budget", "effort"), [(1024, "low"), (4096, "medium"), (16384, "medium"), (32000, "high")])
def test_thinking_budgets_become_reasoning_levels(budget: int, effort: str) -> None:
    assert effort_for_budget(budget) == effort


def test_disabled_thinking_sends_no_reasoning_setting() -> None:
    chat = to_chat_request(request([{"role": "user", "content": "x"}], thinking={"type": "disabled"}))
    assert "reasoning_effort" not in chat


def test_tool_turns_images_documents_and_errors() -> None:
    chat = to_chat_request(
        request(
            [
                {"role": "user", "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": PNG},
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                     "title": "spec.pdf"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "text", "text": "Reading."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"cmd": "ls"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "A"},
                                                                                  {"type": "image", "source": PNG}]},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no such dir", "is_error": True},
                    {"type": "text", "text": "go on"},
                ]},
            ]
        )
    )  # fmt: skip
    user, assistant, tool_1, tool_2, after = chat["messages"]
    assert [part["type"] for part in user["content"]] == ["text", "image_url", "image_url", "file", "text"]
    assert user["content"][1]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="
    assert user["content"][3]["file"] == {"file_data": "data:application/pdf;base64,JVBE", "filename": "spec.pdf"}
    assert assistant["content"] == "Reading." and "reasoning_content" not in assistant
    assert [call["function"]["arguments"] for call in assistant["tool_calls"]] == ['{"path":"a"}', '{"cmd":"ls"}']
    assert tool_1 == {"role": "tool", "tool_call_id": "toolu_1", "content": "A"}
    assert tool_2 == {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: no such dir"}
    assert after["content"][0]["type"] == "image_url" and after["content"][1] == {"type": "text", "text": "go on"}


@pytest.mark.parametrize(
    ("choice", "chat_choice", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "none"}, "none", None),
        ({"type": "tool", "name": "Read"}, {"type": "function", "function": {"name": "Read"}}, None),
        ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
    ],
)
def test_tools_and_tool_choice(choice: JSON, chat_choice: object, parallel: bool | None) -> None:
    tools = [{"name": "Read", "description": "Reads", "input_schema": {"type": "object"}}]
    chat = to_chat_request(request([{"role": "user", "content": "x"}], tools=tools, tool_choice=choice))
    assert chat["tools"] == [
        {"type": "function", "function": {"name": "Read", "parameters": {"type": "object"}, "description": "Reads"}}
    ]
    assert chat["tool_choice"] == chat_choice
    assert chat.get("parallel_tool_calls") == parallel


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"max_tokens": 5, "messages": []}, "messages"),
        ({"max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages[0].content[0].type"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "tool"}},
         "tool_choice.name"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
          "thinking": {"type": "enabled", "budget_tokens": 10}}, "thinking.budget_tokens"),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": 1.5}, "temperature"),
    ],
)  # fmt: skip
def test_the_schema_names_the_field(body: JSON, named: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_messages({"model": "m", **body})
    assert caught.value.param == named


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ([{"type": "document", "source": {"type": "url", "url": "https://x.test/a.pdf"}}], "inline"),
        ([{"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "x"}}], "media_type"),
        ([{"type": "tool_use", "id": "t", "name": "n", "input": {}}], "assistant message"),
        ([{"type": "search_result"}], "'search_result'"),
        ([{"type": "document", "source": {"type": "content"}}], "content must be a string or an array"),
    ],
)
def test_blocks_a_model_cannot_take_are_refused_by_place(content: list[JSON], says: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_chat_request(request([{"role": "user", "content": content}]))
    assert "messages[0].content[0]" in caught.value.message and says in caught.value.message


def test_server_tools_are_refused_with_their_name() -> None:
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    with pytest.raises(InvalidRequest, match="web_search"):
        to_chat_request(request([{"role": "user", "content": "x"}], tools=tools))


def test_the_answer_content_order_stop_reasons_and_usage() -> None:
    chat = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Let me look.",
                    "reasoning_content": "plan",
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": '{"p": 1}'}},
                        {"id": "call_2", "type": "function", "function": {"name": "Ls", "arguments": "not json"}},
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 60}},
    }
    message = from_chat_response(chat, {"model": "claude-x"}, "msg_1")
    assert [block["type"] for block in message["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert message["content"][2]["input"] == {"p": 1}
    assert message["content"][3]["input"] == {"_arguments": "not json"}  # kept whole, not lost
    assert (message["model"], message["stop_reason"], message["stop_sequence"]) == ("claude-x", "tool_use", None)
    assert message["usage"] == {
        "input_tokens": 40,
        "output_tokens": 20,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 60,
    }
    counts = tokens_from_usage(message["usage"])  # what the meter records from the answer
    assert (counts.prompt_tokens, counts.completion_tokens, counts.cached_tokens) == (100, 20, 60)


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequest("bad"), 400, "invalid_request_error"),
        (GatewayError("no key", status=401), 401, "authentication_error"),
        (GatewayError("not yours", status=403), 403, "permission_error"),
        (GatewayError("none", status=404), 404, "not_found_error"),
        (GatewayError("slow down", status=429), 429, "rate_limit_error"),
        (UpstreamError("busy", status=503, type="api_error", code=None, upstream_status=503), 529, "overloaded_error"),
        (GatewayError("out of service", status=503), 503, "api_error"),
        (GatewayError("broke"), 500, "api_error"),
    ],
)
def test_errors_in_anthropics_envelope(error: GatewayError, status: int, kind: str) -> None:
    assert error_status(error) == status
    assert error_object(error, "req_1") == {
        "type": "error",
        "error": {"type": kind, "message": error.message},
        "request_id": "req_1",
    }


def test_the_token_estimate_counts_text_framing_tools_and_images() -> None:
    base = to_chat_request(request([{"role": "user", "content": "x" * 400}]))
    with_image = to_chat_request(request([{"role": "user", "content": [{"type": "image", "source": PNG}]}]))
    tools = [{"name": "Read", "input_schema": {"type": "object", "properties": {"p": {"type": "string"}}}}]
    with_tools = to_chat_request(request([{"role": "user", "content": "x" * 400}], tools=tools))
    assert estimate_input_tokens(base) == 4 + 100
    assert estimate_input_tokens(with_image) == 4 + PER_IMAGE
    assert estimate_input_tokens(with_tools) > estimate_input_tokens(base) + 8


# Hostile input: whatever a client sends, the check and the translation answer a 400 naming the field, or a chat
# request; never another exception.
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12,
)
_source = st.fixed_dictionaries(
    {"type": st.sampled_from(["base64", "url", "text", "content", "file", None])},
    optional={k: _value for k in ("media_type", "data", "url", "content")},
)
_block_types = st.sampled_from(["text", "image", "document", "tool_use", "tool_result", "thinking", "bogus"])
_block = st.fixed_dictionaries(
    {"type": _block_types},
    optional={
        "source": st.one_of(_source, _value),
        **{k: _value for k in ("text", "id", "name", "input", "tool_use_id", "content", "is_error", "title")},
    },
)
_message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "user", "assistant", "system"]),
        "content": st.one_of(st.lists(_block, min_size=1, max_size=4), st.text(max_size=5), _value),
    }
)


@settings(max_examples=100, deadline=None)
@given(
    messages=st.one_of(st.lists(_message, min_size=1, max_size=3), _value),
    extra=st.dictionaries(
        st.sampled_from(["system", "tools", "tool_choice", "thinking", "stop_sequences", "metadata", "max_tokens"]),
        _value,
        max_size=3,
    ),
)
def test_any_request_is_a_400_or_a_chat_request(messages: object, extra: JSON) -> None:
    body: JSON = {"model": "m", "max_tokens": 5, "messages": messages, **extra}
    try:
        check_messages(body)
        chat = to_chat_request(body)
    except InvalidRequest as err:
        assert err.message and err.status == 400
        return
    assert isinstance(chat["messages"], list) and estimate_input_tokens(chat) >= 0
