"""Any JSON value at any field a schema knows either passes or is a 400 naming a field: never another exception.

The fields are every path of a full, valid request of each kind (so every nested field a check reads), and the
values are arbitrary JSON, as orjson would parse it (integers up to 64 bits and beyond, which orjson turns into
floats, unicode, nesting)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.admin import check_key_fields
from ocigate.schemas.chat import check_chat
from ocigate.schemas.embeddings import check_embeddings, check_rerank
from ocigate.schemas.responses import check_responses

Path = tuple[str | int, ...]

CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
CHAT = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "s", "name": "n"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "t"},
                {"type": "image_url", "image_url": {"url": "u", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "d", "format": "wav"}},
                {"type": "file", "file": {"file_data": "d", "file_id": "f", "filename": "n"}},
            ],
        },
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "r"}], "tool_calls": [CALL], "refusal": "r"},
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}, "audio": {}},
        {"role": "tool", "tool_call_id": "c1", "content": "r", "reasoning_content": "x"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {}, "strict": True}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}, "strict": True}},
    "functions": [{"name": "f", "parameters": {}}],
    "function_call": {"name": "f"},
    "stream_options": {"include_usage": True},
    **{key: 1 for key in ("temperature", "top_p", "n", "max_tokens", "max_completion_tokens", "top_k", "seed")},
    **{key: 0 for key in ("presence_penalty", "frequency_penalty", "top_logprobs")},
    **{key: True for key in ("stream", "logprobs", "parallel_tool_calls", "store")},
    **{key: "s" for key in ("reasoning_effort", "user", "service_tier", "verbosity", "safety_identifier", "stop")},
    **{key: {} for key in ("metadata", "logit_bias", "prediction", "audio", "web_search_options")},
    "modalities": ["text"],
    "prompt_cache_key": "k",
}
RESPONSES = {
    "model": "m",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "t"}, {"type": "input_image", "image_url": "u"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_file", "file_id": "f", "filename": "n"}]},
        {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "d", "format": "f"}}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "t", "annotations": []}], "id": "i"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", "status": "completed"},
        {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": "t"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "t"}], "encrypted_content": "e"},
        {"type": "item_reference", "id": "i"},
    ],
    "tools": [{"type": "function", "name": "f", "parameters": {}}, {"type": "function", "function": {"name": "g"}}],
    "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []},
    "text": {"format": {"type": "json_schema", "name": "n", "schema": {}}, "verbosity": "low"},
    "reasoning": {"effort": "low", "summary": "auto"},
    "conversation": "c",
    **{key: 1 for key in ("temperature", "top_p", "max_output_tokens", "max_tool_calls", "top_logprobs")},
    **{key: True for key in ("stream", "store", "background", "parallel_tool_calls")},
    **{key: "s" for key in ("instructions", "previous_response_id", "user", "service_tier", "truncation")},
    **{key: {} for key in ("metadata", "stream_options", "prompt")},
    "include": ["x"],
}
EMBEDDINGS = {"model": "m", "input": [[1, 2]], "encoding_format": "float", "dimensions": 8, "input_type": "x"}
RERANK = {"model": "m", "query": "q", "documents": ["a", {"text": "b"}], "top_n": 1, "return_documents": True}
KEY = {
    "name": "n",
    "team": "t",
    "user": "u",
    "allowed_models": ["m"],
    "rpm": 1,
    "tpm": 1,
    "max_concurrent": 1,
    "budget": {"amount": 1, "unit": "usd", "period": "day"},
    "expires_at": 1,
    "metadata": {"a": {"b": [1]}},
}


def paths(value: object, prefix: Path = ()) -> Iterator[Path]:
    if prefix:
        yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from paths(child, (*prefix, key))


def placed(base: dict[str, Any], path: Path, value: object) -> dict[str, Any]:
    out = copy.deepcopy(base)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def check_key(payload: dict[str, Any]) -> None:
    check_key_fields(payload)


CASES: list[tuple[Callable[[dict[str, Any]], None], dict[str, Any], Path]] = [
    (check, base, path)
    for check, base in (
        (check_chat, CHAT),
        (check_responses, RESPONSES),
        (check_embeddings, EMBEDDINGS),
        (check_rerank, RERANK),
        (check_key, KEY),
    )
    for path in paths(base)
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["user", "text", "function", "json_schema", "auto", "message", "function_call", "usd"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["type", "name", "text", "x"]), inner),
    max_leaves=12,
)


def test_every_case_is_valid_as_given() -> None:
    assert len(CASES) > 150
    for check, base, _ in CASES:
        check(copy.deepcopy(base))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), value=JSON_VALUES)
def test_any_value_at_any_known_field_passes_or_is_a_400_naming_a_field(
    case: tuple[Callable[[dict[str, Any]], None], dict[str, Any], Path], value: object
) -> None:
    check, base, path = case
    try:
        check(placed(base, path, value))
    except InvalidRequest as err:
        assert err.status == 400 and isinstance(err.param, str) and err.param
        assert len(err.message) < 400
    # Anything else (TypeError, KeyError...) fails the test: it was a plain 500.


@pytest.mark.parametrize("value", [["user"], {"a": 1}, 5, "x", [], {}, True, None, 2**64, -1.5])
def test_the_values_of_the_finding_at_every_field(value: object) -> None:
    for check, base, path in CASES:
        try:
            check(placed(base, path, value))
        except InvalidRequest as err:
            assert err.param, (path, value)
