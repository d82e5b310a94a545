"""The GENERIC chat format (doc §3.4-§3.6): reading a GenericChatRequest, answering with a GenericChatResponse or
with GENERIC stream events."""

from __future__ import annotations

from ocigate.catalog.models import ModelInfo
from ocigate.core.types import JSON
from ocigate.emulator.errors import invalid, missing
from ocigate.emulator.generation import (
    REASONING_WORDS,
    Generation,
    Params,
    Prompt,
    ToolSpec,
    chunk_words,
    count_words,
    reasoning_words,
    split_arguments,
)
from ocigate.emulator.native_wire import (
    NATIVE_DEFAULT_MAX_TOKENS,
    array,
    check_schema,
    enum,
    event,
    now_iso,
    obj,
    positive,
    text,
    usage,
)

ROLES = ("SYSTEM", "USER", "ASSISTANT", "TOOL", "DEVELOPER")
CONTENT_TYPES = ("TEXT", "IMAGE", "AUDIO", "VIDEO", "DOCUMENT")
EFFORTS = tuple(level.upper() for level in REASONING_WORDS)


def read_generic(chat: JSON, model: ModelInfo, region: str) -> tuple[Prompt, Params]:
    prompt = _prompt(array(chat.get("messages"), "chatRequest.messages", required=True), model)
    tools = _tools(array(chat.get("tools"), "chatRequest.tools"))
    enabled, forced = _tool_choice(obj(chat.get("toolChoice"), "chatRequest.toolChoice"), tools)
    schema, json_mode = _format(obj(chat.get("responseFormat"), "chatRequest.responseFormat"))
    effort = enum(chat.get("reasoningEffort"), "chatRequest.reasoningEffort", EFFORTS)
    budget = positive(chat.get("maxCompletionTokens"), "chatRequest.maxCompletionTokens") or positive(
        chat.get("maxTokens"), "chatRequest.maxTokens"
    )
    return prompt, Params(
        model=model.id,
        region=region,
        max_tokens=budget or NATIVE_DEFAULT_MAX_TOKENS,
        reasoning_words=reasoning_words(effort, reasoning_model=model.reasoning),
        tools=tools,
        tools_enabled=enabled,
        forced_tool=forced,
        parallel_tool_calls=chat.get("isParallelToolCalls") is not False,
        json_schema=schema,
        json_mode=json_mode,
    )


def _prompt(messages: list[object], model: ModelInfo) -> Prompt:
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
        role = enum(message.get("role"), f"{where}.role", ROLES)
        said = _content(message.get("content"), f"{where}.content", model)
        tokens += count_words(said) + 1
        if role == "TOOL":
            call_id = text(message.get("toolCallId"), f"{where}.toolCallId", required=True)
            if call_id not in answered:
                raise invalid(f"Invalid parameter: 'toolCallId' {call_id} not found in 'toolCalls' of previous message")
            outputs.append(said)
        else:
            outputs = []
            answered = set()
            for call in array(message.get("toolCalls"), f"{where}.toolCalls") if role == "ASSISTANT" else []:
                call_id = text(obj(call, f"{where}.toolCalls[]").get("id"), f"{where}.toolCalls[].id", required=True)
                answered.add(call_id or "")
            if role == "USER":
                user_text = said
        last_role = (role or "").lower()
    return Prompt(last_role, user_text, tuple(outputs), tokens)


def _content(content: object, where: str, model: ModelInfo) -> str:
    # ChatContent is always an array of typed items (SDK Message.content: list[ChatContent]), never a string.
    texts: list[str] = []
    for index, item in enumerate(array(content, where)):
        part = obj(item, f"{where}[{index}]", required=True)
        kind = enum(part.get("type"), f"{where}[{index}].type", CONTENT_TYPES)
        if kind == "TEXT":
            texts.append(text(part.get("text"), f"{where}[{index}].text", required=True) or "")
        elif kind == "IMAGE":
            url = obj(part.get("imageUrl"), f"{where}[{index}].imageUrl", required=True).get("url")
            if not isinstance(url, str) or not url:
                raise missing(f"Missing required parameter '{where}[{index}].imageUrl.url'.")
            if not model.vision:
                raise invalid(f"Model {model.id} does not support image input.")
    return " ".join(t for t in texts if t)


def _tools(tools: list[object]) -> tuple[ToolSpec, ...]:
    specs = []
    for index, entry in enumerate(tools):
        where = f"chatRequest.tools[{index}]"
        tool = obj(entry, where, required=True)
        enum(tool.get("type"), f"{where}.type", ("FUNCTION",))
        name = text(tool.get("name"), f"{where}.name", required=True) or ""
        parameters = obj(tool.get("parameters"), f"{where}.parameters")
        check_schema(parameters, f"{where}.parameters")
        specs.append(ToolSpec(name, parameters))
    return tuple(specs)


def _tool_choice(choice: JSON, tools: tuple[ToolSpec, ...]) -> tuple[bool, str | None]:
    if not choice:
        return True, None
    kind = enum(choice.get("type"), "chatRequest.toolChoice.type", ("NONE", "AUTO", "REQUIRED", "FUNCTION"))
    if kind == "NONE":
        return False, None
    if kind == "FUNCTION":
        name = choice.get("name")
        if not any(tool.name == name for tool in tools):
            raise invalid(f"Invalid parameter: 'chatRequest.toolChoice.name' {name!r} is not among 'tools'.")
        return True, str(name)
    return True, None


def _format(fmt: JSON) -> tuple[JSON | None, bool]:
    if not fmt:
        return None, False
    kind = enum(fmt.get("type"), "chatRequest.responseFormat.type", ("TEXT", "JSON_OBJECT", "JSON_SCHEMA"))
    if kind != "JSON_SCHEMA":
        return None, kind == "JSON_OBJECT"
    spec = obj(fmt.get("jsonSchema"), "chatRequest.responseFormat.jsonSchema", required=True)
    if "strict" in spec:
        # OCI wants isStrict and rejects OpenAI's strict (LL).
        raise invalid("Invalid parameter: 'chatRequest.responseFormat.jsonSchema.strict' is unknown; use 'isStrict'.")
    schema = obj(spec.get("schema"), "chatRequest.responseFormat.jsonSchema.schema")
    check_schema(schema, "chatRequest.responseFormat.jsonSchema.schema")
    return schema, True


def generic_response(gen: Generation) -> JSON:
    message: JSON = {"role": "ASSISTANT"}
    if gen.content is not None:
        message["content"] = [{"type": "TEXT", "text": gen.content}]
    if gen.reasoning:
        message["reasoningContent"] = gen.reasoning
    if gen.tool_calls:
        # Real payloads leave content out of a tool-call answer (doc §3.5, ES).
        message["toolCalls"] = [
            {"type": "FUNCTION", "id": c.id, "name": c.name, "arguments": c.arguments} for c in gen.tool_calls
        ]
    choice = {"index": 0, "message": message, "finishReason": gen.finish_reason, "logprobs": {}}
    return {"apiFormat": "GENERIC", "timeCreated": now_iso(), "choices": [choice], "usage": usage(gen)}


def generic_events(gen: Generation, include_usage: bool) -> list[bytes]:
    """Bare ChatChoice-like events (no apiFormat, a random pad), ending with a finishReason-only event and no
    [DONE] (doc §3.6). Usage rides on that last event, next to the choice fields [uncertain placement]."""

    def delta(message: JSON) -> bytes:
        return event({"index": 0, "message": {"role": "ASSISTANT", **message}})

    events = [delta({"reasoningContent": w}) for w in chunk_words(gen.reasoning)]
    events += [delta({"content": [{"type": "TEXT", "text": w}]}) for w in chunk_words(gen.content or "")]
    for call in gen.tool_calls:
        for position, fragment in enumerate(split_arguments(call.arguments)):
            # The first fragment names the call; later ones carry only arguments.
            head = {"type": "FUNCTION", "id": call.id, "name": call.name} if position == 0 else {}
            events.append(delta({"toolCalls": [{**head, "arguments": fragment}]}))
    last: JSON = {"finishReason": gen.finish_reason}
    if include_usage:
        last["usage"] = usage(gen)
    events.append(event(last))
    return events
