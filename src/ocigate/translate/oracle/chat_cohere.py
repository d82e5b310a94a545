"""OpenAI messages, tools and formats in Oracle's Cohere chat formats: COHERE (doc §3.2) and COHEREV2 (§3.3).

COHERE splits a conversation the way Cohere's v1 API does: the last user message is ``message``, the turns before
it are ``chatHistory`` (USER, CHATBOT, SYSTEM, TOOL), leading system messages are ``preambleOverride``, and the
tool results that end a conversation are ``toolResults`` of the current turn, with an empty ``message`` (Cohere's
documented tool-use loop). Cohere's v1 calls carry no ids: a result is matched to its call through the
``tool_call_id`` of the OpenAI conversation, and sent with the call's name and parameters.

COHEREV2 is close to OpenAI's shape: ``messages`` with SYSTEM/USER/ASSISTANT/TOOL and typed content.
"""

from __future__ import annotations

import json

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.translate.oracle.chat_generic import json_schema_spec, plain_response_format, response_format_type
from ocigate.translate.oracle.messages import Call, Function, ToolChoice, Turn, parse_arguments
from ocigate.translate.oracle.schema import inline_schema

# CohereParameterDefinition.type takes Python type names (doc §3.2); Oracle answers 500 to a bare "List", so the
# lowercase builtins are used (LL common_utils).
PYTHON_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
}


def to_cohere_fields(turns: list[Turn], functions: list[Function], choice: ToolChoice) -> JSON:
    """``message``, ``chatHistory``, ``preambleOverride``, ``toolResults`` and ``tools`` of a COHERE request."""
    lead = 0
    while lead < len(turns) and turns[lead].role in ("system", "developer"):
        lead += 1
    preamble = "\n\n".join(turn.text for turn in turns[:lead])
    rest = turns[lead:]
    fields: JSON = {}
    trailing = 0
    while trailing < len(rest) and rest[len(rest) - 1 - trailing].role == "tool":
        trailing += 1
    if trailing:
        history = rest[: len(rest) - trailing]
        fields["message"] = ""
        fields["toolResults"] = [_tool_result(t, rest, len(history) + i) for i, t in enumerate(rest[len(history) :])]
    elif rest and rest[-1].role == "user":
        history = rest[:-1]
        fields["message"] = _user_text(rest[-1], len(turns) - 1)
    else:
        raise InvalidRequest(
            "Cohere models answer a conversation that ends with a user message or with tool results.",
            param="messages",
        )
    fields["chatHistory"] = _history(history, rest, lead)
    if preamble:
        fields["preambleOverride"] = preamble
    offered = _offered(functions, choice, bool(trailing))
    if offered:
        fields["tools"] = [_cohere_tool(function) for function in offered]
    return fields


def _offered(functions: list[Function], choice: ToolChoice, answering: bool) -> list[Function]:
    """COHERE has no tool choice: "none" withholds the tools (unless results of their calls are being answered,
    which Cohere reads against them), a named function offers only that one, "required" cannot be enforced."""
    if choice.mode == "none" and not answering:
        return []
    if choice.mode == "function":
        return [f for f in functions if f.name == choice.name]
    return functions


def _user_text(turn: Turn, index: int) -> str:
    if turn.has_media:
        raise InvalidRequest(
            "The COHERE format carries text only: send images to a Cohere vision model (COHEREV2).",
            param=f"messages[{index}].content",
        )
    return turn.text


def _history(history: list[Turn], rest: list[Turn], offset: int) -> list[JSON]:
    out: list[JSON] = []
    for index, turn in enumerate(history):
        if turn.role == "tool":
            result = _tool_result(turn, rest, index)
            if out and out[-1]["role"] == "TOOL":
                # OpenAI sends one message per parallel call; Cohere wants one TOOL entry per assistant turn.
                out[-1]["toolResults"].append(result)
            else:
                out.append({"role": "TOOL", "toolResults": [result]})
        elif turn.role == "assistant":
            entry: JSON = {"role": "CHATBOT", "message": turn.text}
            if turn.tool_calls:
                entry["toolCalls"] = [_cohere_call(call) for call in turn.tool_calls]
            out.append(entry)
        elif turn.role == "user":
            out.append({"role": "USER", "message": _user_text(turn, offset + index)})
        else:
            out.append({"role": "SYSTEM", "message": turn.text})
    return out


def _cohere_call(call: Call) -> JSON:
    return {"name": call.name, "parameters": parse_arguments(call.arguments)}


def _tool_result(turn: Turn, rest: list[Turn], index: int) -> JSON:
    call = _answered_call(turn.tool_call_id, rest, index)
    return {"call": _cohere_call(call), "outputs": _outputs(turn.text)}


def _answered_call(call_id: str | None, rest: list[Turn], index: int) -> Call:
    """The call of the nearest assistant turn before ``index`` that has this id."""
    for turn in reversed(rest[:index]):
        if turn.role == "assistant":
            for call in turn.tool_calls:
                if call.id == call_id:
                    return call
            break
    raise InvalidRequest(
        f"Tool message answers tool_call_id {call_id!r}, which is not a tool call of the assistant message before it.",
        param="messages",
    )


def _outputs(text: str) -> list[JSON]:
    """Cohere wants a list of objects: a JSON object or a list of them is sent as is, anything else wrapped."""
    try:
        value = json.loads(text)
    except ValueError:
        return [{"output": text}]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return value
    return [{"output": value}]


def _cohere_tool(function: Function) -> JSON:
    schema = function.parameters
    properties = schema.get("properties")
    required = schema.get("required")
    required_names = set(required) if isinstance(required, list) else set()
    definitions: JSON = {}
    for name, prop in (properties if isinstance(properties, dict) else {}).items():
        prop = prop if isinstance(prop, dict) else {}
        definition: JSON = {"type": _python_type(prop), "isRequired": name in required_names}
        description = _describe(prop)
        if description:
            definition["description"] = description
        definitions[name] = definition
    # Cohere requires a tool description.
    tool: JSON = {"name": function.name, "description": function.description or function.name}
    tool["parameterDefinitions"] = definitions
    return tool


def _python_type(prop: JSON) -> str:
    kind = prop.get("type")
    if isinstance(kind, str) and kind in PYTHON_TYPES:
        return PYTHON_TYPES[kind]
    if "properties" in prop:
        return "dict"
    return "str"


def _describe(prop: JSON) -> str:
    """The description, plus the constraints Cohere's parameter definitions cannot express."""
    text = prop.get("description") if isinstance(prop.get("description"), str) else ""
    notes: list[str] = []
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        notes.append("one of: " + ", ".join(json.dumps(v) for v in enum))
    if prop.get("type") in ("array", "object") and len(prop) > 2:
        shape = {k: v for k, v in prop.items() if k != "description"}
        notes.append("schema: " + json.dumps(shape, separators=(",", ":")))
    if not notes:
        return str(text)
    return (f"{text} ({'; '.join(notes)})" if text else "; ".join(notes)).strip()


def to_cohere_v2_messages(turns: list[Turn]) -> list[JSON]:
    messages: list[JSON] = []
    for index, turn in enumerate(turns):
        role = {"system": "SYSTEM", "developer": "SYSTEM", "user": "USER"}.get(turn.role, turn.role.upper())
        message: JSON = {"role": role}
        content = [_v2_content(part.kind, part.value, part.detail, index) for part in turn.parts]
        if content or turn.role != "assistant":
            message["content"] = content or [{"type": "TEXT", "text": ""}]
        if turn.tool_calls:
            message["toolCalls"] = [
                {"id": c.id, "type": "FUNCTION", "function": {"name": c.name, "arguments": c.arguments}}
                for c in turn.tool_calls
            ]
        if turn.tool_call_id is not None:
            message["toolCallId"] = turn.tool_call_id
        messages.append(message)
    return messages


def _v2_content(kind: str, value: str, detail: str | None, index: int) -> JSON:
    if kind == "text":
        return {"type": "TEXT", "text": value}
    if kind == "image":
        image: JSON = {"url": value}
        if detail is not None:
            image["detail"] = detail.upper()
        return {"type": "IMAGE_URL", "imageUrl": image}
    raise InvalidRequest(f"Cohere models take no {kind} content.", param=f"messages[{index}].content")


def to_cohere_v2_tools(functions: list[Function], choice: ToolChoice) -> JSON:
    """``tools`` and ``toolsChoice`` (REQUIRED or NONE; a named function becomes REQUIRED with only that tool)."""
    if choice.mode == "function":
        functions = [f for f in functions if f.name == choice.name]
    fields: JSON = {}
    if functions:
        fields["tools"] = [
            {
                "type": "FUNCTION",
                "function": {"name": f.name, "description": f.description or f.name, "parameters": f.parameters},
            }
            for f in functions
        ]
    if choice.mode in ("required", "function"):
        fields["toolsChoice"] = "REQUIRED"
    elif choice.mode == "none":
        fields["toolsChoice"] = "NONE"
    return fields


def to_cohere_response_format(fmt: object) -> JSON | None:
    """CohereResponseFormat: TEXT, or JSON_OBJECT with an optional ``schema`` (json_schema maps onto it)."""
    kind = response_format_type(fmt)
    if kind != "json_schema":
        return plain_response_format(kind)
    spec = json_schema_spec(fmt)
    schema = spec.get("schema")
    return {"type": "JSON_OBJECT", "schema": inline_schema(schema) if isinstance(schema, dict) else {"type": "object"}}
