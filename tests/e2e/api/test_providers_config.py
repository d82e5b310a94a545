"""Provider set-ups: the /openai/v1 base with a project, several providers, and model discovery."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.support.servers import ASHBURN_KEY, CHICAGO_KEY, GatewayFactory, ServerThread

HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def test_openai_v1_base_sends_the_project_header(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/openai/v1",
        "ORACLE_API_KEY": CHICAGO_KEY,
        "ORACLE_PROJECT": "ocid1.generativeaiproject.oc1.us-chicago-1.demo",
        "ORACLE_MODELS": "xai.grok-3",
    }
    server, _ = gateway_factory(env)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    assert client.chat.completions.create(model="xai.grok-3", messages=HI).choices[0].message.content


def test_two_regions_as_two_providers(
    emulator: ServerThread, ashburn_emulator: ServerThread, gateway_factory: GatewayFactory
) -> None:
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": CHICAGO_KEY,
        "ORACLE_MODELS": "xai.grok-3",
        "ORACLE_IAD_BASE_URL": f"{ashburn_emulator.url}/20231130/actions/v1",
        "ORACLE_IAD_API_KEY": ASHBURN_KEY,
        "ORACLE_IAD_MODELS": "xai.grok-3,xai.grok-4",
    }
    server, _ = gateway_factory(env)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    ids = [m.id for m in client.models.list().data]
    assert ids == ["xai.grok-3", "oracle-iad/xai.grok-3", "xai.grok-4"]
    plain = client.chat.completions.with_raw_response.create(model="xai.grok-3", messages=HI)
    pinned = client.chat.completions.with_raw_response.create(model="oracle-iad/xai.grok-3", messages=HI)
    assert plain.headers["x-ocigate-provider"] == "oracle" and "us-chicago-1" in (
        plain.parse().choices[0].message.content or ""
    )
    assert pinned.headers["x-ocigate-provider"] == "oracle-iad"
    assert "us-ashburn-1" in (pinned.parse().choices[0].message.content or "")


def test_models_discovered_from_an_upstream_that_lists_them(
    gateway: ServerThread, gateway_factory: GatewayFactory, tmp_path: object
) -> None:
    # An OpenAI-compatible upstream with a real /models: another ocigate. Nothing is configured here.
    import pathlib

    config = pathlib.Path(str(tmp_path)) / "c.yaml"
    config.write_text(
        f"providers:\n  upstream:\n    type: openai\n    base_url: {gateway.url}/v1\n    api_key: gw-master-key\n",
        encoding="utf-8",
    )
    server, app = gateway_factory({}, str(config))
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    listed = client.models.list().data
    assert "openai.gpt-oss-120b" in [m.id for m in listed]
    assert {m.owned_by for m in listed} == {"openai"}
    assert {(m.model_extra or {}).get("source") for m in listed} == {"discovered"}  # a field of the gateway's own
    reply = client.chat.completions.create(model="xai.grok-3", messages=HI)
    assert reply.choices[0].message.content


def test_unexpanded_key_is_reported_not_dropped(gateway_factory: GatewayFactory, tmp_path: object) -> None:
    import pathlib

    config = pathlib.Path(str(tmp_path)) / "c.yaml"
    config.write_text(
        "providers:\n  oracle:\n    base_url: https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/v1\n"
        "    api_key: ${ORACLE_API_KEY}\n    models: [xai.grok-3]\n",
        encoding="utf-8",
    )
    server, _ = gateway_factory({}, str(config))
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["xai.grok-3"]
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="xai.grok-3", messages=HI)
    assert "${ORACLE_API_KEY}" in caught.value.message
