"""Oracle's on-demand model catalogue: what each model is, can do, and where it runs.

The gateway reads this for model metadata (context windows, capabilities) and the emulator for what it offers in
its region. Sources: docs/oracle-genai-api.md §5 (Oracle's regions pages and litellm's price table); figures the
doc leaves blank come from the vendor's own model card and say so next to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Vendor = Literal["cohere", "meta", "openai", "xai", "google"]
Capability = Literal["chat", "embeddings", "rerank"]

# The three US regions carry every model; xAI and Gemini are "external calls" offered only there (doc §5.2,
# model-endpoint-regions.htm).
US_REGIONS: tuple[str, ...] = ("us-chicago-1", "us-ashburn-1", "us-phoenix-1")
# Where the OpenAI-compatible (agentic) API runs (agentic-regions.htm, doc §5.1).
COMPAT_REGIONS: tuple[str, ...] = (
    *US_REGIONS,
    "sa-saopaulo-1",
    "eu-frankfurt-1",
    "uk-london-1",
    "me-riyadh-1",
    "ap-hyderabad-1",
    "ap-osaka-1",
)
# Every region with Generative AI (doc §5.1); Cohere's models are the ones found nearly everywhere.
ALL_REGIONS: tuple[str, ...] = (
    *COMPAT_REGIONS,
    "me-dubai-1",
    "me-abudhabi-1",
    "uk-gov-london-1",
    "eu-frankfurt-2",
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    vendor: Vendor
    capabilities: tuple[Capability, ...]
    context_window: int
    max_output_tokens: int
    regions: tuple[str, ...]
    reasoning: bool = False
    vision: bool = False
    tools: bool = False
    # Cohere speaks only its own native formats: Oracle's OpenAI-compatible paths do not serve it.
    openai_compatible: bool = True
    # Oracle's Responses API serves OpenAI, xAI and Gemini models, not Meta or Cohere (oci-openai README).
    supports_responses: bool = True
    aliases: tuple[str, ...] = ()
    embedding_dimensions: int | None = None

    @property
    def chat(self) -> bool:
        return "chat" in self.capabilities


def _cohere(
    id: str,
    capabilities: tuple[Capability, ...],
    context_window: int,
    max_output_tokens: int,
    *,
    tools: bool = False,
    vision: bool = False,
    reasoning: bool = False,
    aliases: tuple[str, ...] = (),
    embedding_dimensions: int | None = None,
) -> ModelInfo:
    return ModelInfo(
        id=id,
        vendor="cohere",
        capabilities=capabilities,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        regions=ALL_REGIONS,
        reasoning=reasoning,
        vision=vision,
        tools=tools,
        openai_compatible=False,
        supports_responses=False,
        aliases=aliases,
        embedding_dimensions=embedding_dimensions,
    )


def _meta(id: str, context_window: int, max_output_tokens: int, *, vision: bool, tools: bool) -> ModelInfo:
    return ModelInfo(
        id=id,
        vendor="meta",
        capabilities=("chat",),
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        regions=COMPAT_REGIONS,
        vision=vision,
        tools=tools,
        supports_responses=False,
    )


def _external(
    id: str, vendor: Vendor, context_window: int, max_output_tokens: int, *, reasoning: bool, vision: bool
) -> ModelInfo:
    return ModelInfo(
        id=id,
        vendor=vendor,
        capabilities=("chat",),
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        regions=US_REGIONS,
        reasoning=reasoning,
        vision=vision,
        tools=True,
    )


_CHAT: tuple[Capability, ...] = ("chat",)
_EMBED: tuple[Capability, ...] = ("embeddings",)
_RERANK: tuple[Capability, ...] = ("rerank",)

MODELS: tuple[ModelInfo, ...] = (
    # Cohere: 4,000 output tokens is Oracle's on-demand cap for every Cohere chat model (SDK maxTokens docstring).
    _cohere("cohere.command-a-03-2025", _CHAT, 256_000, 4_000, tools=True),
    _cohere("cohere.command-r-08-2024", _CHAT, 128_000, 4_000, tools=True, aliases=("cohere.command-latest",)),
    _cohere(
        "cohere.command-r-plus-08-2024", _CHAT, 128_000, 4_000, tools=True, aliases=("cohere.command-plus-latest",)
    ),
    _cohere("cohere.command-a-vision-07-2025", _CHAT, 128_000, 4_000, vision=True),
    _cohere("cohere.command-a-reasoning-08-2025", _CHAT, 256_000, 4_000, reasoning=True, tools=True),
    _cohere("cohere.embed-v4.0", _EMBED, 128_000, 0, vision=True, embedding_dimensions=1536),
    # Each embedding input is capped at 512 tokens (SDK EmbedTextDetails docstring).
    _cohere("cohere.embed-english-v3.0", _EMBED, 512, 0, embedding_dimensions=1024),
    _cohere("cohere.embed-multilingual-v3.0", _EMBED, 512, 0, embedding_dimensions=1024),
    _cohere("cohere.embed-english-light-v3.0", _EMBED, 512, 0, embedding_dimensions=384),
    _cohere("cohere.embed-multilingual-light-v3.0", _EMBED, 512, 0, embedding_dimensions=384),
    _cohere("cohere.embed-english-image-v3.0", _EMBED, 512, 0, vision=True, embedding_dimensions=1024),
    _cohere("cohere.embed-multilingual-image-v3.0", _EMBED, 512, 0, vision=True, embedding_dimensions=1024),
    _cohere("cohere.embed-english-light-image-v3.0", _EMBED, 512, 0, vision=True, embedding_dimensions=384),
    _cohere("cohere.embed-multilingual-light-image-v3.0", _EMBED, 512, 0, vision=True, embedding_dimensions=384),
    # Rerank context windows are Cohere's published figures; Oracle's doc gives none.
    _cohere("cohere.rerank-v3.5", _RERANK, 4_096, 0),
    _cohere("cohere.rerank-v4.0-fast", _RERANK, 32_768, 0),
    _cohere("cohere.rerank-v4.0-pro", _RERANK, 32_768, 0),
    _meta("meta.llama-3.3-70b-instruct", 128_000, 4_000, vision=False, tools=True),
    _meta("meta.llama-3.2-90b-vision-instruct", 128_000, 4_000, vision=True, tools=False),
    _meta("meta.llama-3.2-11b-vision-instruct", 128_000, 4_000, vision=True, tools=False),
    # The sources disagree on Llama 4's context (1M, 10M, 512k, doc §5.2): litellm's 1M is used.
    _meta("meta.llama-4-maverick-17b-128e-instruct-fp8", 1_000_000, 8_000, vision=True, tools=True),
    _meta("meta.llama-4-scout-17b-16e-instruct", 1_000_000, 8_000, vision=True, tools=True),
    ModelInfo(
        id="openai.gpt-oss-120b",
        vendor="openai",
        capabilities=_CHAT,
        context_window=128_000,
        max_output_tokens=128_000,
        regions=COMPAT_REGIONS,
        reasoning=True,
        tools=True,
    ),
    ModelInfo(
        id="openai.gpt-oss-20b",
        vendor="openai",
        capabilities=_CHAT,
        context_window=128_000,
        max_output_tokens=128_000,
        regions=COMPAT_REGIONS,
        reasoning=True,
        tools=True,
    ),
    _external("xai.grok-3", "xai", 131_072, 131_072, reasoning=False, vision=False),
    _external("xai.grok-3-fast", "xai", 131_072, 131_072, reasoning=False, vision=False),
    _external("xai.grok-3-mini", "xai", 131_072, 131_072, reasoning=True, vision=False),
    _external("xai.grok-3-mini-fast", "xai", 131_072, 131_072, reasoning=True, vision=False),
    _external("xai.grok-4", "xai", 128_000, 128_000, reasoning=True, vision=True),
    # Grok 4 Fast and Grok Code Fast: Oracle's pages name them without figures; 2M / 256k are xAI's model cards.
    _external("xai.grok-4-fast-reasoning", "xai", 2_000_000, 30_000, reasoning=True, vision=True),
    _external("xai.grok-4-fast-non-reasoning", "xai", 2_000_000, 30_000, reasoning=False, vision=True),
    _external("xai.grok-4-1-fast-reasoning", "xai", 2_000_000, 30_000, reasoning=True, vision=True),
    _external("xai.grok-4-1-fast-non-reasoning", "xai", 2_000_000, 30_000, reasoning=False, vision=True),
    _external("xai.grok-code-fast-1", "xai", 256_000, 10_000, reasoning=False, vision=False),
    _external("google.gemini-2.5-pro", "google", 1_048_576, 65_536, reasoning=True, vision=True),
    _external("google.gemini-2.5-flash", "google", 1_048_576, 65_536, reasoning=True, vision=True),
    _external("google.gemini-2.5-flash-lite", "google", 1_048_576, 65_536, reasoning=False, vision=True),
)

_BY_ID: dict[str, ModelInfo] = {alias: m for m in MODELS for alias in (m.id, *m.aliases)}


def find_model(model_id: str) -> ModelInfo | None:
    """The model with this id or alias (``cohere.command-latest``), or None."""
    return _BY_ID.get(model_id)


def models_in_region(region: str) -> dict[str, ModelInfo]:
    """Every id and alias Oracle serves in ``region``, for a lookup per request."""
    return {alias: m for alias, m in _BY_ID.items() if region in m.regions}


def chat_model_ids(region: str) -> list[str]:
    """The models the emulator offers on the OpenAI-compatible path in ``region``, in catalogue order."""
    return [m.id for m in MODELS if m.chat and m.openai_compatible and region in m.regions]
