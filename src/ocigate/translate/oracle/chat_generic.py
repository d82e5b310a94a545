"""OpenAI messages, tools and formats in Oracle's GENERIC chat format (doc §3.4), the one Meta, OpenAI, xAI and
Google models speak."""

from __future__ import annotations

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.oracle.messages import Function, Part, ToolChoice, Turn
from ocigate.translate.oracle.schema import inline_schema

_ROLES = {"system": "SYSTEM", "developer": "DEVELOPER", "user": "USER", "assistant": "ASSISTANT", "tool": "TOOL"}
_DETAILS = {"auto": "AUTO", "low": "LOW", "high": "HIGH"}
# The roles of plain messages, for models with and without the DEVELOPER role: "tool" is never plain.
_PLAIN_ROLES = {"system": "SYSTEM", "developer": "DEVELOPER", "user": "USER", "assistant": "ASSISTANT"}
_PLAIN_ROLES_NO_DEVELOPER = {**_PLAIN_ROLES, "developer": "SYSTEM"}


def to_generic_messages(turns: list[Turn], *, developer_role: bool) -> list[JSON]:
    """``developer_role``: whether the model knows the DEVELOPER role; others read it as SYSTEM."""
    return [_message(turn, developer_role) for turn in turns]


def to_plain_generic_messages(messages: object, *, developer_role: bool) -> list[JSON] | None:
    """The GENERIC messages of the common conversation, every message ``{"role", "content": "some text"}`` in a
    role other than ``tool``, exactly as :func:`to_generic_messages` makes them of its turns, without reading turns;
    None for any other (an empty text, a name, tool calls, content parts), which the general reading takes."""
    if type(messages) is not list or not messages:
        return None
    roles = _PLAIN_ROLES if developer_role else _PLAIN_ROLES_NO_DEVELOPER
    out: list[JSON] = []
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return None
        role = message.get("role")
        content = message.get("content")
        if type(role) is not str or type(content) is not str or not content or role not in roles:
            return None
        out.append({"role": roles[role], "content": [{"type": "TEXT", "text": content}]})
    return out


def _message(turn: Turn, developer_role: bool) -> JSON:
    role = _ROLES[turn.role]
    if role == "DEVELOPER" and not developer_role:
        role = "SYSTEM"
    message: JSON = {"role": role}
    # Oracle rejects an empty content array or empty text (the assistant turn of a tool call often has none):
    # content is left out instead.
    if turn.parts:
        message["content"] = [_content(part) for part in turn.parts]
    elif turn.role != "assistant":
        message["content"] = [{"type": "TEXT", "text": ""}]
    if turn.name is not None and role in ("USER", "SYSTEM", "DEVELOPER"):
        message["name"] = turn.name
    if turn.tool_calls:
        message["toolCalls"] = [
            {"type": "FUNCTION", "id": call.id, "name": call.name, "arguments": call.arguments}
            for call in turn.tool_calls
        ]
    if turn.reasoning:
        message["reasoningContent"] = turn.reasoning
    if turn.tool_call_id is not None:
        message["toolCallId"] = turn.tool_call_id
    return message


def _content(part: Part) -> JSON:
    if part.kind == "text":
        return {"type": "TEXT", "text": part.value}
    if part.kind == "image":
        image: JSON = {"url": part.value}
        if part.detail is not None and part.detail.lower() in _DETAILS:
            image["detail"] = _DETAILS[part.detail.lower()]
        return {"type": "IMAGE", "imageUrl": image}
    if part.kind == "audio":
        return {"type": "AUDIO", "audioUrl": {"url": part.value}}
    return {"type": "DOCUMENT", "documentUrl": {"url": part.value}}


def to_generic_tools(functions: list[Function]) -> list[JSON]:
    tools: list[JSON] = []
    for function in functions:
        tool: JSON = {"type": "FUNCTION", "name": function.name}
        if function.description is not None:
            tool["description"] = function.description
        tool["parameters"] = function.parameters
        tools.append(tool)
    return tools


def to_generic_tool_choice(choice: ToolChoice) -> JSON:
    if choice.mode == "function":
        return {"type": "FUNCTION", "name": choice.name}
    return {"type": choice.mode.upper()}


def to_generic_response_format(fmt: object) -> JSON | None:
    """OpenAI's ``response_format`` as GENERIC's ``responseFormat``; OCI wants ``isStrict``, not ``strict``."""
    kind = response_format_type(fmt)
    if kind != "json_schema":
        return plain_response_format(kind)
    spec = json_schema_spec(fmt)
    schema: JSON = {"name": spec.get("name") if isinstance(spec.get("name"), str) else "response"}
    if isinstance(spec.get("description"), str):
        schema["description"] = spec["description"]
    schema["schema"] = inline_schema(spec["schema"]) if isinstance(spec.get("schema"), dict) else {"type": "object"}
    if isinstance(spec.get("strict"), bool):
        schema["isStrict"] = spec["strict"]
    return {"type": "JSON_SCHEMA", "jsonSchema": schema}


def response_format_type(fmt: object) -> str | None:
    """The checked ``type`` of an OpenAI response format, or None when absent."""
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise InvalidRequest(
            "'response_format.type' must be 'text', 'json_object' or 'json_schema'.", param="response_format"
        )
    return str(kind)


def plain_response_format(kind: str | None) -> JSON | None:
    """Oracle's ``responseFormat`` for a ``text`` or ``json_object`` format, the same in every API format; None
    for none."""
    return None if kind is None else {"type": _PLAIN_FORMATS[kind]}


_PLAIN_FORMATS = {"text": "TEXT", "json_object": "JSON_OBJECT"}


def json_schema_spec(fmt: object) -> JSON:
    """The ``json_schema`` object of a ``{"type": "json_schema", ...}`` response format."""
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if not isinstance(spec, dict):
        raise InvalidRequest(
            "'response_format.json_schema' must be an object with 'name' and 'schema'.",
            param="response_format.json_schema",
        )
    return spec
