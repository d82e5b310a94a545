"""A realistic VS Code agent turn, replayed against every model family through the gateway.

VS Code's agent sends about 70 tools, always streams with ``stream_options.include_usage``, asks for
``parallel_tool_calls``, and decorates messages with fields of its own (``copilot_cache_control``,
``copilot_references``, ``cot_id``/``cot_summary``), with ``""`` content on assistant turns that only call tools.
Oracle refuses all of that; the emulator does too, which the first test shows, so the replay proves the gateway
mends it.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.support.agent import stream_answer, vscode_request
from tests.support.servers import CHICAGO_KEY, ServerThread

FAMILIES = ["openai.gpt-oss-120b", "xai.grok-4", "meta.llama-3.3-70b-instruct", "google.gemini-2.5-flash"]


def test_the_emulator_refuses_what_vscode_sends(emulator: ServerThread) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an agent.", "copilot_cache_control": {"type": "ephemeral"}},
        {"role": "user", "content": "Open the README."},
    ]
    response = httpx.post(
        f"{emulator.url}/20231130/actions/v1/chat/completions",
        json={**vscode_request("xai.grok-4", messages), "stream": False},
        headers={"Authorization": f"Bearer {CHICAGO_KEY}"},
    )
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter"


@pytest.mark.parametrize("model", FAMILIES)
def test_vscode_agent_turn_with_tool_round_trips(gateway: ServerThread, model: str) -> None:
    url = f"{gateway.url}/v1/chat/completions"
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an expert AI programming assistant.", "copilot_cache_control": {}},
        {
            "role": "user",
            "content": [{"type": "text", "text": "<context>workspace</context>"}],
            "copilot_references": [],
        },
    ]
    for round_trip, ask in enumerate(["Fix the failing test.", "Now run the tests.", "Summarise the change."]):
        # A mid-conversation system reminder, which Meta models on Oracle refuse where it stands.
        messages.append({"role": "system", "content": "Remember: be concise."})
        messages.append({"role": "user", "content": ask, "copilot_cache_control": {"type": "ephemeral"}})
        text, calls, usage = stream_answer(url, "gw-master-key", vscode_request(model, messages))
        assert calls and usage is not None and usage["total_tokens"] > 0, (model, round_trip)
        assert all(orjson.loads(call["arguments"]).get("filePath") for call in calls)
        # VS Code echoes the assistant turn with "" content and its thinking ids, then one result per call.
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ],
                "cot_id": f"cot_{round_trip}",
                "cot_summary": "thinking about it",
            }
        )
        for call in calls:
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": f"result of {call['name']} #{round_trip}"}
            )
        answer, more_calls, usage = stream_answer(url, "gw-master-key", vscode_request(model, messages))
        assert f"#{round_trip}" in answer and not more_calls and usage is not None, (model, round_trip, answer)
        messages.append({"role": "assistant", "content": answer})
