"""A Claude Code turn as Claude Code sends it to ``ANTHROPIC_BASE_URL/v1/messages``, built from the public
description of its requests (Anthropic's Claude Code docs on LLM gateways and proxies, and the requests published
by proxies that log them, e.g. claude-code-router and LiteLLM's Claude Code guide):

- ``POST /v1/messages?beta=true``; headers: ``anthropic-version: 2023-06-01``, ``anthropic-beta`` with
  ``claude-code-20250219``, ``interleaved-thinking-2025-05-14`` and ``fine-grained-tool-streaming-2025-05-14``,
  ``x-app: cli``, a ``claude-cli/…`` user agent, and the key as ``Authorization: Bearer`` (``ANTHROPIC_AUTH_TOKEN``);
- ``system`` as text blocks with ``cache_control``: the identity line, then the long instructions;
- about twenty built-in tools (Task, Bash, Glob, Grep, Read, Edit, Write, TodoWrite, …) and MCP tools
  (``mcp__server__tool``), their ``input_schema`` draft-07 with ``additionalProperties: false``;
- ``metadata.user_id``, ``max_tokens`` 32000, ``temperature`` 1, ``thinking`` with a budget, ``stream: true``;
- user turns with ``<system-reminder>`` text blocks and ``cache_control`` on the last block; assistant turns sent
  back with their ``thinking`` (signed) and parallel ``tool_use`` blocks; ``tool_result`` blocks, one of them
  ``is_error``.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from anthropic._streaming import SSEDecoder
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

JSON = dict[str, Any]
EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
BUILT_IN = [
    "Task", "Bash", "Glob", "Grep", "LS", "ExitPlanMode", "Read", "Edit", "MultiEdit", "Write", "NotebookEdit",
    "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell", "SlashCommand",
]  # fmt: skip
EPHEMERAL = {"type": "ephemeral"}


def headers(key: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {key}",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
        "anthropic-dangerous-direct-browser-access": "true",
        "x-app": "cli",
        "user-agent": "claude-cli/2.0.14 (external, cli)",
        "content-type": "application/json",
    }


def tools(mcp: int = 20) -> list[JSON]:
    names = [*BUILT_IN, *(f"mcp__server{i // 5}__tool_{i}" for i in range(mcp))]
    return [
        {
            "name": name,
            "description": f"Claude Code tool {name}. " + "Usage notes. " * 20,
            "input_schema": {
                "type": "object",
                "properties": {
                    "file_path": {"type": "string", "description": "The absolute path to the file"},
                    "limit": {"type": "number", "description": "The number of lines to read"},
                },
                "required": ["file_path"],
                "additionalProperties": False,
                "$schema": "http://json-schema.org/draft-07/schema#",
            },
        }
        for name in names
    ]


def system() -> list[JSON]:
    return [
        {
            "type": "text",
            "text": "You are Claude Code, Anthropic's official CLI for Claude.",
            "cache_control": EPHEMERAL,
        },
        {"type": "text", "text": "You are an interactive CLI tool. " * 200, "cache_control": EPHEMERAL},
    ]


def user_turn(text: str) -> JSON:
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": "<system-reminder>\nAs you answer, use the context.\n</system-reminder>"},
            {"type": "text", "text": text, "cache_control": EPHEMERAL},
        ],
    }


def history() -> list[JSON]:
    """A conversation that already went round once: parallel tool calls sent back with their thinking, and their
    results, one of them an error."""
    return [
        user_turn("Read both config files in parallel."),
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should read both files.", "signature": "EqQBCkYIBxgCKkBsig=="},
                {"type": "text", "text": "Reading both."},
                {"type": "tool_use", "id": "toolu_01A", "name": "Read", "input": {"file_path": "/repo/a.yaml"}},
                {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"file_path": "/repo/b.yaml"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "a: 1"}]},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01B",
                    "content": "<tool_use_error>File does not exist.</tool_use_error>",
                    "is_error": True,
                },
            ],
        },
    ]


def request(model: str, messages: list[JSON], *, thinking: bool = True) -> JSON:
    body: JSON = {
        "model": model,
        "messages": messages,
        "system": system(),
        "tools": tools(),
        "metadata": {"user_id": "user_0f3c_account__session_5b1e2a7c-0000-4000-8000-000000000000"},
        "max_tokens": 32000,
        "temperature": 1,
        "stream": True,
    }
    if thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": 31999}
    return body


def replay(url: str, key: str, body: JSON) -> tuple[list[str], JSON]:
    """POSTs ``body`` to ``url`` (a gateway's ``/v1/messages``) as Claude Code does and reads the stream as the
    Anthropic SDK does (its SSE decoder, its accumulator): the event types in order, and the message."""
    names: list[str] = []
    snapshot = None
    buffers: dict[int, bytes] = {}
    with httpx.stream("POST", url, headers=headers(key), content=orjson.dumps(body), timeout=60) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for sse in SSEDecoder().iter_bytes(answer.iter_bytes()):
            data = orjson.loads(sse.data)
            assert sse.event == data["type"], (sse.event, data)
            names.append(data["type"])
            if sse.event == "error":
                raise AssertionError(data)
            if sse.event != "ping":
                event = EVENT.validate_python(data)
                snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    message: JSON = snapshot.to_dict()
    return names, message


def assert_sequence(names: list[str]) -> None:
    """Anthropic's order: message_start, then whole blocks (start, deltas, stop), message_delta, message_stop."""
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names
    body = [name for name in names[1:-2] if name != "ping"]
    open_block = False
    for name in body:
        if name == "content_block_start":
            assert not open_block, names
            open_block = True
        elif name in ("content_block_delta", "content_block_stop"):
            assert open_block, names
            open_block = name == "content_block_delta"
    assert not open_block, names


def sent_back(message: JSON) -> JSON:
    """An answer as Claude Code keeps it in the conversation: its content blocks, thinking included."""
    return {"role": "assistant", "content": message["content"]}


def results_for(message: JSON, error_on: int | None = None) -> JSON:
    """The user turn answering each tool_use of ``message``; the ``error_on``-th result is an error."""
    uses = [block for block in message["content"] if block["type"] == "tool_use"]
    return {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": use["id"], "content": f"result of {use['name']} #{index}",
             **({"is_error": True} if index == error_on else {})}
            for index, use in enumerate(uses)
        ],
    }  # fmt: skip


def session(gateway_url: str, key: str, model: str) -> None:
    """Three Claude Code turns on ``model``: the results of earlier parallel calls (one an error) read back; new
    parallel calls; their results answered. Every stream in Anthropic's order, every message as the SDK builds it."""
    url = f"{gateway_url}/v1/messages?beta=true"  # as Claude Code sends it
    messages = history()
    names, answer = replay(url, key, request(model, messages))
    assert_sequence(names)
    text = "".join(block["text"] for block in answer["content"] if block["type"] == "text")
    assert "a: 1" in text and "File does not exist" in text, (model, answer)  # both results, the error marked
    assert answer["stop_reason"] == "end_turn" and answer["usage"]["output_tokens"] > 0, answer
    messages += [sent_back(answer), user_turn("Now read both files again in parallel.")]
    names, answer = replay(url, key, request(model, messages))
    assert_sequence(names)
    uses = [block for block in answer["content"] if block["type"] == "tool_use"]
    assert len(uses) == 2 and answer["stop_reason"] == "tool_use", (model, answer)
    assert all(isinstance(use["input"].get("file_path"), str) for use in uses), uses
    assert len({use["id"] for use in uses}) == 2
    messages += [sent_back(answer), results_for(answer, error_on=1)]
    names, answer = replay(url, key, request(model, messages, thinking=False))
    assert_sequence(names)
    text = "".join(block["text"] for block in answer["content"] if block["type"] == "text")
    assert "result of" in text and "#1" in text, (model, answer)
