"""The shape of a Responses API request (``POST /v1/responses``), checked before any upstream call.

Checked: ``model``; ``input`` (required: a string or an array of items, each an object with a string ``type``, or
a message with a ``role``): message items with a ``role`` of :data:`MESSAGE_ROLES` and ``content`` a string or an
array of parts of a type the role may send; ``function_call`` items (``call_id``, ``name``, ``arguments``),
``function_call_output`` items (``call_id``, ``output`` a string or an array of parts), ``reasoning`` and
``item_reference`` items; ``instructions``, ``previous_response_id`` strings; ``tools`` (objects with a
``type``; function tools with a name), ``tool_choice``, ``text.format``, ``reasoning``; the numeric ranges and
flags. Built-in tools and item types the gateway does not know pass: an upstream with its own ``/responses`` may
serve them, and the translation over Chat Completions refuses them with a message naming them.
"""

from __future__ import annotations

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON
from ocigate.schemas.chat import TOOL_CHOICES, check_arguments, check_function, check_input_audio, check_response_format
from ocigate.schemas.fields import (
    Checker,
    an_array,
    an_object,
    array_of,
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
    strings,
)

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
TEXT_PARTS = ("input_text", "output_text", "text")
USER_PARTS = (*TEXT_PARTS, "input_image", "input_file", "input_audio")
ASSISTANT_PARTS = (*TEXT_PARTS, "refusal")
_PARTS_OF_ROLE = {"user": USER_PARTS, "assistant": ASSISTANT_PARTS}


def check_responses(payload: JSON) -> None:
    """Raises :class:`InvalidRequest` naming the first field of ``payload`` with a wrong shape."""
    check_model(payload)
    given = payload.get("input")
    if given is None:
        raise InvalidRequest("'input' is required: a string or an array of input items.", param="input")
    if not isinstance(given, str):
        if not isinstance(given, list):
            raise refuse("input", "a string or an array of input items", given)
        for index, item in enumerate(given):
            _item(item, f"input[{index}]")
    check_fields(payload, _FIELDS)


def _item(item: object, where: str) -> None:
    if not isinstance(item, dict):
        raise refuse(where, "an input item object", item)
    kind = item.get("type")
    if kind is None and "role" not in item:
        raise refuse(where, "an input item with a 'type', or a message with a 'role'", item)
    if kind is not None and not isinstance(kind, str):
        raise refuse(f"{where}.type", "a string such as message, function_call or function_call_output", kind)
    prefix = f"{where}."
    check_fields(item, _ITEM_FIELDS, prefix)
    if kind is None or kind == "message":
        _message(item, where)
    elif kind == "function_call":
        require(item, "call_id", string, prefix)
        require(item, "name", non_empty, prefix)
        check_fields(item, {"arguments": check_arguments}, prefix)
    elif kind == "function_call_output":
        require(item, "call_id", string, prefix)
        _output(item.get("output"), f"{prefix}output")
    elif kind == "reasoning":
        check_fields(item, _REASONING_FIELDS, prefix)
    elif kind == "item_reference":
        require(item, "id", non_empty, prefix)


def _message(item: JSON, where: str) -> None:
    role = item.get("role")
    if not one_of(role, MESSAGE_ROLES):
        raise refuse(f"{where}.role", f"one of {listed(MESSAGE_ROLES)}", role)
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise refuse(f"{where}.content", "a string or an array of content parts", content)
    allowed = _PARTS_OF_ROLE.get(role, TEXT_PARTS)
    for index, part in enumerate(content):
        _part(part, f"{where}.content[{index}]", allowed)


def _part(value: object, where: str, allowed: tuple[str, ...]) -> None:
    part, kind = content_part(value, where, allowed, USER_PARTS)
    prefix = f"{where}."
    if kind == "refusal":
        require(part, "refusal", string, prefix)
    elif kind in TEXT_PARTS:
        require(part, "text", string, prefix)
        check_fields(part, {"annotations": an_array}, prefix)
    elif kind == "input_image":
        _one_source(part, prefix, ("image_url", "file_id"))
    elif kind == "input_file":
        _one_source(part, prefix, ("file_data", "file_id", "file_url"))
    else:
        check_input_audio(part, prefix)


def _one_source(part: JSON, prefix: str, sources: tuple[str, ...]) -> None:
    """Strings where given, and at least one of ``sources`` given (an image by URL or by file id...)."""
    check_fields(part, {key: string for key in (*sources, "detail", "filename")}, prefix)
    if not any(part.get(key) for key in sources):
        raise InvalidRequest(
            f"'{prefix}{sources[0]}' is required: give one of {listed(sources)}.", param=prefix + sources[0]
        )


def _output(output: object, where: str) -> None:
    if isinstance(output, str):
        return
    if not isinstance(output, list):
        raise refuse(where, "a string or an array of content parts", output)
    for index, part in enumerate(output):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise refuse(f"{where}[{index}]", "a content part object with a 'type'", part)
        if part["type"] in TEXT_PARTS:
            require(part, "text", string, f"{where}[{index}].")


def _tools(tools: object, param: str) -> None:
    for where, tool in elements(tools, param, "an array of tools", dict, "a tool object with a 'type'"):
        if require(tool, "type", non_empty, f"{where}.") != "function":
            continue  # a built-in tool: the upstream's to judge
        nested = tool.get("function")
        if nested is not None:  # the Chat Completions form, which the translation also takes
            an_object(nested, f"{where}.function")
            check_function(nested, f"{where}.function.")
        else:
            check_function(tool, f"{where}.")


def _tool_choice(value: object, param: str) -> None:
    if one_of(value, TOOL_CHOICES):
        return
    if not isinstance(value, dict):
        raise refuse(param, "'auto', 'none', 'required' or {'type': 'function', 'name': ...}", value)
    kind = require(value, "type", non_empty, f"{param}.")
    if kind == "function":
        require(value, "name", non_empty, f"{param}.")
    elif kind == "allowed_tools":
        require(value, "mode", choice("auto", "required"), f"{param}.")
        require(value, "tools", an_array, f"{param}.")


def _text(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise refuse(param, "an object such as {'format': {'type': 'json_schema', ...}}", value)
    if value.get("format") is not None:
        check_response_format(value["format"], f"{param}.format", nested=False)
    check_fields(value, {"verbosity": string}, f"{param}.")


def _conversation(value: object, param: str) -> None:
    if not isinstance(value, str | dict):
        raise refuse(param, "a conversation id or an object", value)


_ITEM_FIELDS: dict[str, Checker] = {"id": string, "status": string}
_SUMMARY_PART = "{'type': 'summary_text', 'text': ...}"
_summary = array_of(dict, f"an array of parts such as {_SUMMARY_PART}", f"an object such as {_SUMMARY_PART}")
_REASONING_FIELDS: dict[str, Checker] = {"summary": _summary, "content": _summary, "encrypted_content": string}
_REASONING: dict[str, Checker] = {"effort": string, "summary": string, "generate_summary": string}


def _reasoning(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise refuse(param, "an object such as {'effort': 'low'}", value)
    check_fields(value, _REASONING, f"{param}.")


_FIELDS: dict[str, Checker] = {
    "instructions": string,
    "previous_response_id": string,
    "stream": boolean,
    "store": boolean,
    "background": boolean,
    "parallel_tool_calls": boolean,
    "user": string,
    "service_tier": string,
    "truncation": string,
    "safety_identifier": string,
    "prompt_cache_key": string,
    "metadata": an_object,
    "stream_options": an_object,
    "prompt": an_object,
    "include": strings,
    "conversation": _conversation,
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "max_output_tokens": integer(1),
    "max_tool_calls": integer(1),
    "top_logprobs": integer(0, 20),
    "text": _text,
    "reasoning": _reasoning,
    "tools": _tools,
    "tool_choice": _tool_choice,
}
