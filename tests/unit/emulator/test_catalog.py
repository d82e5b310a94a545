from __future__ import annotations

import pytest

from ocigate.catalog.models import US_REGIONS
from ocigate.emulator import MODELS, chat_model_ids, find_model

# Every model id of docs/oracle-genai-api.md §5.2.
DOC_CHAT_MODELS = [
    "cohere.command-a-03-2025",
    "cohere.command-r-08-2024",
    "cohere.command-r-plus-08-2024",
    "cohere.command-a-vision-07-2025",
    "cohere.command-a-reasoning-08-2025",
    "meta.llama-3.3-70b-instruct",
    "meta.llama-3.2-90b-vision-instruct",
    "meta.llama-3.2-11b-vision-instruct",
    "meta.llama-4-maverick-17b-128e-instruct-fp8",
    "meta.llama-4-scout-17b-16e-instruct",
    "openai.gpt-oss-120b",
    "openai.gpt-oss-20b",
    "xai.grok-3",
    "xai.grok-3-fast",
    "xai.grok-3-mini",
    "xai.grok-3-mini-fast",
    "xai.grok-4",
    "xai.grok-4-fast-reasoning",
    "xai.grok-4-fast-non-reasoning",
    "xai.grok-4-1-fast-reasoning",
    "xai.grok-4-1-fast-non-reasoning",
    "xai.grok-code-fast-1",
    "google.gemini-2.5-pro",
    "google.gemini-2.5-flash",
    "google.gemini-2.5-flash-lite",
]
DOC_EMBEDDING_MODELS = [
    "cohere.embed-v4.0",
    "cohere.embed-english-v3.0",
    "cohere.embed-multilingual-v3.0",
    "cohere.embed-english-light-v3.0",
    "cohere.embed-multilingual-light-v3.0",
    "cohere.embed-english-image-v3.0",
    "cohere.embed-multilingual-image-v3.0",
]
DOC_RERANK_MODELS = ["cohere.rerank-v3.5", "cohere.rerank-v4.0-fast", "cohere.rerank-v4.0-pro"]
REASONING = {
    "openai.gpt-oss-120b",
    "openai.gpt-oss-20b",
    "xai.grok-3-mini",
    "xai.grok-3-mini-fast",
    "xai.grok-4",
    "xai.grok-4-fast-reasoning",
    "xai.grok-4-1-fast-reasoning",
    "google.gemini-2.5-pro",
    "google.gemini-2.5-flash",
    "cohere.command-a-reasoning-08-2025",
}


@pytest.mark.parametrize("model_id", DOC_CHAT_MODELS)
def test_doc_chat_models_are_catalogued(model_id: str) -> None:
    model = find_model(model_id)
    assert model is not None and model.id == model_id
    assert model.capabilities == ("chat",)
    assert model.context_window > 0 and model.max_output_tokens > 0
    assert model.reasoning == (model_id in REASONING)


@pytest.mark.parametrize("model_id", DOC_EMBEDDING_MODELS)
def test_doc_embedding_models_are_catalogued(model_id: str) -> None:
    model = find_model(model_id)
    assert model is not None and model.capabilities == ("embeddings",)
    assert model.embedding_dimensions in (384, 1024, 1536)


@pytest.mark.parametrize("model_id", DOC_RERANK_MODELS)
def test_doc_rerank_models_are_catalogued(model_id: str) -> None:
    model = find_model(model_id)
    assert model is not None and model.capabilities == ("rerank",)


def test_ids_are_unique() -> None:
    ids = [m.id for m in MODELS]
    assert len(ids) == len(set(ids))


def test_aliases_resolve_to_their_model() -> None:
    assert find_model("cohere.command-latest") is find_model("cohere.command-r-08-2024")
    assert find_model("cohere.command-plus-latest") is find_model("cohere.command-r-plus-08-2024")
    assert find_model("cohere.does-not-exist") is None


def test_vendors_flags() -> None:
    for model in MODELS:
        assert model.vendor == model.id.split(".")[0]
        if model.vendor == "cohere":
            assert not model.openai_compatible and not model.supports_responses
        if model.vendor == "meta":
            assert model.openai_compatible and not model.supports_responses
        if model.vendor in ("xai", "google"):
            assert model.regions == US_REGIONS
        if model.vendor in ("openai", "xai", "google"):
            assert model.supports_responses and model.tools


def test_gemini_figures() -> None:
    pro = find_model("google.gemini-2.5-pro")
    assert pro is not None and (pro.context_window, pro.max_output_tokens, pro.vision) == (1_048_576, 65_536, True)


def test_chat_model_ids_by_region() -> None:
    chicago = chat_model_ids("us-chicago-1")
    assert "xai.grok-4" in chicago and "openai.gpt-oss-120b" in chicago and "meta.llama-3.3-70b-instruct" in chicago
    assert not any(m.startswith("cohere.") for m in chicago)
    frankfurt = chat_model_ids("eu-frankfurt-1")
    assert "meta.llama-3.3-70b-instruct" in frankfurt
    assert not any(m.startswith(("xai.", "google.")) for m in frankfurt)
    # Dubai has Generative AI but not the OpenAI-compatible API (agentic-regions.htm).
    assert chat_model_ids("me-dubai-1") == []
    assert chat_model_ids("mars-olympus-1") == []
