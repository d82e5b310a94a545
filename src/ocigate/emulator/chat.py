"""``POST .../chat/completions``: OpenAI's Chat Completions as Oracle's OpenAI-compatible path serves it."""

from __future__ import annotations

import time

import orjson

from ocigate.catalog.models import ModelInfo
from ocigate.core.asgi import Handler, Request, Response, StreamingResponse
from ocigate.core.types import JSON
from ocigate.emulator.context import Context, json_reply
from ocigate.emulator.errors import invalid, missing
from ocigate.emulator.faults import paced
from ocigate.emulator.generation import (
    DEFAULT_MAX_TOKENS,
    Generation,
    Params,
    Prompt,
    chunk_words,
    count_words,
    generate,
    reasoning_words,
    split_arguments,
)
from ocigate.emulator.params import positive_int, read_format, read_tool_choice, read_tools, text_of
from ocigate.emulator.strict import check_chat_fields

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
TEXT_PARTS = frozenset({"text"})
_DONE = b"data: [DONE]\n\n"


def _tool_call_ids(message: JSON) -> set[str]:
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return set()
    return {call["id"] for call in calls if isinstance(call, dict) and isinstance(call.get("id"), str)}


def read_messages(messages: object) -> Prompt:
    if messages is None:
        raise missing("Missing required parameter 'messages'.")
    if not isinstance(messages, list) or not messages:
        raise invalid("Invalid parameter: 'messages' must be a non-empty array.")
    tokens = 0
    user_text = ""
    last_role = ""
    answered: set[str] = set()  # the tool calls of the assistant message that tool messages answer
    outputs: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(f"Invalid parameter: 'messages[{index}]' must be an object.")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:  # a list or an object is a 400, not a crash
            raise invalid(f"Invalid parameter: 'messages[{index}].role' must be one of {', '.join(sorted(ROLES))}.")
        content = message.get("content")
        # Oracle rejects an empty string where OpenAI accepts it; clients that send "" for an assistant turn
        # with tool calls trip over this.
        if content == "":
            raise invalid(f"Invalid parameter: 'messages[{index}].content' must not be empty.")
        text = text_of(content, TEXT_PARTS)
        if text is None:
            if content is not None:
                raise invalid(f"Invalid parameter: 'messages[{index}].content' must be a string or an array.")
            if role != "assistant":
                raise missing(f"Missing required parameter 'messages[{index}].content'.")
            text = ""
        tokens += count_words(text) + 1
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise missing(f"Missing required parameter 'messages[{index}].tool_call_id'.")
            if call_id not in answered:
                raise invalid(f"Invalid parameter: 'toolCallId' {call_id} not found in 'toolCalls' of previous message")
            outputs.append(text)
        else:
            outputs = []
            answered = _tool_call_ids(message) if role == "assistant" else set()
            if role == "user":
                user_text = text
        last_role = role
    return Prompt(last_role, user_text, tuple(outputs), tokens)


def read_params(ctx: Context, model: ModelInfo, body: JSON) -> Params:
    tools = read_tools(body.get("tools"), nested=True)
    enabled, forced = read_tool_choice(body.get("tool_choice"), tools)
    schema, json_mode = read_format(body.get("response_format"), "response_format")
    return Params(
        model=body["model"],
        region=ctx.region,
        max_tokens=positive_int(body, "max_completion_tokens", "max_tokens") or DEFAULT_MAX_TOKENS,
        reasoning_words=reasoning_words(body.get("reasoning_effort"), reasoning_model=model.reasoning),
        tools=tools,
        tools_enabled=enabled,
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        json_schema=schema,
        json_mode=json_mode,
    )


def usage(gen: Generation) -> JSON:
    return {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "total_tokens": gen.prompt_tokens + gen.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": gen.reasoning_tokens},
    }


def completion(gen: Generation, completion_id: str, model: str, created: int) -> JSON:
    message: JSON = {"role": "assistant", "content": gen.content}
    if gen.reasoning:
        message["reasoning_content"] = gen.reasoning
    if gen.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in gen.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": gen.finish_reason}],
        "usage": usage(gen),
        "system_fingerprint": None,
    }


def stream_events(gen: Generation, completion_id: str, model: str, created: int, include_usage: bool) -> list[bytes]:
    """Every SSE event of the stream. The chunk envelope is serialised once and only the deltas per word."""
    head: JSON = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }
    prefix = b"data: " + orjson.dumps(head)[:-1] + b',"choices":[{"index":0,"delta":'
    open_tail = b',"logprobs":null,"finish_reason":null}]}\n\n'
    dumps = orjson.dumps
    first: JSON = {"role": "assistant", "content": None if gen.tool_calls else ""}
    events = [prefix + dumps(first) + open_tail]
    events.extend(prefix + dumps({"reasoning_content": w}) + open_tail for w in chunk_words(gen.reasoning))
    if gen.content:
        events.extend(prefix + dumps({"content": w}) + open_tail for w in chunk_words(gen.content))
    for index, call in enumerate(gen.tool_calls):
        opening = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        events.append(prefix + dumps({"tool_calls": [opening]}) + open_tail)
        for fragment in split_arguments(call.arguments):
            delta = {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
            events.append(prefix + dumps(delta) + open_tail)
    events.append(prefix + b'{},"logprobs":null,"finish_reason":"' + gen.finish_reason.encode() + b'"}]}\n\n')
    if include_usage:
        events.append(b"data: " + dumps({**head, "choices": [], "usage": usage(gen)}) + b"\n\n")
    events.append(_DONE)
    return events


def chat_handler(ctx: Context, needs_project: bool) -> Handler:
    async def chat_completions(request: Request) -> Response | StreamingResponse:
        body, cut_after = await ctx.admit(request, needs_project)
        model = ctx.chat_model(body.get("model"))
        check_chat_fields(body, model.vendor)
        prompt = read_messages(body.get("messages"))
        gen = generate(prompt, read_params(ctx, model, body))
        completion_id = ctx.ids.object_id("chatcmpl-")
        created = int(time.time())
        if body.get("stream") is True:
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            events = stream_events(gen, completion_id, body["model"], created, include_usage)
            return StreamingResponse(paced(events, ctx.config.stream_delay_s, cut_after))
        return json_reply(completion(gen, completion_id, body["model"], created))

    return chat_completions
