"""An OpenAI chat request's messages, tools and tool choice, read once and checked, for the three native formats.

The client's mistakes (an unknown role, a tool message without ``tool_call_id``, a non-function tool) become
:class:`~ocigate.core.errors.InvalidRequest` naming the field, before anything is sent upstream. Everything else about a
format lives in its own module: ``oci_chat_generic`` and ``oci_chat_cohere``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.oracle.schema import inline_schema

Role = Literal["system", "developer", "user", "assistant", "tool"]
PartKind = Literal["text", "image", "audio", "document"]
ROLES: frozenset[str] = frozenset({"system", "developer", "user", "assistant", "tool"})
EMPTY_PARAMETERS: JSON = {"type": "object", "properties": {}}


@dataclass(frozen=True, slots=True)
class Part:
    kind: PartKind
    value: str  # the text, or the URL (``data:`` URLs included) of an image, audio clip or document
    detail: str | None = None  # an image's detail: auto, low or high


@dataclass(frozen=True, slots=True)
class Call:
    id: str
    name: str
    arguments: str  # a JSON string, as OpenAI sends it


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    parts: tuple[Part, ...]
    name: str | None = None
    tool_calls: tuple[Call, ...] = ()
    tool_call_id: str | None = None
    reasoning: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(part.value for part in self.parts if part.kind == "text")

    @property
    def has_media(self) -> bool:
        return any(part.kind != "text" for part in self.parts)


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    description: str | None
    parameters: JSON  # inlined (oci_schema)


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "function"]
    name: str | None = None


def read_turns(messages: object) -> list[Turn]:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array.", param="messages")
    return [_turn(message, f"messages[{index}]") for index, message in enumerate(messages)]


def _turn(message: object, where: str) -> Turn:
    if not isinstance(message, dict):
        raise InvalidRequest(f"'{where}' must be an object.", param=where)
    role = message.get("role")
    if role not in ROLES:
        raise InvalidRequest(
            f"'{where}.role' must be one of {', '.join(sorted(ROLES))}, got {role!r}.", param=f"{where}.role"
        )
    content = message.get("content")
    if content is None and role not in ("assistant", "tool"):
        raise InvalidRequest(f"'{where}.content' is required for a {role} message.", param=f"{where}.content")
    parts = _parts(content, f"{where}.content", media=role == "user")
    name = message.get("name") if isinstance(message.get("name"), str) else None
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(
                f"'{where}.tool_call_id' is required for a tool message.", param=f"{where}.tool_call_id"
            )
        return Turn("tool", parts, tool_call_id=call_id)
    if role == "assistant":
        reasoning = message.get("reasoning_content")
        calls = _calls(message.get("tool_calls"), f"{where}.tool_calls")
        return Turn("assistant", parts, name, calls, reasoning=reasoning if isinstance(reasoning, str) else None)
    return Turn(role, parts, name)


def _parts(content: object, where: str, *, media: bool) -> tuple[Part, ...]:
    if content is None or content == "":
        return ()
    if isinstance(content, str):
        return (Part("text", content),)
    if not isinstance(content, list):
        raise InvalidRequest(f"'{where}' must be a string or an array of content parts.", param=where)
    parts: list[Part] = []
    for index, item in enumerate(content):
        part = _part(item, f"{where}[{index}]", media)
        if part is not None:
            parts.append(part)
    return tuple(parts)


def _part(item: object, where: str, media: bool) -> Part | None:
    kind = item.get("type") if isinstance(item, dict) else None
    if not isinstance(item, dict) or not isinstance(kind, str):
        raise InvalidRequest(f"'{where}' must be a content part object with a 'type'.", param=where)
    if kind == "text":
        text = item.get("text")
        if not isinstance(text, str):
            raise InvalidRequest(f"'{where}.text' must be a string.", param=f"{where}.text")
        return Part("text", text) if text else None
    if kind == "refusal":
        return None  # an assistant's earlier refusal: nothing the model needs to read again
    if not media:
        raise InvalidRequest(f"'{where}.type' {kind!r} is only allowed in user messages.", param=f"{where}.type")
    if kind == "image_url":
        image = item.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise InvalidRequest(f"'{where}.image_url.url' must be a URL or a data URL.", param=f"{where}.image_url")
        detail = image.get("detail") if isinstance(image, dict) else None
        return Part("image", url, detail if isinstance(detail, str) else None)
    if kind == "input_audio":
        audio = item.get("input_audio")
        data = audio.get("data") if isinstance(audio, dict) else None
        fmt = audio.get("format") if isinstance(audio, dict) else None
        if not isinstance(data, str) or not isinstance(fmt, str):
            raise InvalidRequest(f"'{where}.input_audio' needs 'data' and 'format'.", param=f"{where}.input_audio")
        return Part("audio", f"data:audio/{fmt};base64,{data}")
    if kind == "file":
        file = item.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        if not isinstance(data, str) or not data:
            raise InvalidRequest(
                f"'{where}.file' needs inline 'file_data': uploaded file ids are not supported.", param=f"{where}.file"
            )
        return Part("document", data)
    raise InvalidRequest(f"'{where}.type' {kind!r} is not a supported content part.", param=f"{where}.type")


def _calls(calls: object, where: str) -> tuple[Call, ...]:
    if calls is None:
        return ()
    if not isinstance(calls, list):
        raise InvalidRequest(f"'{where}' must be an array.", param=where)
    out: list[Call] = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(function, dict):
            raise InvalidRequest(
                f"'{where}[{index}]' must be {{'id', 'type': 'function', 'function': {{'name', 'arguments'}}}}.",
                param=f"{where}[{index}]",
            )
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {})
        out.append(Call(call_id, name, arguments))
    return tuple(out)


def read_functions(tools: object) -> list[Function]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array.", param="tools")
    functions: list[Function] = []
    for index, tool in enumerate(tools):
        spec = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(spec, dict):
            raise InvalidRequest(
                f"'tools[{index}]' must be a function tool: {{'type': 'function', 'function': {{...}}}}; "
                "Oracle's native API serves no other tool types.",
                param=f"tools[{index}]",
            )
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"'tools[{index}].function.name' is required.", param=f"tools[{index}].function")
        parameters = spec.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidRequest(
                f"'tools[{index}].function.parameters' must be a JSON Schema object.",
                param=f"tools[{index}].function.parameters",
            )
        description = spec.get("description")
        functions.append(
            Function(
                name,
                description if isinstance(description, str) else None,
                inline_schema(parameters) if parameters else dict(EMPTY_PARAMETERS),
            )
        )
    return functions


def read_tool_choice(choice: object, functions: list[Function]) -> ToolChoice:
    if choice is None or choice == "auto":
        return ToolChoice("auto")
    if choice in ("none", "required"):
        return ToolChoice("none" if choice == "none" else "required")
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and any(f.name == name for f in functions):
            return ToolChoice("function", name)
        raise InvalidRequest(f"'tool_choice' names function {name!r}, which is not among 'tools'.", param="tool_choice")
    raise InvalidRequest(
        f"'tool_choice' must be 'auto', 'none', 'required' or {{'type': 'function', ...}}, got {choice!r}.",
        param="tool_choice",
    )


def parse_arguments(arguments: str) -> JSON:
    """A call's arguments as an object, for Cohere's ``parameters``. Arguments that are not a JSON object (a model
    may have produced broken JSON earlier in the conversation) are kept whole under ``"arguments"``."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"arguments": value}
