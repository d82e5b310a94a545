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

from conftest import CHICAGO_KEY
from servers import ServerThread

FAMILIES = ["openai.gpt-oss-120b", "xai.grok-4", "meta.llama-3.3-70b-instruct", "google.gemini-2.5-flash"]
TOOL_NAMES = [
    "read_file", "list_dir", "grep_search", "file_search", "semantic_search", "run_in_terminal", "get_errors",
    "create_file", "replace_string_in_file", "insert_edit_into_file", "get_terminal_output", "run_tests",
    "fetch_webpage", "open_simple_browser", "get_changed_files", "create_new_workspace", "install_extension",
    "run_vscode_command", "get_project_setup_info", "think", "manage_todo_list", "test_failure",
]  # fmt: skip


def vscode_tools(count: int = 70) -> list[dict[str, Any]]:
    tools = []
    for index in range(count):
        name = TOOL_NAMES[index] if index < len(TOOL_NAMES) else f"mcp_server_{index // 10}_tool_{index}"
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": f"VS Code agent tool {name}.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "filePath": {"type": "string", "description": "An absolute path."},
                            "explanation": {"type": "string"},
                            "startLine": {"type": "integer"},
                        },
                        "required": ["filePath"],
                    },
                },
            }
        )
    tools.append({"type": "function", "function": {"name": "no_arguments_tool", "description": "VS Code omits {}"}})
    return tools


def vscode_request(model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": model,
        "messages": messages,
        "tools": vscode_tools(),
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "stream": True,
        "stream_options": {"include_usage": True},
        "n": 1,
        "max_tokens": 4096,
        "temperature": 0.1,
        "copilot_references": [],
        "prompt_cache_options": {"enabled": True},
    }


def _stream(url: str, key: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any] | None]:
    """Text, tool calls (assembled from their deltas) and usage of one streamed answer."""
    text, calls, usage = "", {}, None
    with httpx.stream("POST", url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30) as response:
        if response.status_code != 200:
            raise AssertionError(f"{response.status_code}: {response.read().decode()}")
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = orjson.loads(line[6:])
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices", []):
                delta = choice["delta"]
                text += delta.get("content") or ""
                for call in delta.get("tool_calls") or []:
                    slot = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
                    slot["id"] = call.get("id") or slot["id"]
                    function = call.get("function") or {}
                    slot["name"] += function.get("name") or ""
                    slot["arguments"] += function.get("arguments") or ""
    return text, [calls[i] for i in sorted(calls)], usage


def test_the_emulator_refuses_what_vscode_sends(emulator: ServerThread) -> None:
    messages = [
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
        text, calls, usage = _stream(url, "gw-master-key", vscode_request(model, messages))
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
        answer, more_calls, usage = _stream(url, "gw-master-key", vscode_request(model, messages))
        assert f"#{round_trip}" in answer and not more_calls and usage is not None, (model, round_trip, answer)
        messages.append({"role": "assistant", "content": answer})
