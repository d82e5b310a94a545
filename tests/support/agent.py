"""A VS Code agent's request as VS Code sends it (about 70 tools, streaming with usage, fields of its own), and one
streamed answer read back as text, tool calls and usage; replayed by tests/e2e/api/test_agent_replay.py and
tests/e2e/oracle/test_agent_replay_native.py."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

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


def stream_answer(url: str, key: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any] | None]:
    """Text, tool calls (assembled from their deltas) and usage of one streamed answer."""
    text = ""
    calls: dict[int, dict[str, str]] = {}
    usage: dict[str, Any] | None = None
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
