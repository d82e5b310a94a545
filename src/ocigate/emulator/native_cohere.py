"""The COHERE chat format (doc §3.2, §3.5, §3.6): ``message`` plus ``chatHistory``, Python-typed tool parameters,
tool calls without ids; streams end with an event that repeats the whole text."""

from __future__ import annotations

import json
import re

from ocigate.catalog.models import ModelInfo
from ocigate.core.types import JSON
from ocigate.emulator.errors import invalid
from ocigate.emulator.generation import Generation, Params, Prompt, ToolSpec, chunk_words, count_words
from ocigate.emulator.native_wire import (
    NATIVE_DEFAULT_MAX_TOKENS,
    array,
    check_schema,
    enum,
    event,
    obj,
    positive,
    text,
    usage,
)

HISTORY_ROLES = ("USER", "CHATBOT", "SYSTEM", "TOOL")
FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "COMPLETE"}
# CohereParameterDefinition.type takes Python type names (doc §3.2, LL); JSON Schema's names are refused here so
# that a client sending them finds out [uncertain: what Oracle does with "string"].
_PYTHON_TYPE = re.compile(r"^(str|int|float|bool|list|dict|any|List\[.+\]|Dict\[.+\]|list\[.+\]|dict\[.+\])$")
_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}


def read_cohere(chat: JSON, model: ModelInfo, region: str) -> tuple[Prompt, Params, list[JSON]]:
    """The prompt and parameters, and the chat history Oracle echoes back (without the new turn)."""
    results = array(chat.get("toolResults"), "chatRequest.toolResults")
    message = text(chat.get("message"), "chatRequest.message", required=True) or ""
    if not message and not results:
        raise invalid("Invalid parameter: 'chatRequest.message' must not be empty.")
    history = array(chat.get("chatHistory"), "chatRequest.chatHistory")
    tokens = 0
    preamble = text(chat.get("preambleOverride"), "chatRequest.preambleOverride")
    if preamble:
        tokens += count_words(preamble) + 1
    for index, entry in enumerate(history):
        tokens += _history_words(obj(entry, f"chatRequest.chatHistory[{index}]", required=True), index)
    outputs = tuple(_result_output(r, f"chatRequest.toolResults[{i}]") for i, r in enumerate(results))
    tokens += count_words(message) + 1 + sum(count_words(o) for o in outputs)
    prompt = Prompt("tool" if results else "user", message, outputs, tokens)
    tools = tuple(
        _tool(t, f"chatRequest.tools[{i}]") for i, t in enumerate(array(chat.get("tools"), "chatRequest.tools"))
    )
    schema, json_mode = response_format(obj(chat.get("responseFormat"), "chatRequest.responseFormat"))
    params = Params(
        model=model.id,
        region=region,
        max_tokens=positive(chat.get("maxTokens"), "chatRequest.maxTokens") or NATIVE_DEFAULT_MAX_TOKENS,
        tools=tools,
        json_schema=schema,
        json_mode=json_mode,
    )
    return prompt, params, list(history)


def _history_words(entry: JSON, index: int) -> int:
    where = f"chatRequest.chatHistory[{index}]"
    role = enum(entry.get("role"), f"{where}.role", HISTORY_ROLES)
    if role == "TOOL":
        results = array(entry.get("toolResults"), f"{where}.toolResults", required=True)
        return sum(count_words(_result_output(r, f"{where}.toolResults[{i}]")) for i, r in enumerate(results)) + 1
    said = text(entry.get("message"), f"{where}.message", required=role != "CHATBOT") or ""
    return count_words(said) + 1


def _result_output(result: object, where: str) -> str:
    entry = obj(result, where, required=True)
    call = obj(entry.get("call"), f"{where}.call", required=True)
    text(call.get("name"), f"{where}.call.name", required=True)
    outputs = array(entry.get("outputs"), f"{where}.outputs", required=True)
    for index, output in enumerate(outputs):
        obj(output, f"{where}.outputs[{index}]", required=True)
    return "; ".join(json.dumps(output, separators=(",", ":")) for output in outputs)


def _tool(entry: object, where: str) -> ToolSpec:
    tool = obj(entry, where, required=True)
    name = text(tool.get("name"), f"{where}.name", required=True) or ""
    text(tool.get("description"), f"{where}.description", required=True)
    properties: JSON = {}
    required: list[str] = []
    for param, raw in obj(tool.get("parameterDefinitions"), f"{where}.parameterDefinitions").items():
        definition = obj(raw, f"{where}.parameterDefinitions.{param}", required=True)
        kind = text(definition.get("type"), f"{where}.parameterDefinitions.{param}.type", required=True) or ""
        if not _PYTHON_TYPE.match(kind):
            raise invalid(
                f"Invalid parameter: '{where}.parameterDefinitions.{param}.type' must be a Python type name "
                f"(str, int, float, bool, list, dict), got {kind!r}."
            )
        properties[param] = {"type": _JSON_TYPES.get(kind.split("[")[0].lower(), "string")}
        if definition.get("isRequired") is True:
            required.append(param)
    return ToolSpec(name, {"type": "object", "properties": properties, "required": required})


def response_format(fmt: JSON) -> tuple[JSON | None, bool]:
    """CohereResponseFormat, shared by COHERE and COHEREV2: TEXT, or JSON_OBJECT with an optional schema."""
    if not fmt:
        return None, False
    kind = enum(fmt.get("type"), "chatRequest.responseFormat.type", ("TEXT", "JSON_OBJECT"))
    if kind == "TEXT":
        return None, False
    schema = obj(fmt.get("schema"), "chatRequest.responseFormat.schema")
    check_schema(schema, "chatRequest.responseFormat.schema")
    return (schema or None), True


def _calls(gen: Generation) -> list[JSON]:
    return [{"name": c.name, "parameters": json.loads(c.arguments)} for c in gen.tool_calls]


def _history_after(history: list[JSON], chat: JSON, gen: Generation) -> list[JSON]:
    """The chat history Oracle returns: the request's, plus this turn and the reply."""
    turn: list[JSON] = []
    message = chat.get("message")
    if isinstance(message, str) and message:
        turn.append({"role": "USER", "message": message})
    if chat.get("toolResults"):
        turn.append({"role": "TOOL", "toolResults": chat["toolResults"]})
    reply: JSON = {"role": "CHATBOT", "message": gen.content or ""}
    if gen.tool_calls:
        reply["toolCalls"] = _calls(gen)
    return [*history, *turn, reply]


def cohere_response(gen: Generation, chat: JSON, history: list[JSON]) -> JSON:
    response: JSON = {
        "apiFormat": "COHERE",
        "text": gen.content or "",
        "chatHistory": _history_after(history, chat, gen),
        "finishReason": FINISH[gen.finish_reason],
        "usage": usage(gen),
    }
    if gen.tool_calls:
        response["toolCalls"] = _calls(gen)
    return response


def cohere_events(gen: Generation, chat: JSON, history: list[JSON], include_usage: bool) -> list[bytes]:
    """Text deltas and a tool-call event, then the terminal event that repeats the whole response with
    ``finishReason`` and ``chatHistory`` (doc §3.6)."""
    events = [event({"apiFormat": "COHERE", "text": w}) for w in chunk_words(gen.content or "")]
    if gen.tool_calls:
        events.append(event({"apiFormat": "COHERE", "toolCalls": _calls(gen)}))
    last = cohere_response(gen, chat, history)
    if not include_usage:
        del last["usage"]
    events.append(event(last))
    return events
