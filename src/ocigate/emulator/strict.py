"""The strictness of Oracle's OpenAI-compatible chat endpoint towards fields it does not know.

OpenAI ignores unknown request fields; strict upstreams answer 400, and VS Code's agent sends fields of its own
(``copilot_cache_control``, ``copilot_references``, ``cot_id``, ``cot_summary``, ``prompt_cache_options``,
``image_url.media_type``; shared/docs/clients-vscode-postman.md), which is how VS Code, Zed and Goose broke on
Oracle (shared/docs/peers.md). [uncertain: Oracle's exact message for an unknown field is not captured publicly;
the emulator answers like vLLM-based OpenAI servers do.] Meta models mishandle a system message that does not
open the conversation (the "Llama quirk"); the emulator refuses it so that a client's mistake shows.
"""

from __future__ import annotations

from typing import Any

from ocigate.emulator.errors import invalid

CHAT_FIELDS = frozenset(
    {
        "model", "messages", "frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs",
        "max_tokens", "max_completion_tokens", "n", "response_format", "seed", "service_tier", "stop", "stream",
        "stream_options", "temperature", "top_p", "top_k", "tools", "tool_choice", "parallel_tool_calls", "user",
        "reasoning_effort", "metadata", "store", "modalities", "prediction", "web_search_options", "verbosity",
        "audio", "functions", "function_call", "prompt_cache_key", "prompt_cache_retention", "safety_identifier",
    }
)  # fmt: skip
# The request fields of OpenAI's Chat Completions API are accepted (an OpenAI-compatible endpoint takes them, if
# only to ignore them); what no OpenAI client sends is refused.
MESSAGE_FIELDS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "reasoning_content", "function_call", "audio"}
)
PART_FIELDS = frozenset({"type", "text", "image_url", "input_audio", "file"})
IMAGE_URL_FIELDS = frozenset({"url", "detail"})


def check_chat_fields(body: dict[str, Any], vendor: str) -> None:
    unknown = body.keys() - CHAT_FIELDS
    if unknown:
        raise invalid(f"Invalid parameter: unrecognized request argument supplied: {sorted(unknown)[0]}")
    if "max_tokens" in body and "max_completion_tokens" in body:
        raise invalid("Invalid parameter: set only one of 'max_tokens' and 'max_completion_tokens'.")
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        extra = message.keys() - MESSAGE_FIELDS
        if extra:
            raise invalid(f"Invalid parameter: unrecognized field 'messages[{index}].{sorted(extra)[0]}'.")
        content = message.get("content")
        if isinstance(content, list):
            _check_parts(content, index)
        if (
            vendor == "meta"
            and message.get("role") == "system"
            and any(isinstance(m, dict) and m.get("role") != "system" for m in messages[:index])
        ):
            raise invalid(f"Invalid parameter: 'messages[{index}]': a system message must open the conversation.")


def _check_parts(parts: list[Any], index: int) -> None:
    for position, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        extra = part.keys() - PART_FIELDS
        image = part.get("image_url")
        if isinstance(image, dict):
            extra |= {f"image_url.{key}" for key in image.keys() - IMAGE_URL_FIELDS}
        if extra:
            raise invalid(
                f"Invalid parameter: unrecognized field 'messages[{index}].content[{position}].{sorted(extra)[0]}'."
            )
