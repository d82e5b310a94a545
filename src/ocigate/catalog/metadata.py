"""What a client needs to know about a model before it calls it: kind, capabilities and token budgets.

``ocigate vscode`` writes these figures into VS Code's model entries and ``/v1/models`` can carry the same ones.
They come from ``ocigate.catalog.models``; a model the catalogue does not know gets conservative defaults.
"""

from __future__ import annotations

from typing import Any, Literal

from ocigate.catalog.models import ModelInfo, find_model

ModelKind = Literal["chat", "embeddings", "rerank"]

# Unknown models: what nearly every current chat model can do, and budgets that fit the smallest of them.
DEFAULT_CONTEXT_WINDOW = 128_000
DEFAULT_MAX_OUTPUT_TOKENS = 4_096


def catalog_entry(model_id: str) -> ModelInfo | None:
    """The catalogue's model for ``model`` or ``provider/model`` (``ashburn/xai.grok-4``), or None."""
    found = find_model(model_id)
    if found is None and "/" in model_id:
        found = find_model(model_id.split("/", 1)[1])
    return found


def model_kind(model_id: str) -> ModelKind:
    """What the model is for: the catalogue's word, else a guess from the name (``text-embedding-3-small``)."""
    info = catalog_entry(model_id)
    if info is not None:
        return info.capabilities[0]
    name = model_id.lower()
    if "rerank" in name:
        return "rerank"
    if "embed" in name:
        return "embeddings"
    return "chat"


def budgets(context_window: int, max_output_tokens: int) -> tuple[int, int]:
    """``(max_input, max_output)`` that add up to at most the context window.

    Several catalogue models (gpt-oss, Grok 3) may spend their whole window on output. A client that reserves
    that much for the answer has nothing left for the prompt, so the output budget is capped at half the window,
    which bounds the input budget below at the other half.
    """
    max_output = max(1, min(max_output_tokens, context_window // 2))
    return context_window - max_output, max_output


def model_metadata(model_id: str) -> dict[str, Any]:
    """Capabilities and budgets in VS Code's field names, plus the context window.

    >>> model_metadata("meta.llama-3.3-70b-instruct")["maxInputTokens"]
    124000
    """
    info = catalog_entry(model_id)
    if info is None:
        tools, vision, thinking = True, False, False
        window, output = DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_OUTPUT_TOKENS
    else:
        tools, vision, thinking = info.tools, info.vision, info.reasoning
        window, output = info.context_window, info.max_output_tokens
    max_input, max_output = budgets(window, output)
    return {
        "toolCalling": tools,
        "vision": vision,
        "thinking": thinking,
        "maxInputTokens": max_input,
        "maxOutputTokens": max_output,
        "context_window": window,
    }
