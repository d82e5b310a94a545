"""A Responses API request as a Chat Completions request, for models Oracle serves without ``/responses``.

Items become messages: ``instructions`` a leading system message; ``message`` items messages of their role;
consecutive assistant output (a ``message`` and the ``function_call`` items after it) one assistant message with
``tool_calls``; ``function_call_output`` items ``tool`` messages. ``reasoning`` items are dropped: no model on this
path reads reasoning back. Built-in tools (web search, file search, …) have no Chat Completions equivalent and are
refused with a message naming the tool; Responses-only settings (``store``, ``include``, ``truncation``,
``background``, …) are the gateway's business and are not forwarded.
"""

from __future__ import annotations

import orjson

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.responses.items import item_type, request_items

_ROLES = frozenset({"user", "assistant", "system", "developer"})
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_TOOL_CHOICES = frozenset({"auto", "none", "required"})
# Settings with the same name and meaning in both APIs.
_SAME = ("temperature", "top_p", "parallel_tool_calls", "user", "metadata", "service_tier", "safety_identifier")


def to_chat_request(request: JSON, history: list[JSON] | None = None) -> JSON:
    """The Chat Completions body for a Responses ``request``.

    ``history`` holds the input items and then the output items of the earlier responses a
    ``previous_response_id`` chain names, oldest first; they come before this request's input. Their
    ``instructions`` are not carried over, as in OpenAI's API.
    """
    model = request.get("model")
    for unsupported in ("prompt", "conversation"):
        if request.get(unsupported) is not None:
            raise InvalidRequest(
                f"'{unsupported}' is not supported for {model}: send the input itself.", param=unsupported
            )
    messages: list[JSON] = []
    instructions = request.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("'instructions' must be a string.", param="instructions")
    if instructions:
        messages.append({"role": "system", "content": instructions})
    earlier = history or []
    messages.extend(_messages([*earlier, *request_items(request)], len(earlier)))
    if not messages:
        raise InvalidRequest("'input' is required: a string or an array of input items.", param="input")
    chat: JSON = {"model": model, "messages": messages}
    _convert_tools(request, chat)
    _convert_settings(request, chat)
    return chat


class _Items:
    """Where an item came from, for error messages: this request's ``input[i]`` or the stored conversation."""

    def __init__(self, items: list[JSON], history_length: int) -> None:
        self.history_length = history_length
        self.by_id = {
            item["id"]: item
            for item in items
            if isinstance(item.get("id"), str) and item_type(item) != "item_reference"
        }

    def where(self, index: int) -> str:
        if index < self.history_length:
            return f"item {index} of the previous response's conversation"
        return f"input[{index - self.history_length}]"


def _messages(items: list[JSON], history_length: int) -> list[JSON]:
    source = _Items(items, history_length)
    messages: list[JSON] = []
    text: str | None = None  # the assistant turn being assembled: its text and its tool calls
    calls: list[JSON] = []

    def flush() -> None:
        nonlocal text, calls
        if text or calls:
            turn: JSON = {"role": "assistant", "content": text or None}
            if calls:
                turn["tool_calls"] = calls
            messages.append(turn)
        text, calls = None, []

    for index, given in enumerate(items):
        item = _resolved(given, source, index)
        kind = item_type(item)
        where = source.where(index)
        if kind == "reasoning":
            continue
        if kind == "message" and item.get("role") == "assistant":
            flush()
            text = _assistant_text(item.get("content"), where)
        elif kind == "function_call":
            calls.append(_tool_call(item, where))
        else:
            flush()
            if kind == "message":
                messages.append(_message(item, where))
            elif kind == "function_call_output":
                messages.append(_tool_result(item, where))
            else:
                raise InvalidRequest(
                    f"{where} is a '{kind or 'untyped'}' item, which this model cannot take: it is served through "
                    "Chat Completions, which has messages, function calls and function call outputs only.",
                    param="input",
                )
    flush()
    return messages


def _resolved(item: JSON, source: _Items, index: int) -> JSON:
    if item_type(item) != "item_reference":
        return item
    target = source.by_id.get(item.get("id"))
    if target is None:
        raise InvalidRequest(
            f"{source.where(index)} refers to item {item.get('id')!r}, which is not in this conversation.",
            param="input",
        )
    return target


def _message(item: JSON, where: str) -> JSON:
    role = item.get("role")
    if role not in _ROLES:
        raise InvalidRequest(f"{where}.role must be one of {', '.join(sorted(_ROLES))}.", param="input")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content must be a string or an array of content parts.", param="input")
    parts = [_part(part, f"{where}.content[{index}]") for index, part in enumerate(content)]
    if role != "user" and any(part["type"] != "text" for part in parts):
        raise InvalidRequest(f"{where}: a {role} message may hold text only.", param="input")
    if len(parts) == 1 and parts[0]["type"] == "text":
        return {"role": role, "content": parts[0]["text"]}
    return {"role": role, "content": parts}


def _part(part: object, where: str) -> JSON:
    if not isinstance(part, dict):
        raise InvalidRequest(f"{where} must be an object.", param="input")
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": _string(part, "text", where)}
    if kind == "input_image":
        return {"type": "image_url", "image_url": _inline(part, where, "image_url", "url", "detail", _NO_IMAGE_FILES)}
    if kind == "input_file":
        return {"type": "file", "file": _inline(part, where, "file_data", "file_data", "filename", _NO_FILE_REFERENCES)}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": part.get("input_audio")}
    raise InvalidRequest(f"{where}: content part type {kind!r} is not supported on this model.", param="input")


_NO_IMAGE_FILES = (
    "images must be sent as image_url (a URL or a data: URL); this gateway serves no Files API, so file_id cannot "
    "be used."
)
_NO_FILE_REFERENCES = (
    "files must be sent inline as file_data; this gateway serves no Files API, so file_id and file_url cannot be used."
)


def _inline(part: JSON, where: str, key: str, named: str, optional: str, refusal: str) -> JSON:
    """``{named: part[key]}``, which must be a non-empty string (the data itself, not a reference to a file), with
    ``part[optional]`` when it is a string."""
    value = part.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{where}: {refusal}", param="input")
    inline: JSON = {named: value}
    if isinstance(part.get(optional), str):
        inline[optional] = part[optional]
    return inline


def _string(item: JSON, key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{key} must be a string.", param="input")
    return value


def _assistant_text(content: object, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content must be a string or an array of content parts.", param="input")
    texts: list[str] = []
    for index, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in (*_TEXT_PARTS, "refusal"):
            raise InvalidRequest(f"{where}.content[{index}]: an assistant message may hold text only.", param="input")
        texts.append(_string(part, "refusal" if part["type"] == "refusal" else "text", f"{where}.content[{index}]"))
    return "".join(texts)


def _tool_call(item: JSON, where: str) -> JSON:
    arguments = item.get("arguments")
    if isinstance(arguments, dict):  # a client that sent the arguments parsed
        arguments = orjson.dumps(arguments).decode()
    function = {"name": _string(item, "name", where), "arguments": arguments if isinstance(arguments, str) else ""}
    return {"id": _string(item, "call_id", where), "type": "function", "function": function}


def _tool_result(item: JSON, where: str) -> JSON:
    output = item.get("output")
    if isinstance(output, list):
        texts = []
        for index, part in enumerate(output):
            if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS:
                raise InvalidRequest(
                    f"{where}.output[{index}]: this model takes text function call outputs only.", param="input"
                )
            texts.append(_string(part, "text", f"{where}.output[{index}]"))
        output = "\n".join(texts)
    if not isinstance(output, str):
        raise InvalidRequest(f"{where}.output must be a string or an array of text parts.", param="input")
    return {"role": "tool", "tool_call_id": _string(item, "call_id", where), "content": output}


def _convert_tools(request: JSON, chat: JSON) -> None:
    tools = request.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequest("'tools' must be an array of tools.", param="tools")
        chat["tools"] = [_tool(tool, index, request.get("model")) for index, tool in enumerate(tools)]
    choice = request.get("tool_choice")
    if choice is None:
        return
    if isinstance(choice, str) and choice in _TOOL_CHOICES:
        chat["tool_choice"] = choice
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "function" and isinstance(choice, dict) and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif kind == "allowed_tools" and isinstance(choice, dict) and choice.get("mode") in ("auto", "required"):
        # Chat models see only the allowed tools: the same choice, spelled with what every upstream understands.
        allowed = {tool.get("name") for tool in choice.get("tools") or [] if isinstance(tool, dict)}
        chat["tools"] = [tool for tool in chat.get("tools", []) if tool["function"]["name"] in allowed]
        chat["tool_choice"] = choice["mode"]
    else:
        raise InvalidRequest(
            f"tool_choice {choice!r} is not supported on {request.get('model')}: use auto, none, required, a "
            "function, or allowed_tools.",
            param="tool_choice",
        )


def _tool(tool: object, index: int, model: object) -> JSON:
    if not isinstance(tool, dict):
        raise InvalidRequest(f"tools[{index}] must be an object.", param="tools")
    kind = tool.get("type")
    if kind != "function":
        raise InvalidRequest(
            f"The '{kind}' tool (tools[{index}]) is not supported on {model}: this model is served through Chat "
            "Completions, which has function tools only.",
            param="tools",
        )
    if isinstance(tool.get("function"), dict):  # already in Chat Completions form
        return {"type": "function", "function": tool["function"]}
    function: JSON = {"name": _string(tool, "name", f"tools[{index}]")}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _convert_settings(request: JSON, chat: JSON) -> None:
    for key in _SAME:
        if request.get(key) is not None:
            chat[key] = request[key]
    if request.get("max_output_tokens") is not None:
        chat["max_tokens"] = request["max_output_tokens"]
    reasoning = request.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
    text = request.get("text")
    if isinstance(text, dict):
        response_format = _response_format(text.get("format"))
        if response_format is not None:
            chat["response_format"] = response_format
        if text.get("verbosity") is not None:
            chat["verbosity"] = text["verbosity"]
    if request.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}  # the final response event carries usage


def _response_format(given: object) -> JSON | None:
    if given is None:
        return None
    kind = given.get("type") if isinstance(given, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema" and isinstance(given, dict):
        schema = {key: given[key] for key in ("name", "description", "schema", "strict") if given.get(key) is not None}
        return {"type": "json_schema", "json_schema": schema}
    raise InvalidRequest("text.format must be text, json_object or json_schema.", param="text.format")
