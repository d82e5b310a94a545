"""The short way of a plain GENERIC chat request (text messages, sampling parameters) against the general reading:
the same ChatDetails, byte for byte once serialized, and the same client mistakes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ocigate.catalog.models import find_model
from ocigate.core.errors import InvalidRequest
from ocigate.translate.oracle.chat import to_oci_chat_request
from ocigate.translate.oracle.chat_generic import to_plain_generic_messages
from ocigate.translate.oracle.serving import ServingMode

LLAMA = "meta.llama-3.3-70b-instruct"
GPT_OSS = "openai.gpt-oss-120b"  # knows DEVELOPER, reasoning: maxCompletionTokens
UNKNOWN = "xai.grok-9-preview"  # not in the catalogue
# A field the general reading ignores ("Not mapped: logprobs") but the short way does not take: it forces the
# general reading without changing its result.
GENERAL = {"logprobs": False}

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": "Answer in French."},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Bonjour"},
    {"role": "user", "content": "100% sure?"},
]
PLAIN: list[dict[str, Any]] = [
    {"model": LLAMA, "messages": [{"role": "user", "content": "Say hello in one sentence."}], "max_tokens": 64},
    {"model": LLAMA, "messages": CONVERSATION},
    {"messages": CONVERSATION, "stream": True, "stream_options": {"include_usage": True}, "temperature": 0.2},
    {"messages": CONVERSATION, "top_p": 1, "frequency_penalty": 0.5, "presence_penalty": -1.0, "seed": 7},
    {"messages": CONVERSATION, "top_k": 5, "stop": ["\n", "END"], "max_completion_tokens": 9, "max_tokens": 3},
    {"messages": CONVERSATION, "stop": "END", "user": "u-1", "store": False, "stream": False},
    {"messages": CONVERSATION, "stop": [], "max_tokens": None, "temperature": None},
]
# Plain fields, messages that are not: the short way hands them to the general reading.
NOT_PLAIN_MESSAGES: list[Any] = [
    [{"role": "user", "content": ""}],
    [{"role": "user", "content": "hi", "name": "ann"}],
    [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ],  # fmt: skip
    [{"role": "assistant", "content": "hi", "reasoning_content": "thought"}],
]


def translate(request: dict[str, Any], model_id: str) -> bytes:
    details = to_oci_chat_request(
        request, model_id=model_id, compartment_id="c", serving=ServingMode.for_target(model_id),
        model=find_model(model_id),
    )  # fmt: skip
    return orjson.dumps(details)


@pytest.mark.parametrize("model_id", [LLAMA, GPT_OSS, UNKNOWN])
@pytest.mark.parametrize("request_", PLAIN + [{"messages": m, "max_tokens": 5} for m in NOT_PLAIN_MESSAGES])
def test_the_short_way_makes_what_the_general_reading_makes(request_: dict[str, Any], model_id: str) -> None:
    assert translate(request_, model_id) == translate({**request_, **GENERAL}, model_id)


@pytest.mark.parametrize("model_id", [LLAMA, UNKNOWN])
def test_the_developer_role_as_system_for_models_without_it(model_id: str) -> None:
    messages = orjson.loads(translate({"messages": CONVERSATION}, model_id))["chatRequest"]["messages"]
    assert [m["role"] for m in messages] == ["SYSTEM", "SYSTEM", "USER", "ASSISTANT", "USER"]
    gpt = orjson.loads(translate({"messages": CONVERSATION}, GPT_OSS))["chatRequest"]["messages"]
    assert [m["role"] for m in gpt] == ["SYSTEM", "DEVELOPER", "USER", "ASSISTANT", "USER"]


ODD_MESSAGES: list[Any] = [
    [],
    "hi",
    [{"role": "tool", "content": "x"}],
    [["user"]],
    [{"role": ["user"], "content": "hi"}],
    [{"role": "robot", "content": "hi"}],
]


@pytest.mark.parametrize("messages", NOT_PLAIN_MESSAGES + ODD_MESSAGES)
def test_messages_that_are_not_plain_are_left_to_the_general_reading(messages: Any) -> None:
    assert to_plain_generic_messages(messages, developer_role=True) is None


@pytest.mark.parametrize(
    ("request_", "param"),
    [
        ({"messages": CONVERSATION, "temperature": "hot"}, "temperature"),
        ({"messages": CONVERSATION, "top_k": -1}, "top_k"),
        ({"messages": CONVERSATION, "seed": 1.5}, "seed"),
        ({"messages": CONVERSATION, "max_tokens": 0}, "max_tokens"),
        ({"messages": CONVERSATION, "max_completion_tokens": True}, "max_completion_tokens"),
        ({"messages": CONVERSATION, "stop": 3}, "stop"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"messages": []}, "messages"),
    ],
)
def test_the_same_mistakes_either_way(request_: dict[str, Any], param: str) -> None:
    for request in (request_, {**request_, **GENERAL}):
        with pytest.raises(InvalidRequest) as caught:
            translate(request, LLAMA)
        assert caught.value.param == param
