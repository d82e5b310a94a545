"""What each model family on Oracle accepts in a Chat Completions request: the rules ``sanitize`` applies.

Each choice names its source. Where no source says a family refuses a standard OpenAI field, the field is kept:
dropping a parameter silently is worse than an upstream 400 that names it. A deployment that learns otherwise
overrides one family without touching code::

    overrides = {"meta": replace(DEFAULT_PROFILES["meta"], fields=DEFAULT_PROFILES["meta"].fields - {"seed"})}
    sanitize_chat_request(body, model, profile_for(model, overrides))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from ocigate.catalog.models import ModelInfo

TokenField = Literal["max_tokens", "max_completion_tokens"]

# The top-level fields of OpenAI's chat.completions.create (openai 3.54 CompletionCreateParams), less
# prompt_cache_options: VS Code injects it (vscode#329182) and Oracle has no such field (SDK GenericChatRequest).
OPENAI_CHAT_FIELDS: frozenset[str] = frozenset(
    {
        "model",
        "messages",
        "stream",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)

# Fields clients add inside messages and content parts that no Oracle model takes: VS Code's copilot_cache_control,
# copilot_references, cot_id and cot_summary (vscode-copilot-chat openAIEndpoint.ts, docs/clients-vscode-postman.md),
# prompt_cache_options (vscode#329182), and Anthropic-style cache_control that agents such as Cline add.
CLIENT_FIELDS: frozenset[str] = frozenset(
    {"copilot_cache_control", "copilot_references", "cot_id", "cot_summary", "prompt_cache_options", "cache_control"}
)


@dataclass(frozen=True, slots=True)
class SanitizeProfile:
    """How one model family's requests are cleaned.

    ``fields``: the top-level fields the family takes; others are dropped. ``client_fields``: dropped from every
    message and content part. ``reasoning_dropped``: top-level fields the family's reasoning models refuse.
    ``reasoning_effort_models``: model-id prefixes that take ``reasoning_effort`` (None: every reasoning model;
    non-reasoning models never get it). ``token_field``: the output-limit field to send (None: by the model's
    ``reasoning``). ``hoist_system``: merge system and developer messages into one leading system message.
    """

    fields: frozenset[str] = OPENAI_CHAT_FIELDS
    client_fields: frozenset[str] = CLIENT_FIELDS
    reasoning_dropped: frozenset[str] = frozenset()
    reasoning_effort_models: tuple[str, ...] | None = None
    token_field: TokenField | None = None
    hoist_system: bool = False

    def takes_reasoning_effort(self, model: ModelInfo) -> bool:
        # Oracle passes reasoning_effort to models without the dial and answers 400 "Model does not support
        # parameter reasoningEffort" (acedergren/opencode-oci-provider v0.2.3), so only reasoning models get it.
        if not model.reasoning:
            return False
        return self.reasoning_effort_models is None or model.id.startswith(self.reasoning_effort_models)


GENERIC_PROFILE = SanitizeProfile()

DEFAULT_PROFILES: Mapping[str, SanitizeProfile] = MappingProxyType(
    {
        # gpt-oss: standard fields. Empty content is the known trap (peers.md), handled for every family.
        "openai": GENERIC_PROFILE,
        # Llama's chat templates (Meta's 3.1/3.3/4 tokenizer configs) take the system prompt from messages[0]
        # only, and their tool-call format expects results right after the call, so a later system message is
        # rendered as a stray turn; strict templates refuse it outright ("System message must be at the
        # beginning": llama.cpp#20733, omlx#197, which fixed it the same way: consolidate at the front). No
        # Oracle-specific capture was found [uncertain]; hoisting is harmless for a model with one system prompt.
        "meta": SanitizeProfile(hoist_system=True),
        # xAI rejects reasoning_effort on every Grok but grok-3-mini (hermes-agent d6e1fad, verified against
        # api.x.ai; on Oracle: opencode-oci-provider v0.2.3), and its reasoning models reject presence_penalty,
        # frequency_penalty and stop (mnfst/modelparams.dev#20, live checks against xAI's API).
        "xai": SanitizeProfile(
            reasoning_dropped=frozenset({"presence_penalty", "frequency_penalty", "stop"}),
            reasoning_effort_models=("xai.grok-3-mini",),
        ),
        "google": GENERIC_PROFILE,
        # Cohere is served by the native API, not the OpenAI-compatible one; its translation sees these rules.
        "cohere": GENERIC_PROFILE,
    }
)


def profiles_with(rules: Mapping[str, tuple[frozenset[str], frozenset[str], str | None]]) -> dict[str, SanitizeProfile]:
    """The default profiles changed by the operator's rules: vendor → (fields to drop, fields to allow, token
    field or None)."""
    profiles = dict(DEFAULT_PROFILES)
    for vendor, (drop, allow, token_field) in rules.items():
        base = profiles.get(vendor, GENERIC_PROFILE)
        field = token_field if token_field in ("max_tokens", "max_completion_tokens") else base.token_field
        profiles[vendor] = replace(
            base,
            fields=(base.fields - drop) | allow,
            token_field=field,  # type: ignore[arg-type]
        )
    return profiles
