"""``/v1/messages`` and ``/v1/messages/count_tokens`` with the real Anthropic SDK (sync and async) on Oracle's
OpenAI-compatible path, the emulator as Oracle: answers, streams through the SDK's accumulator, tool use over
several turns, counting, typed errors in Anthropic's envelope, a failure mid-stream, usage recorded, aliases, and
a replayed Claude Code session."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.support.claude_code import session
from tests.support.governance import MASTER, Admin, gateway_env
from tests.support.servers import GatewayFactory, ServerThread, start_gateway

KEY = "gw-master-key"
COMPATIBLE = ["openai.gpt-oss-120b", "xai.grok-4", "meta.llama-3.3-70b-instruct"]
HELLO: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Say hello"}]
READ: list[anthropic.types.ToolParam] = [
    {
        "name": "read_file",
        "description": "Reads a file.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
    {"name": "list_dir", "description": "Lists a directory.", "input_schema": {"type": "object", "properties": {}}},
]


@pytest.fixture
def claude(gateway: ServerThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=KEY, max_retries=0)


@pytest.mark.parametrize("model", COMPATIBLE)
def test_a_message(claude: anthropic.Anthropic, model: str) -> None:
    message = claude.messages.create(
        model=model,
        max_tokens=400,
        system=[{"type": "text", "text": "Be brief."}],
        messages=HELLO,
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    assert message.type == "message" and message.role == "assistant" and message.model == model
    assert message.id.startswith("msg_")
    text = [block for block in message.content if block.type == "text"]
    assert text and "Say hello" in text[0].text
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0


@pytest.mark.parametrize("model", COMPATIBLE)
def test_a_stream_through_the_sdks_accumulator(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(model=model, max_tokens=400, messages=HELLO) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(block.text for block in final.content if block.type == "text")
    assert "Say hello" in text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_a_cut_answer_is_max_tokens(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="xai.grok-4", max_tokens=3, messages=HELLO)
    assert message.stop_reason == "max_tokens"


@pytest.mark.parametrize("model", COMPATIBLE)
def test_tool_use_over_several_turns(claude: anthropic.Anthropic, model: str) -> None:
    messages: list[anthropic.types.MessageParam] = [
        {"role": "user", "content": "Read the README and list the root in parallel."}
    ]
    for turn in range(2):
        with claude.messages.stream(model=model, max_tokens=2000, tools=READ, messages=messages) as stream:
            asked = stream.get_final_message()
        uses = [block for block in asked.content if block.type == "tool_use"]
        assert asked.stop_reason == "tool_use" and len(uses) == 2, asked  # parallel calls, separate blocks
        assert {use.name for use in uses} == {"read_file", "list_dir"} and isinstance(uses[0].input, dict)
        messages.append({"role": "assistant", "content": asked.content})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": use.id, "content": f"turn {turn} result {index}"}
                    for index, use in enumerate(uses)
                ],
            }
        )
        answer = claude.messages.create(model=model, max_tokens=2000, tools=READ, messages=messages)
        text = "".join(block.text for block in answer.content if block.type == "text")
        assert f"turn {turn} result 1" in text and answer.stop_reason == "end_turn", answer
        messages.append({"role": "assistant", "content": answer.content})
        messages.append({"role": "user", "content": "Again, in parallel."})


def test_tool_choice_names_the_tool(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model="xai.grok-4",
        max_tokens=500,
        tools=READ,
        tool_choice={"type": "tool", "name": "list_dir", "disable_parallel_tool_use": True},
        messages=HELLO,
    )
    assert [block.name for block in message.content if block.type == "tool_use"] == ["list_dir"]


async def test_async_client_and_stream(gateway: ServerThread) -> None:
    claude = anthropic.AsyncAnthropic(base_url=gateway.url, auth_token=KEY, max_retries=0)  # Bearer, as Claude Code
    message = await claude.messages.create(model="openai.gpt-oss-20b", max_tokens=400, messages=HELLO)
    assert message.stop_reason == "end_turn"
    async with claude.messages.stream(
        model="openai.gpt-oss-120b", max_tokens=800, messages=HELLO, thinking={"type": "enabled", "budget_tokens": 2048}
    ) as stream:
        final = await stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    await claude.close()


def test_count_tokens(claude: anthropic.Anthropic) -> None:
    short = claude.messages.count_tokens(model="xai.grok-4", messages=HELLO)
    long = claude.messages.count_tokens(
        model="xai.grok-4", system="Be brief. " * 100, tools=READ, messages=[{"role": "user", "content": "x" * 4000}]
    )
    assert 0 < short.input_tokens < long.input_tokens
    assert long.input_tokens > 1000  # 4,000 characters of text alone are about 1,000 tokens


def test_typed_errors_in_anthropics_envelope(gateway: ServerThread, claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.AuthenticationError) as denied:
        anthropic.Anthropic(base_url=gateway.url, api_key="wrong", max_retries=0).messages.create(
            model="xai.grok-4", max_tokens=10, messages=HELLO
        )
    assert denied.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "The API key presented to the gateway is not valid."},
        "request_id": denied.value.response.headers["x-request-id"],
    }
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.messages.create(model="claude-opus-4-1", max_tokens=10, messages=HELLO)
    assert "ORACLE_MODELS" in missing.value.message  # the same hint as elsewhere
    with pytest.raises(anthropic.BadRequestError) as bad:
        claude.messages.create(model="xai.grok-4", max_tokens=0, messages=HELLO)
    assert isinstance(bad.value.body, dict) and bad.value.body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in bad.value.message
    raw = httpx.post(f"{gateway.url}/v1/messages", json={"model": "xai.grok-4", "messages": []})
    assert raw.status_code == 401 and raw.json()["type"] == "error"  # no key: Anthropic's envelope too


def test_oracle_overloaded_is_529_and_a_failure_mid_stream_is_an_error_event(
    emulator: ServerThread, gateway_factory: GatewayFactory
) -> None:
    env = {**gateway_env(emulator), "OCIGATE_MAX_ATTEMPTS": "1"}
    server, _ = gateway_factory(env)
    claude = anthropic.Anthropic(base_url=server.url, api_key=MASTER, max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="embeddings model"):
        claude.messages.create(model="cohere.embed-v4.0", max_tokens=10, messages=HELLO)
    httpx.post(f"{emulator.url}/_emulator/faults", json={"status": 503, "count": 1}).raise_for_status()
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        claude.messages.create(model="xai.grok-4", max_tokens=10, messages=HELLO)
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    httpx.post(f"{emulator.url}/_emulator/faults", json={"cut_after": 3, "count": 1}).raise_for_status()
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as cut:
        with claude.messages.stream(model="xai.grok-4", max_tokens=400, messages=HELLO) as stream:
            for event in stream:
                seen.append(event.type)
    assert seen[0] == "message_start" and "content_block_delta" in seen  # the answer had begun
    assert isinstance(cut.value.body, dict) and cut.value.body["type"] == "error"
    assert "stream broke off" in cut.value.message


def test_team_keys_limits_and_usage_apply(emulator: ServerThread) -> None:
    server, app = start_gateway(gateway_env(emulator))
    admin = Admin(server.url)
    admin.http.timeout = httpx.Timeout(60)  # the first admin call creates the database: slow on a busy machine
    try:
        team = admin.create(team="agents", allowed_models=["xai.*"], rpm=2)["secret"]
        claude = anthropic.Anthropic(base_url=server.url, api_key=team, max_retries=0)
        told = claude.messages.create(model="xai.grok-4", max_tokens=50, messages=HELLO).usage
        with claude.messages.stream(model="xai.grok-4", max_tokens=50, messages=HELLO) as stream:
            streamed = stream.get_final_message().usage
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            claude.messages.create(model="openai.gpt-oss-120b", max_tokens=10, messages=HELLO)
        assert refused.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
        with pytest.raises(anthropic.RateLimitError):
            claude.messages.create(model="xai.grok-4", max_tokens=10, messages=HELLO)
    finally:
        server.stop()
    with sqlite3.connect(Path(app.runtime.settings.data_dir) / "ocigate.db") as db:
        rows = list(db.execute("SELECT endpoint, prompt_tokens, completion_tokens, stream, team FROM usage "
                               "WHERE status = 200 ORDER BY created_at"))  # fmt: skip
    assert rows == [
        ("messages", told.input_tokens, told.output_tokens, 0, "agents"),
        ("messages", streamed.input_tokens, streamed.output_tokens, 1, "agents"),
    ]


def test_model_aliases_on_every_route(emulator: ServerThread, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text(
        f"""
providers:
  oracle:
    base_url: {emulator.url}/20231130/actions/v1
    api_key: sk-emulator-chicago
    models: [xai.grok-4, openai.gpt-oss-20b]
model_aliases:
  claude-haiku-*: openai.gpt-oss-20b
  claude-sonnet-*: xai.grok-4
  gpt-4o: xai.grok-4
""",
        encoding="utf-8",
    )
    server, _ = gateway_factory({"OCIGATE_MASTER_KEY": KEY}, config_file=str(config))
    claude = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0)
    answer = claude.messages.with_raw_response.create(model="claude-sonnet-4-5-20250929", max_tokens=50, messages=HELLO)
    assert answer.headers["x-ocigate-deployment"] == "oracle/xai.grok-4"
    assert answer.parse().model == "claude-sonnet-4-5-20250929"  # the name Claude Code asked for
    haiku = claude.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=500, messages=HELLO)
    assert haiku.headers["x-ocigate-deployment"] == "oracle/openai.gpt-oss-20b"
    assert claude.messages.count_tokens(model="claude-sonnet-4", messages=HELLO).input_tokens > 0
    chat = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)
    reply = chat.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO, max_tokens=20)  # type: ignore[arg-type]
    assert reply.headers["x-ocigate-deployment"] == "oracle/xai.grok-4"
    listed = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    cards = {card["id"]: card for card in listed["data"]}
    assert cards["gpt-4o"]["alias_of"] == "xai.grok-4" and cards["gpt-4o"]["kind"] == "chat"
    assert {"pattern": "claude-sonnet-*", "model": "xai.grok-4"} in listed["model_aliases"]


@pytest.mark.parametrize("model", COMPATIBLE)
def test_a_replayed_claude_code_session(gateway: ServerThread, model: str) -> None:
    session(gateway.url, KEY, model)
