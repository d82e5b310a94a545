"""The COHEREV2 chat format (doc §3.3, §3.5, §3.6): OpenAI-like messages with typed content, THINKING for
reasoning models, tool calls with ids."""

from __future__ import annotations

from ocigate.catalog.models import ModelInfo
from ocigate.core.types import JSON
from ocigate.emulator.errors import invalid
from ocigate.emulator.generation import (
    Generation,
    Params,
    Prompt,
    ToolSpec,
    chunk_words,
    count_words,
    reasoning_words,
    split_arguments,
)
from ocigate.emulator.native_cohere import response_format
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

ROLES = ("USER", "SYSTEM", "ASSISTANT", "TOOL")
CONTENT_TYPES = ("TEXT", "IMAGE_URL", "DOCUMENT", "THINKING")
FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL"}


def read_cohere_v2(chat: JSON, model: ModelInfo, region: str) -> tuple[Prompt, Params]:
    messages = array(chat.get("messages"), "chatRequest.messages", required=True)
    if not messages:
        raise invalid("Invalid parameter: 'chatRequest.messages' must not be empty.")
    tokens = 0
    user_text = ""
    last_role = ""
    answered: set[str] = set()
    outputs: list[str] = []
    for index, entry in enumerate(messages):
        where = f"chatRequest.messages[{index}]"
        message = obj(entry, where, required=True)
        role = enum(message.get("role"), f"{where}.role", ROLES) or ""
        said = _content(message.get("content"), f"{where}.content", model)
        tokens += count_words(said) + 1
        if role == "TOOL":
            call_id = text(message.get("toolCallId"), f"{where}.toolCallId", required=True)
            if call_id not in answered:
                raise invalid(f"Invalid parameter: 'toolCallId' {call_id} not found in 'toolCalls' of previous message")
            outputs.append(said)
        else:
            outputs = []
            calls = array(message.get("toolCalls"), f"{where}.toolCalls") if role == "ASSISTANT" else []
            answered = {str(obj(c, f"{where}.toolCalls[]").get("id")) for c in calls}
            if role == "USER":
                user_text = said
        last_role = role.lower()
    tools = tuple(
        _tool(t, f"chatRequest.tools[{i}]") for i, t in enumerate(array(chat.get("tools"), "chatRequest.tools"))
    )
    choice = enum(chat.get("toolsChoice"), "chatRequest.toolsChoice", ("REQUIRED", "NONE"))
    thinking = obj(chat.get("thinking"), "chatRequest.thinking")
    thinks = model.reasoning and enum(thinking.get("type"), "chatRequest.thinking.type", ("ENABLED", "DISABLED")) != (
        "DISABLED"
    )
    schema, json_mode = response_format(obj(chat.get("responseFormat"), "chatRequest.responseFormat"))
    params = Params(
        model=model.id,
        region=region,
        max_tokens=positive(chat.get("maxTokens"), "chatRequest.maxTokens") or NATIVE_DEFAULT_MAX_TOKENS,
        reasoning_words=reasoning_words(None, reasoning_model=thinks),
        tools=tools,
        tools_enabled=choice != "NONE",
        json_schema=schema,
        json_mode=json_mode,
    )
    return Prompt(last_role, user_text, tuple(outputs), tokens), params


def _content(content: object, where: str, model: ModelInfo) -> str:
    texts: list[str] = []
    for index, item in enumerate(array(content, where)):
        part = obj(item, f"{where}[{index}]", required=True)
        kind = enum(part.get("type"), f"{where}[{index}].type", CONTENT_TYPES)
        if kind == "TEXT":
            texts.append(text(part.get("text"), f"{where}[{index}].text", required=True) or "")
        elif kind == "IMAGE_URL":
            obj(part.get("imageUrl"), f"{where}[{index}].imageUrl", required=True)
            if not model.vision:
                raise invalid(f"Model {model.id} does not support image input.")
    return " ".join(t for t in texts if t)


def _tool(entry: object, where: str) -> ToolSpec:
    tool = obj(entry, where, required=True)
    enum(tool.get("type"), f"{where}.type", ("FUNCTION",))
    function = obj(tool.get("function"), f"{where}.function", required=True)
    name = text(function.get("name"), f"{where}.function.name", required=True) or ""
    parameters = obj(function.get("parameters"), f"{where}.function.parameters")
    check_schema(parameters, f"{where}.function.parameters")
    return ToolSpec(name, parameters)


def _message(gen: Generation) -> JSON:
    content: list[JSON] = []
    if gen.reasoning:
        content.append({"type": "THINKING", "thinking": gen.reasoning})
    if gen.content is not None:
        content.append({"type": "TEXT", "text": gen.content})
    message: JSON = {"role": "ASSISTANT", "content": content}
    if gen.tool_calls:
        message["toolCalls"] = [
            {"id": c.id, "type": "FUNCTION", "function": {"name": c.name, "arguments": c.arguments}}
            for c in gen.tool_calls
        ]
    return message


def cohere_v2_response(gen: Generation, response_id: str) -> JSON:
    return {
        "apiFormat": "COHEREV2",
        "id": response_id,
        "message": _message(gen),
        "finishReason": FINISH[gen.finish_reason],
        "usage": usage(gen),
    }


def cohere_v2_events(gen: Generation, include_usage: bool) -> list[bytes]:
    def delta(message: JSON) -> bytes:
        return event({"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", **message}})

    events = [delta({"content": [{"type": "THINKING", "thinking": w}]}) for w in chunk_words(gen.reasoning)]
    events += [delta({"content": [{"type": "TEXT", "text": w}]}) for w in chunk_words(gen.content or "")]
    for call in gen.tool_calls:
        for position, fragment in enumerate(split_arguments(call.arguments)):
            head: JSON = {"id": call.id, "type": "FUNCTION"} if position == 0 else {}
            function: JSON = {"name": call.name, "arguments": fragment} if position == 0 else {"arguments": fragment}
            events.append(delta({"toolCalls": [{**head, "function": function}]}))
    last: JSON = {"apiFormat": "COHEREV2", "finishReason": FINISH[gen.finish_reason]}
    if include_usage:
        last["usage"] = usage(gen)
    events.append(event(last))
    return events
