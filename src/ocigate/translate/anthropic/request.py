"""An Anthropic Messages API request as a Chat Completions request, so that every chat model the gateway serves
(Oracle's OpenAI-compatible API, and its native GENERIC and COHERE formats through the native provider's own
translation) answers Claude Code and the Anthropic SDKs.

How each part maps:

- ``system`` (a string or text blocks) becomes one leading system message.
- ``user`` content: ``text`` stays text; ``image`` (base64 or URL) becomes an ``image_url`` part (a data: URL for
  base64); ``document`` as a base64 PDF becomes a ``file`` part, as plain text or content blocks becomes text, as a
  URL is refused (Chat Completions takes no file by URL). ``tool_result`` blocks become ``tool`` messages placed
  first, as Chat Completions wants them right after the assistant's calls; their text is joined, ``is_error``
  prefixes it with ``Error:`` (Chat Completions has no such flag), and images they hold follow in a user message.
- ``assistant`` content: text becomes the message's content, ``tool_use`` its ``tool_calls`` (``input`` as JSON
  arguments). ``thinking`` and ``redacted_thinking`` are dropped: no Oracle chat API takes reasoning back as input.
- ``tools`` (``input_schema``) become function tools; Anthropic's server tools (web search, code execution, …) run
  on Anthropic's servers and are refused with their name. ``tool_choice`` auto/any/tool/none map to auto, required,
  the named function and none; ``disable_parallel_tool_use`` to ``parallel_tool_calls: false``.
- ``max_tokens``, ``stop_sequences`` (``stop``), ``temperature``, ``top_p``, ``top_k`` and ``metadata.user_id``
  (``user``) carry over; ``thinking`` budgets become ``reasoning_effort`` (:func:`effort_for_budget`).
"""

from __future__ import annotations

from typing import Any

import orjson

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON

_SAME = ("temperature", "top_p", "top_k", "max_tokens")
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
LOW_BUDGET = 4096
"""``thinking.budget_tokens`` below this is ``reasoning_effort: low``; up to :data:`HIGH_BUDGET` medium; above, high."""
HIGH_BUDGET = 16384


def to_chat_request(request: JSON) -> JSON:
    """The Chat Completions body for a checked Messages ``request`` (``schemas/messages.py``)."""
    messages: list[JSON] = []
    system = system_text(request.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for index, message in enumerate(request["messages"]):
        where = f"messages[{index}]"
        if message["role"] == "assistant":
            messages.append(_assistant(message["content"], where))
        else:
            messages.extend(_user(message["content"], where))
    chat: JSON = {"model": request["model"], "messages": messages}
    for key in _SAME:
        if request.get(key) is not None:
            chat[key] = request[key]
    if request.get("stop_sequences"):
        chat["stop"] = request["stop_sequences"]
    metadata = request.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        chat["user"] = metadata["user_id"]
    effort = _effort(request.get("thinking"))
    if effort is not None:
        chat["reasoning_effort"] = effort
    _tools(request, chat)
    if request.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}  # message_delta carries the usage
    return chat


def system_text(system: object) -> str:
    """``system`` as one string: itself, or its text blocks joined by blank lines."""
    if system is None or isinstance(system, str):
        return system or ""
    if not isinstance(system, list):
        raise InvalidRequest("'system' must be a string or an array of text blocks.", param="system")
    texts = []
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise InvalidRequest(
                f"system[{index}] must be a text block: {{'type': 'text', 'text': ...}}.", param="system"
            )
        texts.append(block["text"])
    return "\n\n".join(texts)


def effort_for_budget(budget: int) -> str:
    """Oracle's reasoning settings have levels, not budgets: a budget below 4096 tokens is low, up to 16384
    medium, more high."""
    return "low" if budget < LOW_BUDGET else "medium" if budget <= HIGH_BUDGET else "high"


def _effort(thinking: object) -> str | None:
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return None  # disabled, or absent: the model's default
    budget = thinking.get("budget_tokens")
    return effort_for_budget(budget) if isinstance(budget, int) else "medium"


def _blocks(content: object, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(block, dict) for block in content):
        raise InvalidRequest(f"{where}.content must be a string or an array of content blocks.", param="messages")
    return content


def _assistant(content: object, where: str) -> JSON:
    texts: list[str] = []
    calls: list[JSON] = []
    for index, block in enumerate(_blocks(content, where)):
        kind = block.get("type")
        at = f"{where}.content[{index}]"
        if kind == "text":
            texts.append(_string(block, "text", at))
        elif kind == "tool_use":
            calls.append(_tool_call(block, at))
        elif kind not in ("thinking", "redacted_thinking"):
            raise InvalidRequest(
                f"{at}: an assistant message may hold text, tool_use and thinking blocks, not {kind!r}.",
                param="messages",
            )
    turn: JSON = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        turn["tool_calls"] = calls
    elif turn["content"] is None:
        turn["content"] = ""  # only thinking: an empty turn, which the sanitizer knows how to send
    return turn


def _tool_call(block: JSON, where: str) -> JSON:
    arguments = block.get("input", {})
    if not isinstance(arguments, dict):
        raise InvalidRequest(f"{where}.input must be an object.", param="messages")
    function = {"name": _string(block, "name", where), "arguments": orjson.dumps(arguments).decode()}
    return {"id": _string(block, "id", where), "type": "function", "function": function}


def _user(content: object, where: str) -> list[JSON]:
    """The tool messages of a user turn's ``tool_result`` blocks first, then a user message with the rest."""
    tools: list[JSON] = []
    parts: list[JSON] = []
    for index, block in enumerate(_blocks(content, where)):
        at = f"{where}.content[{index}]"
        if block.get("type") == "tool_result":
            message, images = _tool_result(block, at)
            tools.append(message)
            parts += images
        else:
            parts.append(_part(block, at))
    out = tools
    if parts:
        if len(parts) == 1 and parts[0]["type"] == "text":
            out.append({"role": "user", "content": parts[0]["text"]})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _tool_result(block: JSON, where: str) -> tuple[JSON, list[JSON]]:
    texts: list[str] = []
    images: list[JSON] = []
    for index, inner in enumerate(_blocks(block.get("content", ""), where)):
        part = _part(inner, f"{where}.content[{index}]")
        if part["type"] == "text":
            texts.append(part["text"])
        else:
            images.append(part)
    text = "\n".join(texts)
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": _string(block, "tool_use_id", where), "content": text}, images


def _part(block: JSON, where: str) -> JSON:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": _string(block, "text", where)}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(block.get("source"), where)}}
    if kind == "document":
        return _document(block, where)
    if kind in ("tool_use", "thinking", "redacted_thinking"):
        raise InvalidRequest(f"{where}: a {kind} block belongs in an assistant message.", param="messages")
    raise InvalidRequest(f"{where}: content block type {kind!r} is not supported on this gateway.", param="messages")


def _image_url(source: object, where: str) -> str:
    if not isinstance(source, dict):
        raise InvalidRequest(f"{where}.source must be an object.", param="messages")
    if source.get("type") == "url":
        return _string(source, "url", f"{where}.source")
    if source.get("type") == "base64":
        media = source.get("media_type")
        if media not in _IMAGE_TYPES:
            raise InvalidRequest(
                f"{where}.source.media_type must be one of {', '.join(sorted(_IMAGE_TYPES))}.", param="messages"
            )
        return f"data:{media};base64,{_string(source, 'data', f'{where}.source')}"
    raise InvalidRequest(f"{where}.source.type must be base64 or url.", param="messages")


def _document(block: JSON, where: str) -> JSON:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    at = f"{where}.source"
    if isinstance(source, dict) and kind == "text":
        return {"type": "text", "text": _string(source, "data", at)}
    if isinstance(source, dict) and kind == "content":
        inner = [_part(part, f"{at}.content[{i}]") for i, part in enumerate(_blocks(source.get("content"), at))]
        return {"type": "text", "text": "\n".join(part.get("text", "") for part in inner)}
    if isinstance(source, dict) and kind == "base64":
        media = source.get("media_type") or "application/pdf"
        name = block.get("title") if isinstance(block.get("title"), str) else "document.pdf"
        data = _string(source, "data", at)
        return {"type": "file", "file": {"file_data": f"data:{media};base64,{data}", "filename": name}}
    raise InvalidRequest(
        f"{where}: a document must be sent inline (source type base64, text or content); Chat Completions, which "
        "this gateway translates to, takes no document by URL or file id.",
        param="messages",
    )


def _string(block: JSON, key: str, where: str) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{key} must be a string.", param="messages")
    return value


def _tools(request: JSON, chat: JSON) -> None:
    tools = request.get("tools")
    if tools:
        chat["tools"] = [_tool(tool, index) for index, tool in enumerate(tools)]
    choice: Any = request.get("tool_choice")
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "auto":
        chat["tool_choice"] = "auto"
    elif kind == "any":
        chat["tool_choice"] = "required"
    elif kind == "none":
        chat["tool_choice"] = "none"
    elif kind == "tool":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    if choice.get("disable_parallel_tool_use") is True and tools and kind != "none":
        chat["parallel_tool_calls"] = False


def _tool(tool: JSON, index: int) -> JSON:
    kind = tool.get("type")
    if kind not in (None, "custom") or "input_schema" not in tool:
        raise InvalidRequest(
            f"tools[{index}] ({tool.get('name')!r}, type {kind!r}) is one of Anthropic's server tools, which run "
            "on Anthropic's servers: Oracle's models can only call tools defined with an input_schema.",
            param="tools",
        )
    function: JSON = {"name": tool["name"], "parameters": tool["input_schema"]}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}
