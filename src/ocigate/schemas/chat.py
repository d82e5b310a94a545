"""The shape of a Chat Completions request (``POST /v1/chat/completions``), checked before any upstream call.

Checked: ``model``; ``messages`` (a non-empty array of objects whose ``role`` is one of :data:`ROLES`, whose
``content`` is a string, null, or an array of parts of a type the role may send, whose ``tool_calls`` are
``{id, type: function, function: {name, arguments}}``); ``tools`` (function tools with a name and a parameters
object), ``tool_choice``, ``response_format``; the numeric ranges OpenAI documents (``temperature`` 0–2, ``top_p``
0–1, penalties −2–2, ``n`` 1–128, token limits positive integers); ``stream`` and the other flags booleans;
``stop`` a string or an array of strings. Unknown fields pass.

Null content is accepted for every role, as ``translate.sanitize`` deliberately mends empty messages (a null user
message is dropped, a null tool result becomes ``(empty)``); a function call's ``arguments`` may be an object,
which the native translation serialises. Both are that module's documented choices, not shape errors.
"""

from __future__ import annotations

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.schemas.fields import (
    Checker,
    an_array,
    an_object,
    boolean,
    check_fields,
    check_model,
    choice,
    content_part,
    elements,
    integer,
    listed,
    non_empty,
    number,
    one_of,
    refuse,
    require,
    string,
    string_or_strings,
    strings,
)

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
USER_PARTS = ("text", "image_url", "input_audio", "file")
ASSISTANT_PARTS = ("text", "refusal")
TEXT_PARTS = ("text",)
_PARTS_OF_ROLE = {"user": USER_PARTS, "assistant": ASSISTANT_PARTS}
TOOL_CHOICES = ("none", "auto", "required")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")
_TOOL_SHAPE = "{'type': 'function', 'function': {'name': ..., 'parameters': {...}}}"
_CALL_SHAPE = "a tool call: {'id', 'type': 'function', 'function': {'name', 'arguments'}}"


def check_chat(payload: JSON) -> None:
    """Raises :class:`InvalidRequest` naming the first field of ``payload`` with a wrong shape."""
    check_model(payload)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array of messages.", param="messages")
    for index, message in enumerate(messages):
        _message(message, index)
    check_fields(payload, _FIELDS)


def _message(message: object, index: int) -> None:
    if not isinstance(message, dict):
        raise refuse(f"messages[{index}]", "an object with a role", message)
    role = message.get("role")
    if not one_of(role, ROLES):
        raise refuse(f"messages[{index}].role", f"one of {listed(ROLES)}", role)
    # One pass over the fields the message holds, paths built only for those checked: the hot path's loop.
    for key, value in message.items():
        if value is None or key == "role":
            continue
        if key == "content":
            if not isinstance(value, str):
                _content(value, f"messages[{index}].content", _PARTS_OF_ROLE.get(role, TEXT_PARTS))
            continue
        check = _MESSAGE_FIELDS.get(key)
        if check is not None:
            check(value, f"messages[{index}].{key}")


def _content(content: object, where: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(content, list):
        raise refuse(where, "a string or an array of content parts", content)
    for index, part in enumerate(content):
        _part(part, f"{where}[{index}]", allowed)


def _part(value: object, where: str, allowed: tuple[str, ...]) -> None:
    part, kind = content_part(value, where, allowed, USER_PARTS)
    prefix = f"{where}."
    if kind in ("text", "refusal"):
        require(part, kind, string, prefix)
    elif kind == "image_url":
        image = part.get("image_url")
        if isinstance(image, dict):
            require(image, "url", non_empty, f"{prefix}image_url.")
            check_fields(image, {"detail": string}, f"{prefix}image_url.")
        elif not isinstance(image, str) or not image:
            raise refuse(f"{prefix}image_url", "{'url': <a URL or a data: URL>}", image)
    elif kind == "input_audio":
        check_input_audio(part, prefix)
    else:
        file = require(part, "file", an_object, prefix)
        check_fields(file, {"file_data": string, "file_id": string, "filename": string}, f"{prefix}file.")
        if not file.get("file_data") and not file.get("file_id"):
            raise refuse(f"{prefix}file", "an object with 'file_data' (or 'file_id')", file)


def check_input_audio(part: JSON, prefix: str) -> None:
    """An ``input_audio`` part's audio: ``{data, format}``, as Chat and Responses both send it."""
    audio = require(part, "input_audio", an_object, prefix)
    require(audio, "data", non_empty, f"{prefix}input_audio.")
    require(audio, "format", non_empty, f"{prefix}input_audio.")


def _tool_calls(calls: object, param: str) -> None:
    for where, call in elements(calls, param, "an array of tool calls", dict, _CALL_SHAPE):
        check_fields(call, _CALL_FIELDS, f"{where}.")
        function = require(call, "function", an_object, f"{where}.")
        require(function, "name", non_empty, f"{where}.function.")
        check_fields(function, {"arguments": check_arguments}, f"{where}.function.")


def check_arguments(value: object, param: str) -> None:
    """A function call's ``arguments``: a string of JSON, or the object itself (see the module docstring)."""
    if not isinstance(value, str | dict):
        raise refuse(param, "a string of JSON", value)


def _legacy_call(value: object, param: str) -> None:
    """A message's deprecated ``function_call``: ``{name, arguments}``."""
    if not isinstance(value, dict):
        raise refuse(param, "an object: {'name', 'arguments'}", value)
    require(value, "name", non_empty, f"{param}.")
    check_fields(value, {"arguments": string}, f"{param}.")


def check_function(spec: JSON, prefix: str) -> None:
    """A function's definition: a name, and a description, parameters schema and strict flag when given."""
    require(spec, "name", non_empty, prefix)
    check_fields(spec, _FUNCTION_FIELDS, prefix)


def _tools(tools: object, param: str) -> None:
    """Function tools only: no upstream behind this gateway serves other kinds on Chat Completions."""
    for where, tool in elements(tools, param, "an array of tools", dict, f"a function tool: {_TOOL_SHAPE}"):
        if tool.get("type") != "function":
            raise refuse(f"{where}.type", "'function' (the only tool type on Chat Completions)", tool.get("type"))
        check_function(require(tool, "function", an_object, f"{where}."), f"{where}.function.")


def _tool_choice(value: object, param: str) -> None:
    if one_of(value, TOOL_CHOICES):
        return
    if not isinstance(value, dict):
        raise refuse(param, "'auto', 'none', 'required' or {'type': 'function', 'function': {'name': ...}}", value)
    kind = value.get("type")
    if kind == "function":
        require(require(value, "function", an_object, f"{param}."), "name", non_empty, f"{param}.function.")
    elif kind == "allowed_tools":
        allowed = require(value, "allowed_tools", an_object, f"{param}.")
        require(allowed, "mode", choice("auto", "required"), f"{param}.allowed_tools.")
        require(allowed, "tools", an_array, f"{param}.allowed_tools.")
    else:
        raise refuse(f"{param}.type", "one of function, allowed_tools", kind)


def check_response_format(fmt: object, param: str, *, nested: bool = True) -> None:
    """``{"type": "text" | "json_object" | "json_schema", ...}``; Chat nests the schema under ``json_schema``
    (``nested``), Responses' ``text.format`` does not."""
    if not isinstance(fmt, dict):
        raise refuse(param, "an object with a 'type'", fmt)
    kind = fmt.get("type")
    if not one_of(kind, RESPONSE_FORMATS):
        raise refuse(f"{param}.type", f"one of {listed(RESPONSE_FORMATS)}", kind)
    if kind != "json_schema":
        return
    if nested:
        check_fields(require(fmt, "json_schema", an_object, f"{param}."), _SCHEMA_FIELDS, f"{param}.json_schema.")
    else:
        check_fields(fmt, _SCHEMA_FIELDS, f"{param}.")


def _stream_options(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise refuse(param, "an object", value)
    check_fields(value, {"include_usage": boolean}, f"{param}.")


def _functions(value: object, param: str) -> None:
    """The deprecated ``functions``, which the SDKs still send for old code."""
    for where, spec in elements(value, param, "an array of functions", dict, "an object with a 'name'"):
        check_function(spec, f"{where}.")


def _function_call(value: object, param: str) -> None:
    """The deprecated top-level ``function_call``: ``none``, ``auto`` or ``{name}``."""
    if one_of(value, ("none", "auto")):
        return
    if not isinstance(value, dict):
        raise refuse(param, "'none', 'auto' or {'name': ...}", value)
    require(value, "name", non_empty, f"{param}.")


_FUNCTION_FIELDS: dict[str, Checker] = {"description": string, "parameters": an_object, "strict": boolean}
_SCHEMA_FIELDS: dict[str, Checker] = {"name": string, "description": string, "schema": an_object, "strict": boolean}
_CALL_FIELDS: dict[str, Checker] = {"id": string, "type": choice("function")}
_MESSAGE_FIELDS: dict[str, Checker] = {
    "name": string,
    "tool_call_id": string,
    "refusal": string,
    "reasoning_content": string,
    "audio": an_object,
    "tool_calls": _tool_calls,
    "function_call": _legacy_call,
}
_FIELDS: dict[str, Checker] = {
    "stream": boolean,
    "logprobs": boolean,
    "parallel_tool_calls": boolean,
    "store": boolean,
    "reasoning_effort": string,
    "user": string,
    "service_tier": string,
    "verbosity": string,
    "safety_identifier": string,
    "prompt_cache_key": string,
    "metadata": an_object,
    "logit_bias": an_object,
    "prediction": an_object,
    "audio": an_object,
    "web_search_options": an_object,
    "modalities": strings,
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "n": integer(1, 128),
    "max_tokens": integer(1),
    "max_completion_tokens": integer(1),
    "top_logprobs": integer(0, 20),
    "top_k": integer(0),  # not OpenAI's; clients send it and the native translation maps it
    "seed": integer(-(2**63), 2**63 - 1),
    "stop": string_or_strings,
    "stream_options": _stream_options,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "response_format": check_response_format,
    "functions": _functions,
    "function_call": _function_call,
}
