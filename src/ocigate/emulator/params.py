"""Request fields that Chat Completions and Responses share, read and checked the way Oracle does (400
InvalidParameter with the field's name)."""

from __future__ import annotations

from typing import Any

from ocigate.core.types import JSON
from ocigate.emulator.errors import invalid
from ocigate.emulator.generation import ToolSpec

CHAT_TOOL_SHAPE = '{"type": "function", "function": {"name": ..., "parameters": {...}}}'
RESPONSES_TOOL_SHAPE = '{"type": "function", "name": ..., "parameters": {...}}'


def positive_int(body: JSON, *names: str) -> int | None:
    """The first of ``names`` present in the body, checked to be an integer of at least 1."""
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise invalid(f"Invalid parameter: '{name}' must be an integer of at least 1, got {value!r}.")
        return value
    return None


def text_of(content: object, part_types: frozenset[str]) -> str | None:
    """The text of a message's content, a string or a list of parts; None when it is neither."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(kind, str) and kind in part_types:  # a list or an object as type is no text part
                text = part.get("text")
                if not isinstance(text, str) or not text:
                    raise invalid("Invalid parameter: a text content part must have a non-empty 'text'.")
                texts.append(text)
        return " ".join(texts)
    return None


def _tool(entry: object, nested: bool, index: int) -> ToolSpec | None:
    shape = CHAT_TOOL_SHAPE if nested else RESPONSES_TOOL_SHAPE
    if not isinstance(entry, dict):
        raise invalid(f"Invalid parameter: 'tools[{index}]' must be an object like {shape}.")
    if entry.get("type") != "function":
        if nested:
            raise invalid(f"Invalid parameter: 'tools[{index}].type' must be 'function'.")
        return None  # built-in Responses tools (web_search, ...) never produce a function call here
    spec: Any = entry.get("function") if nested else entry
    name = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name:
        raise invalid(f"Invalid parameter: 'tools[{index}]' needs a function name: {shape}.")
    parameters = spec.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise invalid(f"Invalid parameter: the parameters of tool '{name}' must be a JSON Schema object.")
    return ToolSpec(name, parameters or {})


def read_tools(tools: object, *, nested: bool) -> tuple[ToolSpec, ...]:
    """Function tools; ``nested`` for Chat Completions' ``{"function": {...}}`` shape."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise invalid("Invalid parameter: 'tools' must be an array.")
    specs = (_tool(entry, nested, index) for index, entry in enumerate(tools))
    return tuple(spec for spec in specs if spec is not None)


def read_tool_choice(choice: object, tools: tuple[ToolSpec, ...]) -> tuple[bool, str | None]:
    """Whether tools may be called, and the function the caller forces, if any."""
    if choice is None or choice in ("auto", "required"):
        return True, None
    if choice == "none":
        return False, None
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        if isinstance(name, str) and any(tool.name == name for tool in tools):
            return True, name
        raise invalid(f"Invalid parameter: 'tool_choice' names function {name!r}, which is not among 'tools'.")
    raise invalid(f"Invalid parameter: 'tool_choice' must be auto, none, required or a function, got {choice!r}.")


def read_format(fmt: object, field: str) -> tuple[JSON | None, bool]:
    """The JSON Schema the reply must follow, and whether it must be JSON at all."""
    if fmt is None:
        return None, False
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if not isinstance(fmt, dict) or kind not in ("text", "json_object", "json_schema"):
        raise invalid(f"Invalid parameter: '{field}.type' must be text, json_object or json_schema.")
    if kind == "json_schema":
        holder = fmt.get("json_schema", fmt)  # Chat nests it under json_schema; Responses does not
        schema = holder.get("schema") if isinstance(holder, dict) else None
        return (schema if isinstance(schema, dict) else {}), True
    return None, kind == "json_object"
