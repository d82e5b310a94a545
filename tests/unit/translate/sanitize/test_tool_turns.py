"""repair_tool_turns: results matched to their calls when there is one right answer, a named error otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.translate.sanitize.tool_turns import repair_tool_turns

JSON = dict[str, Any]
USER: JSON = {"role": "user", "content": "Go"}


def calls(*ids: str | None) -> JSON:
    made = []
    for position, id in enumerate(ids):
        call: JSON = {"type": "function", "function": {"name": f"f{position}", "arguments": "{}"}}
        if id is not None:
            call["id"] = id
        made.append(call)
    return {"role": "assistant", "content": None, "tool_calls": made}


def result(id: str | None, content: str = "ok") -> JSON:
    message: JSON = {"role": "tool", "content": content}
    if id is not None:
        message["tool_call_id"] = id
    return message


def ids(messages: list[JSON]) -> list[object]:
    return [m.get("tool_call_id") or [c.get("id") for c in m.get("tool_calls", [])] or m["role"] for m in messages]


def test_consistent_history_is_returned_as_is() -> None:
    messages = [USER, calls("a", "b"), result("b"), result("a"), {"role": "assistant", "content": "Done"}]
    assert repair_tool_turns(messages) is messages
    no_tools = [USER]
    assert repair_tool_turns(no_tools) is no_tools


def test_interleaved_results_move_after_their_turn() -> None:
    note: JSON = {"role": "system", "content": "note"}
    messages = [USER, calls("a", "b"), result("a"), note, USER, result("b")]
    assert repair_tool_turns(messages) == [USER, calls("a", "b"), result("a"), result("b"), note, USER]


def test_a_result_after_a_later_turn_returns_to_the_turn_that_made_its_call() -> None:
    messages = [USER, calls("a"), calls("b"), result("b"), result("a")]
    assert repair_tool_turns(messages) == [USER, calls("a"), result("a"), calls("b"), result("b")]


def test_vscode_suffixes_match_on_either_side() -> None:
    messages = [USER, calls("call_x__vscode-17", "call_y"), result("call_x"), result("call_y__vscode-18")]
    assert ids(repair_tool_turns(messages))[2:] == ["call_x__vscode-17", "call_y"]


def test_a_prefix_matches_when_only_one_call_fits() -> None:
    messages = [USER, calls("abc123", "zzz999", "qqq555"), result("call_abc123"), result("zzz999"), result("qqq555")]
    assert ids(repair_tool_turns(messages))[2] == "abc123"


def test_one_call_and_one_result_with_different_ids_belong_together() -> None:
    messages = [USER, calls("call_1"), result("toolu_1")]
    repaired = repair_tool_turns(messages)
    assert ids(repaired)[2] == "call_1"
    assert messages[2]["tool_call_id"] == "toolu_1"  # the input is not mutated


def test_calls_without_ids_take_the_results_ids_in_order() -> None:
    repaired = repair_tool_turns([USER, calls(None, None), result("r1"), result("r2")])
    assert ids(repaired)[1:] == [["r1", "r2"], "r1", "r2"]


def test_calls_and_results_without_ids_get_generated_ones() -> None:
    repaired = repair_tool_turns([USER, calls(None, None), result(None), result(None)])
    assert ids(repaired)[1:] == [["call_1_0", "call_1_1"], "call_1_0", "call_1_1"]


def test_a_result_id_already_taken_by_another_call_is_not_reused() -> None:
    repaired = repair_tool_turns([USER, calls(None, None), result("r"), result("r", "different")])
    assert ids(repaired)[1:] == [["r", "call_1_1"], "r", "call_1_1"]


def test_identical_duplicates_are_dropped_conflicting_ones_refused() -> None:
    assert repair_tool_turns([USER, calls("a"), result("a"), result("a")]) == [USER, calls("a"), result("a")]
    with pytest.raises(InvalidRequest, match="a second time") as caught:
        repair_tool_turns([USER, calls("a", "b"), result("a"), result("a", "other"), result("b")])
    assert caught.value.param == "messages"


def test_ids_reused_across_turns_match_within_each_turn() -> None:
    messages = [USER, calls("a"), result("a"), USER, calls("a"), result("a", "second")]
    assert repair_tool_turns(messages) is messages


def test_unanswered_calls_are_left_alone() -> None:
    messages = [USER, calls("a", "b"), result("a")]
    assert repair_tool_turns(messages) is messages


def test_a_result_before_any_call_is_refused_by_id() -> None:
    with pytest.raises(InvalidRequest, match="'call_9'.*no earlier assistant message made a tool call"):
        repair_tool_turns([USER, result("call_9")])


def test_an_ambiguous_result_names_what_the_client_sent() -> None:
    with pytest.raises(InvalidRequest) as caught:
        repair_tool_turns([USER, calls("call_a", "call_b"), result("call_zz")])
    message = caught.value.message
    assert "'call_zz'" in message and "'call_a', 'call_b'" in message and "messages[1]" in message
    with pytest.raises(InvalidRequest, match="'x'"):  # two results, two calls, no id in common: which is which?
        repair_tool_turns([USER, calls("a", "b"), result("x"), result("y")])
    with pytest.raises(InvalidRequest, match="calls without ids"):
        repair_tool_turns([USER, calls(None, None), result("x")])
