"""from_chat_response and input_items: shapes the SDK validates strictly, ids that never change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from openai.types.responses import Response, ResponseItem
from pydantic import TypeAdapter

from ocigate.translate.responses.items import input_items
from ocigate.translate.responses.output import from_chat_response, usage_from_chat

JSON = dict[str, Any]
GOLDEN = Path(__file__).parents[1] / "golden"  # tests/unit/translate/golden, which test_golden.py reads too
REQUEST: JSON = {"model": "meta.llama-3.3-70b-instruct", "input": "Hi"}
ITEM = TypeAdapter(ResponseItem)


def answer(message: JSON, finish: str = "stop", **extra: Any) -> JSON:
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}], **extra}


def respond(chat: JSON, request: JSON = REQUEST) -> JSON:
    return from_chat_response(chat, request, response_id="resp_t", created_at=5)


@pytest.mark.parametrize("path", sorted((GOLDEN / "responses_output").glob("*.json")), ids=lambda p: p.stem)
def test_golden_responses_validate_strictly(path: Path) -> None:
    Response.model_validate(orjson.loads(path.read_bytes())["expected"])


def test_ids_are_stable_and_derive_from_the_response_id() -> None:
    chat = answer({"content": "a", "reasoning": "b", "tool_calls": [{"function": {"name": "f"}}]})
    first, second = respond(chat), respond(chat)
    assert first == second
    assert [item["id"] for item in first["output"]] == ["rs_t_0", "msg_t_1", "fc_t_2"]
    assert first["output"][2]["call_id"] == "call_t_2"  # an upstream call without id (Gemini: oci-typescript-sdk#465)
    assert first["output"][2]["arguments"] == ""


def test_text_parts_and_refusals_are_message_text() -> None:
    parts = answer({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}, "junk"]})
    assert respond(parts)["output"][0]["content"][0]["text"] == "ab"
    assert respond(answer({"content": None, "refusal": "No."}))["output"][0]["content"][0]["text"] == "No."


def test_content_filter_is_incomplete() -> None:
    response = respond(answer({"content": "x"}, "content_filter"))
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "content_filter"}


def test_truncated_inside_a_tool_call_keeps_the_text_whole() -> None:
    chat = answer({"content": "Calling", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{"}}]})
    output = respond(chat | {"choices": [chat["choices"][0] | {"finish_reason": "length"}]})["output"]
    assert [item["status"] for item in output] == ["completed", "incomplete"]


def test_malformed_upstream_parts_do_not_break_the_response() -> None:
    response = respond({"choices": [{"message": "?", "finish_reason": None}], "usage": "n/a"})
    assert response["output"] == [] and response["usage"] is None and response["status"] == "completed"
    Response.model_validate(response)


def test_usage_maps_and_tolerates_missing_details() -> None:
    assert usage_from_chat(None) is None
    usage = usage_from_chat({"prompt_tokens": 3, "completion_tokens": True, "prompt_tokens_details": None})
    assert usage == {
        "input_tokens": 3,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 3,
    }


def test_request_settings_are_echoed() -> None:
    request = {
        **REQUEST,
        "tool_choice": "none",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "low", "summary": "auto"},
        "truncation": "auto",
        "previous_response_id": "resp_0",
        "user": "u",
        "top_p": 0.5,
    }
    response = respond(answer({"content": "x"}), request)
    assert response["tool_choice"] == "none" and response["parallel_tool_calls"] is False
    assert response["reasoning"] == {"effort": "low", "summary": "auto"}
    assert (response["truncation"], response["previous_response_id"], response["user"]) == ("auto", "resp_0", "u")
    assert response["top_p"] == 0.5
    Response.model_validate(response)


def test_input_items_normalise_with_ids_and_statuses() -> None:
    request = {
        "input": [
            {"role": "user", "content": "Hi"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Yo"}]},
            {"type": "message", "role": "assistant", "content": "Plain"},
            {"type": "function_call", "id": "fc_mine", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "ok"},
            {"type": "reasoning", "summary": []},
        ]
    }
    items = input_items(request, response_id="resp_r")
    assert [item["id"] for item in items] == ["msg_r_in0", "msg_r_in1", "msg_r_in2", "fc_mine", "fco_r_in4", "rs_r_in5"]
    assert items[0]["content"] == [{"type": "input_text", "text": "Hi"}]
    assert items[1]["content"] == [{"type": "output_text", "text": "Yo", "annotations": []}]
    assert items[2]["content"] == [{"type": "output_text", "text": "Plain", "annotations": []}]
    assert [item.get("status") for item in items] == ["completed"] * 5 + [None]
    for item in items[:5]:
        ITEM.validate_python(item)
    assert input_items(request, response_id="resp_r") == items


def test_input_items_of_a_string_and_of_nothing() -> None:
    assert input_items({"input": "Hi"}) == [
        {
            "id": "msg_in0",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hi"}],
            "status": "completed",
        }
    ]
    assert input_items({}) == []
    assert input_items({"input": [{"type": "item_reference", "id": "msg_1"}]})[0]["id"] == "msg_1"
