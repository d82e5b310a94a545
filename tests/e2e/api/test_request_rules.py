"""``request_rules:``: the operator changes, per model family, what reaches Oracle."""

from __future__ import annotations

from pathlib import Path

import openai
from openai.types.chat import ChatCompletionMessageParam

from ocigate.config.settings import load_settings
from tests.support.servers import CHICAGO_KEY, GatewayFactory, ServerThread


def test_rules_change_what_a_family_receives(
    emulator: ServerThread, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text("request_rules:\n  meta:\n    drop: [response_format]\n", encoding="utf-8")
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": CHICAGO_KEY,
        "ORACLE_MODELS": "meta.llama-3.3-70b-instruct,xai.grok-3",
    }
    server, _ = gateway_factory(env, str(config))
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    ask: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Reply with the single word ok."}]
    meta = client.chat.completions.create(
        model="meta.llama-3.3-70b-instruct", response_format={"type": "json_object"}, messages=ask
    )
    grok = client.chat.completions.create(model="xai.grok-3", response_format={"type": "json_object"}, messages=ask)
    assert meta.choices[0].message.content == "ok"  # response_format never reached the Meta model
    assert grok.choices[0].message.content == '{"reply": "ok"}'  # other families unchanged


def test_bad_rules_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "request_rules:\n  llama: {drop: [seed]}\n  meta: {drop: seed, token_field: tokens, keep: [x]}\n",
        encoding="utf-8",
    )
    messages = " | ".join(d.message for d in load_settings({}, config_file=str(config)).diagnostics)
    assert "'llama' is not a model family" in messages
    assert "request_rules.meta.drop must be a list" in messages
    assert "token_field must be max_tokens or max_completion_tokens" in messages
    assert "unknown setting 'keep'" in messages
