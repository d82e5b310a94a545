"""Chat Completions requests made safe for Oracle's strict upstreams, per model family.

OpenAI ignores what it does not know; Oracle answers 400. VS Code and agents send fields of their own
(docs/clients-vscode-postman.md), ``""`` content (which gpt-oss on Oracle rejects, peers.md), tool histories
whose ids do not line up (see ``tool_turns``), and parameters some families refuse. :func:`sanitize_chat_request`
mends all of it in one place, following a :class:`SanitizeProfile` per vendor.

Empty content, decided here once:

- an assistant message with tool calls and empty content loses its ``content`` (litellm#14158: ``""`` beside
  ``tool_calls`` broke tool-call id validation on Oracle);
- an empty system or developer message, or an assistant message with neither text nor calls, says nothing and is
  dropped;
- an empty tool result must exist (its call needs an answer), so it becomes the visible ``(empty)``;
- an empty user message is dropped, unless it is the last message, which the model answers: then ``(empty)``.

The function is the hot path's: it returns ``body`` itself when nothing needed changing, never mutates it, and
copies only what it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ocigate.catalog.models import ModelInfo
from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.responses.output import content_text
from ocigate.translate.sanitize.profile import DEFAULT_PROFILES, GENERIC_PROFILE, SanitizeProfile
from ocigate.translate.sanitize.tool_turns import repair_tool_turns

EMPTY_PLACEHOLDER = "(empty)"
# A function tool without a schema: VS Code's own fix for the same problem (chatEndpoint.ts).
EMPTY_PARAMETERS: Mapping[str, Any] = MappingProxyType({"type": "object", "properties": {}})
_DROP = object()


def profile_for(model: ModelInfo | None, overrides: Mapping[str, SanitizeProfile] | None = None) -> SanitizeProfile:
    """The profile for ``model``'s vendor: from ``overrides`` (the gateway's configuration) or the defaults."""
    if model is None:
        return GENERIC_PROFILE
    if overrides and model.vendor in overrides:
        return overrides[model.vendor]
    return DEFAULT_PROFILES.get(model.vendor, GENERIC_PROFILE)


def sanitize_chat_request(body: JSON, model: ModelInfo | None, profile: SanitizeProfile | None = None) -> JSON:
    """``body`` as ``model``'s upstream accepts it; ``body`` itself when it already did.

    ``model`` None (a model the catalogue does not know) gets the generic profile: standard OpenAI fields only.
    Raises :class:`InvalidRequest` for tool results that cannot be matched to their calls.
    """
    rules = profile or profile_for(model)
    changes: dict[str, object] = {}
    for key in body.keys() - rules.fields:
        changes[key] = _DROP
    _token_limit(body, model, rules, changes)
    _reasoning_only(body, model, rules, changes)
    _tools(body, changes)
    if body.get("stream") is not True and "stream_options" in body:
        changes["stream_options"] = _DROP  # OpenAI refuses stream_options without stream
    messages = body.get("messages")
    if isinstance(messages, list):
        cleaned = _messages(messages, rules)
        if cleaned is not messages:
            changes["messages"] = cleaned
    if not changes:
        return body
    out = {key: changes.get(key, value) for key, value in body.items() if changes.get(key) is not _DROP}
    out.update((key, value) for key, value in changes.items() if value is not _DROP and key not in body)
    return out


def _token_limit(body: JSON, model: ModelInfo | None, rules: SanitizeProfile, changes: dict[str, object]) -> None:
    """One output limit, under the name the model takes: reasoning models ``max_completion_tokens``, which counts
    reasoning too (litellm: Oracle's OpenAI reasoning models reject ``maxTokens``), others ``max_tokens``."""
    target = rules.token_field
    if target is None and model is not None:
        target = "max_completion_tokens" if model.reasoning else "max_tokens"
    if target is None:  # an unknown model: keep what the client sent, but never both
        if "max_tokens" in body and "max_completion_tokens" in body:
            changes["max_tokens"] = _DROP
        return
    other = "max_tokens" if target == "max_completion_tokens" else "max_completion_tokens"
    if other in body:
        changes[other] = _DROP
        if body.get(target) is None and body[other] is not None:
            changes[target] = body[other]
    # A limit above the model's own is refused by Oracle (VS Code asks 16000 of models capped at 4000).
    wanted = changes.get(target, body.get(target))
    if model is not None and isinstance(wanted, int) and not isinstance(wanted, bool):
        if wanted > model.max_output_tokens:
            changes[target] = model.max_output_tokens


def _reasoning_only(body: JSON, model: ModelInfo | None, rules: SanitizeProfile, changes: dict[str, object]) -> None:
    if model is None:
        return
    if "reasoning_effort" in body and not rules.takes_reasoning_effort(model):
        changes["reasoning_effort"] = _DROP
    if model.reasoning:
        for key in rules.reasoning_dropped & body.keys():
            changes[key] = _DROP


def _tools(body: JSON, changes: dict[str, object]) -> None:
    tools = body.get("tools")
    if tools is None or tools == []:
        # No tools (VS Code removes an empty array too): OpenAI refuses tool_choice and parallel_tool_calls alone.
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            if key in body:
                changes[key] = _DROP
        return
    if not isinstance(tools, list):
        return
    fixed = [_with_parameters(tool) for tool in tools]
    if any(new is not old for new, old in zip(fixed, tools, strict=True)):
        changes["tools"] = fixed


def _with_parameters(tool: object) -> object:
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
        return tool
    function = tool["function"]
    if function.get("parameters"):
        return tool
    return {**tool, "function": {**function, "parameters": dict(EMPTY_PARAMETERS)}}


def _messages(messages: list[Any], rules: SanitizeProfile) -> list[Any]:
    cleaned: list[Any] | None = None
    last = len(messages) - 1
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages[{index}] must be an object with a role.", param="messages")
        new = _message(message, rules, index == last)
        if new is not message and cleaned is None:
            cleaned = messages[:index]
        if cleaned is not None and new is not None:
            cleaned.append(new)
    result = messages if cleaned is None else cleaned
    result = repair_tool_turns(result)
    if rules.hoist_system:
        result = _system_first(result)
    return result


def _message(message: JSON, rules: SanitizeProfile, last: bool) -> JSON | None:
    """The message cleaned, ``message`` itself if already clean, or None to drop it."""
    out = message
    if rules.client_fields & message.keys():
        out = {key: value for key, value in message.items() if key not in rules.client_fields}
    content = message.get("content")
    if isinstance(content, list):
        parts = _parts(content, rules.client_fields)
        if parts is not content:
            out = {**out, "content": parts}
            content = parts
    if content is not None and content != "" and content != []:
        return out
    role = message.get("role")
    if role == "assistant":
        if message.get("tool_calls"):
            return out if "content" not in out or content is None else _without(out, "content")
        return None
    if role == "tool" or (role == "user" and last):
        return {**out, "content": EMPTY_PLACEHOLDER}
    if role in ("system", "developer", "user"):
        return None
    return out


def _without(message: JSON, key: str) -> JSON:
    return {k: v for k, v in message.items() if k != key}


def _parts(parts: list[Any], client_fields: frozenset[str]) -> list[Any]:
    """Content parts without client fields, ``image_url.media_type`` (VS Code) or empty text."""
    out: list[Any] | None = None
    for index, part in enumerate(parts):
        new = part
        if isinstance(part, dict):
            if client_fields & part.keys():
                new = {key: value for key, value in part.items() if key not in client_fields}
            image = new.get("image_url")
            if isinstance(image, dict) and "media_type" in image:
                new = {**new, "image_url": _without(image, "media_type")}
            if new.get("type") == "text" and new.get("text") == "":
                new = None
        if new is not part and out is None:
            out = parts[:index]
        if out is not None and new is not None:
            out.append(new)
    return parts if out is None else out


def _system_first(messages: list[Any]) -> list[Any]:
    """System and developer messages merged into one leading system message (``SanitizeProfile.hoist_system``)."""
    positions = [
        index
        for index, message in enumerate(messages)
        if isinstance(message, dict) and message.get("role") in ("system", "developer")
    ]
    if not positions or (positions == [0] and messages[0]["role"] == "system"):
        return messages
    texts = [content_text(messages[index].get("content")) for index in positions]
    merged = "\n\n".join(text for text in texts if text)
    skip = set(positions)
    rest = [message for index, message in enumerate(messages) if index not in skip]
    return [{"role": "system", "content": merged}, *rest] if merged else rest
