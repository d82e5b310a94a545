"""sanitize_chat_request: what each family gets, and the promises the hot path relies on."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocigate.catalog.models import MODELS, ModelInfo, find_model
from ocigate.core.errors import InvalidRequest
from ocigate.translate.sanitize.chat import profile_for, sanitize_chat_request
from ocigate.translate.sanitize.profile import DEFAULT_PROFILES, GENERIC_PROFILE, SanitizeProfile

JSON = dict[str, Any]
CHAT_MODELS = [m for m in MODELS if m.chat and m.openai_compatible]


def model(model_id: str) -> ModelInfo:
    found = find_model(model_id)
    assert found is not None
    return found


LLAMA = model("meta.llama-3.3-70b-instruct")
GPT_OSS = model("openai.gpt-oss-120b")
GROK_4 = model("xai.grok-4")
GROK_3 = model("xai.grok-3")
GROK_MINI = model("xai.grok-3-mini")


def body(**fields: Any) -> JSON:
    return {"model": "m", "messages": [{"role": "user", "content": "Hi"}], **fields}


@pytest.mark.parametrize("info", CHAT_MODELS, ids=lambda m: m.id)
def test_a_clean_request_is_returned_as_the_same_object(info: ModelInfo) -> None:
    limit = "max_completion_tokens" if info.reasoning else "max_tokens"
    clean = body(
        **{limit: 100},
        stream=True,
        stream_options={"include_usage": True},
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        tool_choice="auto",
    )
    assert sanitize_chat_request(clean, info) is clean


@pytest.mark.parametrize(
    ("info", "sent", "expected"),
    [
        (LLAMA, {"max_completion_tokens": 9}, {"max_tokens": 9}),
        (LLAMA, {"max_tokens": 5, "max_completion_tokens": 9}, {"max_tokens": 5}),
        (LLAMA, {"max_tokens": None, "max_completion_tokens": 9}, {"max_tokens": 9}),
        (GPT_OSS, {"max_tokens": 9}, {"max_completion_tokens": 9}),
        (GPT_OSS, {"max_tokens": 5, "max_completion_tokens": 9}, {"max_completion_tokens": 9}),
        (None, {"max_tokens": 5, "max_completion_tokens": 9}, {"max_completion_tokens": 9}),
        (None, {"max_tokens": 5}, {"max_tokens": 5}),
    ],
)
def test_one_output_limit_under_the_right_name(info: ModelInfo | None, sent: JSON, expected: JSON) -> None:
    out = sanitize_chat_request(body(**sent), info)
    assert {key: out[key] for key in ("max_tokens", "max_completion_tokens") if key in out} == expected


def test_a_profile_can_pin_the_output_limit_field() -> None:
    pinned = replace(GENERIC_PROFILE, token_field="max_tokens")
    assert "max_tokens" in sanitize_chat_request(body(max_completion_tokens=3), GPT_OSS, pinned)


@pytest.mark.parametrize(
    ("info", "kept"),
    [(LLAMA, False), (GPT_OSS, True), (GROK_3, False), (GROK_4, False), (GROK_MINI, True), (None, True)],
)
def test_reasoning_effort_only_where_the_model_takes_it(info: ModelInfo | None, kept: bool) -> None:
    assert ("reasoning_effort" in sanitize_chat_request(body(reasoning_effort="low"), info)) is kept


def test_xai_reasoning_models_lose_penalties_and_stop_others_keep_them() -> None:
    sent = body(presence_penalty=1.0, frequency_penalty=1.0, stop="x")
    assert sanitize_chat_request(sent, GROK_4).keys() == {"model", "messages"}
    assert sanitize_chat_request(sent, GROK_3) is sent


def test_fields_outside_the_family_allow_list_are_dropped() -> None:
    sent = body(top_k=5, copilot_thread="t", prompt_cache_options={"mode": "implicit"}, seed=1)
    assert sanitize_chat_request(sent, LLAMA) == body(seed=1)
    narrow = replace(DEFAULT_PROFILES["meta"], fields=DEFAULT_PROFILES["meta"].fields - {"seed"})
    assert sanitize_chat_request(sent, LLAMA, narrow) == body()


def test_profile_for_uses_overrides_then_defaults() -> None:
    custom = SanitizeProfile(hoist_system=False)
    assert profile_for(LLAMA, {"meta": custom}) is custom
    assert profile_for(LLAMA, {"xai": custom}) is DEFAULT_PROFILES["meta"]
    assert profile_for(None) is GENERIC_PROFILE


def test_tool_fields_without_tools_are_dropped_and_parameterless_functions_get_a_schema() -> None:
    no_tools: JSON
    for no_tools in ({}, {"tools": []}):
        out = sanitize_chat_request(body(**no_tools, tool_choice="required", parallel_tool_calls=False), LLAMA)
        assert out == body()
    tools: list[object] = [
        {"type": "function", "function": {"name": "a"}},
        {"type": "function", "function": {"name": "b", "parameters": {}}},
        {"type": "function", "function": {"name": "c", "parameters": None}},
        {"type": "custom", "custom": {"name": "d"}},
        "junk",
    ]
    fixed = sanitize_chat_request(body(tools=tools), LLAMA)["tools"]
    assert [t["function"]["parameters"] for t in fixed[:3]] == [{"type": "object", "properties": {}}] * 3
    assert fixed[3:] == tools[3:]
    malformed = body(tools={"type": "function"})
    assert sanitize_chat_request(malformed, LLAMA) is malformed  # the upstream names that mistake


def test_stream_options_need_stream() -> None:
    assert "stream_options" not in sanitize_chat_request(body(stream_options={"include_usage": True}), LLAMA)


def test_meta_gets_one_leading_system_message_others_keep_theirs() -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "image_url", "image_url": {}}]},
        {"role": "system", "content": "B"},
        {"role": "user", "content": "Hi"},
        {"role": "developer", "content": "C"},
    ]
    out = sanitize_chat_request(body(messages=messages), LLAMA)["messages"]
    assert out == [{"role": "system", "content": "A\n\nB\n\nC"}, {"role": "user", "content": "Hi"}]
    sent = body(messages=messages)
    assert sanitize_chat_request(sent, GPT_OSS) is sent
    late = body(messages=[{"role": "user", "content": "Hi"}, {"role": "system", "content": "Late"}])
    assert sanitize_chat_request(late, LLAMA)["messages"][0] == {"role": "system", "content": "Late"}


def test_empty_content_rules() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "system", "content": []},
        {"role": "developer", "content": ""},
        {"role": "user", "content": None},
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": [], "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": None},
        {"role": "assistant", "content": None, "tool_calls": [{**call, "id": "d"}]},
        {"role": "tool", "tool_call_id": "d", "content": [{"type": "text", "text": ""}]},
        {"role": "assistant", "content": None},
        {"role": "function", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": ""}]},
    ]
    out = sanitize_chat_request(body(messages=messages), GPT_OSS)["messages"]
    assert out == [
        {"role": "user", "content": "Go"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": "(empty)"},
        {"role": "assistant", "content": None, "tool_calls": [{**call, "id": "d"}]},
        {"role": "tool", "tool_call_id": "d", "content": "(empty)"},
        {"role": "function", "content": ""},  # not Oracle's to judge here: unknown roles pass through
        {"role": "user", "content": "(empty)"},
    ]


def test_client_fields_leave_messages_and_parts() -> None:
    part = {"type": "image_url", "image_url": {"url": "u", "media_type": "image/png"}, "cache_control": {}}
    sent = body(messages=[{"role": "user", "content": [part], "cot_id": "1", "name": "dev"}])
    out = sanitize_chat_request(sent, LLAMA)
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}], "name": "dev"}
    ]


def test_what_the_proxy_validates_is_left_to_it() -> None:
    for sent in ({"model": "m"}, {"model": "m", "messages": "Hi"}):
        assert sanitize_chat_request(sent, LLAMA) is sent
    odd_part = body(messages=[{"role": "user", "content": ["text as a bare string"]}])
    assert sanitize_chat_request(odd_part, LLAMA) is odd_part


def test_messages_must_be_objects() -> None:
    with pytest.raises(InvalidRequest, match=r"messages\[1\] must be an object") as caught:
        sanitize_chat_request(body(messages=[{"role": "user", "content": "a"}, "b"]), LLAMA)
    assert caught.value.param == "messages"


def test_tool_id_errors_surface_as_invalid_request() -> None:
    sent = body(messages=[{"role": "user", "content": "a"}, {"role": "tool", "tool_call_id": "x", "content": "r"}])
    with pytest.raises(InvalidRequest, match="'x'"):
        sanitize_chat_request(sent, LLAMA)


text = st.one_of(st.just(""), st.text(max_size=8))
part: st.SearchStrategy[JSON] = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": text}, optional={"copilot_cache_control": st.just({})}),
    st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": text}, optional={"media_type": text})}
    ),
)
content = st.one_of(st.none(), text, st.lists(part, max_size=3))
plain_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": content},
    optional={"cot_id": text, "copilot_references": st.just([])},
)


@st.composite
def conversations(draw: st.DrawFn) -> list[JSON]:
    """Plain messages with well-formed tool turns among them (each call answered once, in any order)."""
    messages: list[JSON] = draw(st.lists(plain_message, max_size=5))
    for turn in range(draw(st.integers(0, 2))):
        ids = [f"call_{turn}_{n}" for n in range(draw(st.integers(1, 3)))]
        calls = [{"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in ids]
        position = draw(st.integers(0, len(messages)))
        results = [{"role": "tool", "tool_call_id": i, "content": draw(content)} for i in draw(st.permutations(ids))]
        assistant = {"role": "assistant", "content": draw(content), "tool_calls": calls}
        messages[position:position] = [assistant, *results]
    return messages


requests = st.fixed_dictionaries(
    {"model": st.just("m"), "messages": conversations()},
    optional={
        "max_tokens": st.integers(1, 9),
        "max_completion_tokens": st.integers(1, 9),
        "reasoning_effort": st.just("low"),
        "stop": st.just("x"),
        "stream": st.booleans(),
        "stream_options": st.just({"include_usage": True}),
        "tools": st.lists(st.just({"type": "function", "function": {"name": "f"}}), max_size=2),
        "tool_choice": st.just("auto"),
        "copilot_thread": st.just("t"),
    },
)


@settings(max_examples=300, deadline=None)
@given(request=requests, info=st.sampled_from([None, *CHAT_MODELS]))
def test_never_mutates_and_reaches_a_fixed_point(request: JSON, info: ModelInfo | None) -> None:
    before = copy.deepcopy(request)
    out = sanitize_chat_request(request, info)
    assert request == before
    assert sanitize_chat_request(out, info) is out  # what it returns needs nothing more
    assert not ("max_tokens" in out and "max_completion_tokens" in out)
    for message in out["messages"]:
        assert message.get("content") != "" or message["role"] not in ("system", "developer", "user", "tool")
        assert not {"cot_id", "copilot_references"} & message.keys()
    if info is not None and info.vendor == "meta":
        roles = [m["role"] for m in out["messages"]]
        assert "developer" not in roles and "system" not in roles[1:]


def test_output_limit_above_the_models_own_is_capped() -> None:
    from ocigate.catalog.models import find_model

    llama = find_model("meta.llama-3.3-70b-instruct")
    assert llama is not None
    body = {"model": llama.id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16000}
    assert sanitize_chat_request(body, llama)["max_tokens"] == llama.max_output_tokens
    oss = find_model("openai.gpt-oss-120b")
    assert oss is not None
    fine = {"model": oss.id, "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 100}
    assert sanitize_chat_request(fine, oss) is fine
    vscode = {"model": llama.id, "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 16000}
    out = sanitize_chat_request(vscode, llama)
    assert "max_completion_tokens" not in out and out["max_tokens"] == llama.max_output_tokens
