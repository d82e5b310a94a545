"""``/v1/embeddings`` (the ``openai`` SDK) and ``/v1/rerank`` (Cohere's shape, over httpx) through Oracle's native
embedText and rerankText, and what Oracle's OpenAI-compatible path says when asked for them."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import openai
import pytest

from ocigate.app.runtime import Gateway
from ocigate.emulator.native_embed import embedding
from tests.support.servers import CHICAGO_KEY, GatewayFactory, ServerThread

EMBED = "cohere.embed-english-v3.0"


@pytest.fixture
def sdk(iam_gateway: tuple[ServerThread, Gateway]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{iam_gateway[0].url}/v1", api_key="gw-key", max_retries=0)


def test_embeddings_more_than_96_inputs_in_order(sdk: openai.OpenAI) -> None:
    texts = [f"document number {i}" for i in range(250)]
    answer = sdk.embeddings.create(model=EMBED, input=texts, encoding_format="float")
    assert [d.index for d in answer.data] == list(range(250))
    assert answer.data[137].embedding == pytest.approx(embedding(EMBED, texts[137], 1024))
    assert answer.model == EMBED and answer.usage.prompt_tokens == 750


def test_embeddings_base64_dimensions_and_input_type(sdk: openai.OpenAI) -> None:
    raw = sdk.embeddings.with_raw_response.create(
        model="cohere.embed-v4.0",
        input=["alpha", "beta"],
        dimensions=256,
        encoding_format="base64",
        extra_body={"input_type": "search_query"},
    )
    encoded = raw.http_response.json()["data"][1]["embedding"]
    vector = struct.unpack("<256f", base64.b64decode(encoded))
    assert vector == pytest.approx(embedding("cohere.embed-v4.0", "beta", 256), rel=1e-6)
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-5)
    # The SDK decodes base64 itself when it asked for it.
    decoded = sdk.embeddings.create(model="cohere.embed-v4.0", input="alpha", dimensions=512)
    assert len(decoded.data[0].embedding) == 512


def test_embeddings_errors(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.embeddings.create(model=EMBED, input=[[1, 2, 3]])
    assert "token arrays" in caught.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.embeddings.create(model=EMBED, input="x", dimensions=77)
    assert "outputDimensions" in refused.value.message


def test_rerank(iam_gateway: tuple[ServerThread, Gateway]) -> None:
    body = {
        "model": "cohere.rerank-v3.5",
        "query": "capital of France",
        "documents": ["Berlin is in Germany.", {"text": "Paris is the capital of France."}, "France has wine."],
        "top_n": 2,
        "return_documents": True,
    }
    answer = httpx.post(f"{iam_gateway[0].url}/v1/rerank", json=body, headers={"Authorization": "Bearer gw-key"})
    assert answer.status_code == 200, answer.text
    ranked = answer.json()
    assert [r["index"] for r in ranked["results"]] == [1, 2]
    assert ranked["results"][0]["document"] == {"text": "Paris is the capital of France."}
    assert ranked["results"][0]["relevance_score"] > ranked["results"][1]["relevance_score"]
    bare = httpx.post(
        f"{iam_gateway[0].url}/v1/rerank",
        json={**body, "return_documents": False, "top_n": None},
        headers={"Authorization": "Bearer gw-key"},
    ).json()
    assert len(bare["results"]) == 3 and all("document" not in r for r in bare["results"])
    missing = httpx.post(
        f"{iam_gateway[0].url}/v1/rerank",
        json={"model": "cohere.rerank-v3.5", "query": "q"},
        headers={"Authorization": "Bearer gw-key"},
    )
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "documents"
    chat = httpx.post(
        f"{iam_gateway[0].url}/v1/rerank",
        json={**body, "model": "xai.grok-4"},
        headers={"Authorization": "Bearer gw-key"},
    )
    assert chat.status_code == 400 and "chat model" in chat.json()["error"]["message"]


def test_compatible_path_points_to_the_native_api(emulator: ServerThread, gateway_factory: GatewayFactory) -> None:
    server, _ = gateway_factory(
        {
            "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
            "ORACLE_API_KEY": CHICAGO_KEY,
            "ORACLE_MODELS": f"xai.grok-3,{EMBED}",
        }
    )
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model=EMBED, input="x")
    assert "served by Oracle's native API" in caught.value.message and "type: oci" in caught.value.message
