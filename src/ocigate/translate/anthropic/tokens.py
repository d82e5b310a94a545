"""``count_tokens`` without a counting endpoint: an honest estimate.

Oracle's Generative AI has no token-counting API, and its models use different tokenizers (Meta's, Cohere's,
OpenAI's o200k for gpt-oss, xAI's), none of which the gateway carries. The estimate is computed from the Chat
Completions request the gateway would send (so it counts exactly what the model will see):

- text (system, messages, tool results, tool names, descriptions and input schemas as compact JSON, tool-use
  inputs): one token per :data:`CHARS_PER_TOKEN` characters, rounded up per piece. Four characters a token is the
  usual figure for English on these byte-pair tokenizers; code and non-Latin scripts take more tokens, so the
  estimate runs low for them;
- :data:`PER_MESSAGE` tokens for each message's role and framing, :data:`PER_TOOL` for each tool's framing;
- :data:`PER_IMAGE` tokens for each image or file (the gateway does not decode images to measure them; Anthropic
  counts about width × height / 750, so 1,600 stands for a 1,092 × 1,092 image).

Clients use the figure to decide when to compact a conversation; it is documented as an estimate in the README.
"""

from __future__ import annotations

import math

import orjson

from ocigate.core.types import JSON

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4
PER_TOOL = 8
PER_IMAGE = 1600


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_input_tokens(chat: JSON) -> int:
    """The estimated input tokens of a Chat Completions request (``request.to_chat_request``'s)."""
    total = 0
    for message in chat.get("messages") or []:
        total += PER_MESSAGE
        content = message.get("content")
        if isinstance(content, str):
            total += _text_tokens(content)
        elif isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, dict) else None
                total += _text_tokens(text) if isinstance(text, str) else PER_IMAGE
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            total += _text_tokens(str(function.get("name", ""))) + _text_tokens(str(function.get("arguments", "")))
    for tool in chat.get("tools") or []:
        total += PER_TOOL + _text_tokens(orjson.dumps(tool.get("function")).decode())
    return total
