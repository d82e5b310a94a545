"""The Messages API on Oracle's native API (IAM-signed; GENERIC for Meta, COHERE for Cohere) with the real
Anthropic SDK: answers, streams through the SDK's accumulator, tool use over several turns, count_tokens, and the
replayed Claude Code session; no provider code of its own, the native translation serves the chat request."""

from __future__ import annotations

import anthropic
import pytest

from ocigate.app.runtime import Gateway
from tests.support.claude_code import session
from tests.support.servers import ServerThread

NATIVE = ["cohere.command-r-08-2024", "cohere.command-a-03-2025", "meta.llama-3.3-70b-instruct"]
KEY = "gw-key"
TOOLS: list[anthropic.types.ToolParam] = [
    {"name": "read_file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}},
    {"name": "list_dir", "input_schema": {"type": "object", "properties": {"dir": {"type": "string"}}}},
]


@pytest.mark.parametrize("model", NATIVE)
def test_messages_streams_and_tools_on_the_native_api(iam_gateway: tuple[ServerThread, Gateway], model: str) -> None:
    server, _ = iam_gateway
    claude = anthropic.Anthropic(base_url=server.url, auth_token=KEY, max_retries=0)
    message = claude.messages.create(model=model, max_tokens=300, system="Be brief.", messages=[
        {"role": "user", "content": "Say hello"}])  # fmt: skip
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    assert "Say hello" in "".join(block.text for block in message.content if block.type == "text")
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Read and list, in parallel."}]
    with claude.messages.stream(model=model, max_tokens=1000, tools=TOOLS, messages=messages) as stream:
        asked = stream.get_final_message()
    uses = [block for block in asked.content if block.type == "tool_use"]
    assert asked.stop_reason == "tool_use" and uses, asked
    results: list[anthropic.types.ToolResultBlockParam] = [
        {"type": "tool_result", "tool_use_id": use.id, "content": f"native result {i}"} for i, use in enumerate(uses)
    ]
    messages += [{"role": "assistant", "content": asked.content}, {"role": "user", "content": results}]
    with claude.messages.stream(model=model, max_tokens=1000, tools=TOOLS, messages=messages) as stream:
        answer = stream.get_final_message()
    assert "native result 0" in "".join(block.text for block in answer.content if block.type == "text"), answer
    assert claude.messages.count_tokens(model=model, messages=messages, tools=TOOLS).input_tokens > 0


@pytest.mark.parametrize("model", NATIVE)
def test_a_replayed_claude_code_session_on_the_native_api(
    iam_gateway: tuple[ServerThread, Gateway], model: str
) -> None:
    server, _ = iam_gateway
    session(server.url, KEY, model)
