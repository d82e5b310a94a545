"""The VS Code agent turn of tests/e2e/api/test_agent_replay.py, against the families only Oracle's native API serves
(Cohere) and through the native API for the others: 70 tools, streaming with usage, tool round trips."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ocigate.app.runtime import Gateway
from tests.support.agent import stream_answer, vscode_request
from tests.support.servers import ServerThread


@pytest.mark.parametrize(
    "model", ["cohere.command-r-08-2024", "cohere.command-a-03-2025", "meta.llama-3.3-70b-instruct", "xai.grok-4"]
)
def test_vscode_agent_turn_on_the_native_api(iam_gateway: tuple[ServerThread, Gateway], model: str) -> None:
    server, _ = iam_gateway
    url = f"{server.url}/v1/chat/completions"
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an expert AI programming assistant.", "copilot_cache_control": {}},
    ]
    for round_trip, ask in enumerate(["Fix the failing test.", "Now run the tests."]):
        messages.append({"role": "user", "content": ask, "copilot_cache_control": {"type": "ephemeral"}})
        _, calls, usage = stream_answer(url, "gw-key", vscode_request(model, messages))
        assert calls and usage is not None, (model, round_trip)
        assert all(isinstance(orjson.loads(call["arguments"]), dict) for call in calls)
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ],
                "cot_id": f"cot_{round_trip}",
            }
        )
        for call in calls:
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": f"result #{round_trip}"})
        answer, more_calls, usage = stream_answer(url, "gw-key", vscode_request(model, messages))
        assert f"#{round_trip}" in answer and not more_calls and usage is not None, (model, round_trip, answer)
        messages.append({"role": "assistant", "content": answer})
