from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.servers import MODELS, ServerThread


def test_models_list_in_openai_shape(client: openai.OpenAI) -> None:
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids == MODELS.split(",")
    assert {m.owned_by for m in models.data} == {"oracle"}
    assert all(m.object == "model" for m in models.data)


def test_model_retrieve_plain_and_qualified(client: openai.OpenAI) -> None:
    assert client.models.retrieve("xai.grok-3").id == "xai.grok-3"
    assert client.models.retrieve("oracle/xai.grok-3").id == "oracle/xai.grok-3"


def test_unknown_model_404_names_it_and_how_to_add_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="cohere.nope", messages=[{"role": "user", "content": "hi"}])
    message = caught.value.message
    assert "'cohere.nope'" in message and "ORACLE_MODELS" in message and "models:" in message
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("cohere.nope")


def test_health_and_readiness_need_no_key_but_details_need_the_master_key(gateway: ServerThread) -> None:
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    for key in (None, "wrong", "ogk-not-a-key"):
        anonymous = httpx.get(f"{gateway.url}/readyz", headers={"Authorization": f"Bearer {key}"} if key else {})
        assert anonymous.status_code == 200 and anonymous.json() == {"status": "ready"}
    ready = httpx.get(f"{gateway.url}/readyz", headers={"Authorization": "Bearer gw-master-key"})
    assert ready.status_code == 200
    (provider,) = ready.json()["providers"]
    assert provider["in_service"] and "no /models listing" in provider["discovery"]


def test_unknown_route_and_wrong_method_are_openai_errors(gateway: ServerThread) -> None:
    headers = {"Authorization": "Bearer gw-master-key"}
    missing = httpx.get(f"{gateway.url}/v1/nothing", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    wrong = httpx.get(f"{gateway.url}/v1/chat/completions", headers=headers)
    assert wrong.status_code == 405 and "POST" in wrong.json()["error"]["message"]


def test_models_carry_client_metadata(gateway: ServerThread) -> None:
    listed = httpx.get(f"{gateway.url}/v1/models", headers={"Authorization": "Bearer gw-master-key"}).json()["data"]
    cards = {card["id"]: card for card in listed}
    oss = cards["openai.gpt-oss-120b"]
    assert oss["kind"] == "chat" and oss["capabilities"]["thinking"] and oss["capabilities"]["tool_calling"]
    assert oss["max_input_tokens"] + oss["max_output_tokens"] <= oss["context_window"]
    assert not cards["meta.llama-3.3-70b-instruct"]["capabilities"]["thinking"]
