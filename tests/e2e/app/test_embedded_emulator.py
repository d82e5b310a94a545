"""``ocigate serve`` with no Oracle settings serves embeddings and rerank out of the box: the bundled emulator's
native API, reached as a second provider (``oci``) next to its OpenAI-compatible one."""

from __future__ import annotations

import httpx
import openai
import pytest
from tests.support.servers import GatewayFactory, ServerThread

pytestmark = pytest.mark.e2e
KEY = "gw-master-key"


@pytest.fixture(scope="module")
def out_of_the_box(gateway_factory: GatewayFactory) -> ServerThread:
    server, _ = gateway_factory({"OCIGATE_MASTER_KEY": KEY})
    return server


def test_embeddings_answer_through_the_openai_sdk(out_of_the_box: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{out_of_the_box.url}/v1", api_key=KEY, max_retries=0)
    result = client.embeddings.create(model="cohere.embed-v4.0", input=["The quick brown fox.", "A lazy dog."])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 1536  # cohere.embed-v4.0's dimensions
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens > 0


def test_rerank_answers_over_raw_http(out_of_the_box: ServerThread) -> None:
    answer = httpx.post(
        f"{out_of_the_box.url}/v1/rerank",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "cohere.rerank-v3.5", "query": "a fox", "documents": ["a quick brown fox", "tax law"]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    ranked = answer.json()["results"]
    assert sorted(r["index"] for r in ranked) == [0, 1]
    assert all(isinstance(r["relevance_score"], float) for r in ranked)


def test_models_lists_the_embedding_and_rerank_models_by_kind(out_of_the_box: ServerThread) -> None:
    listed = httpx.get(f"{out_of_the_box.url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    kinds = {m["id"]: (m["kind"], m["provider"]) for m in listed["data"]}
    assert kinds["cohere.embed-v4.0"] == ("embeddings", "oci")
    assert kinds["cohere.rerank-v3.5"] == ("rerank", "oci")
    assert kinds["openai.gpt-oss-120b"] == ("chat", "oracle")
