from __future__ import annotations

import pytest

from ocigate.catalog.metadata import budgets, model_kind, model_metadata


def test_a_catalogue_model_gets_its_capabilities_and_budgets() -> None:
    assert model_metadata("meta.llama-3.3-70b-instruct") == {
        "toolCalling": True,
        "vision": False,
        "thinking": False,
        "maxInputTokens": 124_000,
        "maxOutputTokens": 4_000,
        "context_window": 128_000,
    }
    gemini = model_metadata("google.gemini-2.5-flash")
    assert (gemini["vision"], gemini["thinking"], gemini["toolCalling"]) == (True, True, True)
    assert gemini["maxInputTokens"] + gemini["maxOutputTokens"] == gemini["context_window"] == 1_048_576


def test_a_model_whose_output_may_fill_its_window_keeps_half_of_it_for_the_prompt() -> None:
    gpt_oss = model_metadata("openai.gpt-oss-120b")
    assert (gpt_oss["maxInputTokens"], gpt_oss["maxOutputTokens"]) == (64_000, 64_000)
    assert budgets(131_072, 131_072) == (65_536, 65_536)
    assert budgets(1, 1) == (0, 1)


def test_provider_prefixed_ids_and_aliases_are_found() -> None:
    assert model_metadata("ashburn/xai.grok-4") == model_metadata("xai.grok-4")
    assert model_metadata("cohere.command-latest") == model_metadata("cohere.command-r-08-2024")


def test_an_unknown_model_gets_conservative_defaults() -> None:
    assert model_metadata("acme.frontier-9") == {
        "toolCalling": True,
        "vision": False,
        "thinking": False,
        "maxInputTokens": 128_000 - 4_096,
        "maxOutputTokens": 4_096,
        "context_window": 128_000,
    }


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("xai.grok-3", "chat"),
        ("cohere.embed-v4.0", "embeddings"),
        ("cohere.rerank-v3.5", "rerank"),
        ("oracle/cohere.embed-english-v3.0", "embeddings"),
        ("text-embedding-3-small", "embeddings"),
        ("acme-rerank-2", "rerank"),
        ("acme.frontier-9", "chat"),
    ],
)
def test_model_kind(model: str, kind: str) -> None:
    assert model_kind(model) == kind
