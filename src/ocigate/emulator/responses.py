"""``POST .../responses``: OpenAI's Responses API, which Oracle serves for OpenAI, xAI and Gemini models (not
Meta or Cohere). Stateless: ``previous_response_id`` is accepted but nothing is stored."""

from __future__ import annotations

import time

from ocigate.catalog.models import ModelInfo
from ocigate.core.asgi import Handler, Request, Response, StreamingResponse
from ocigate.core.types import JSON
from ocigate.emulator.context import Context, Ids, json_reply
from ocigate.emulator.errors import invalid, missing
from ocigate.emulator.faults import paced
from ocigate.emulator.generation import (
    DEFAULT_MAX_TOKENS,
    Generation,
    Params,
    Prompt,
    count_words,
    generate,
    reasoning_words,
)
from ocigate.emulator.params import positive_int, read_format, read_tool_choice, read_tools, text_of
from ocigate.emulator.response_events import stream_events

MESSAGE_ROLES = frozenset({"user", "assistant", "system", "developer"})
TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


def _output_text(output: object) -> str:
    if isinstance(output, str):
        return output
    return text_of(output, TEXT_PARTS) or ""


def _call_id(item: JSON, index: int) -> str:
    call_id = item.get("call_id")
    if not isinstance(call_id, str):  # a list or an object is a 400, not a crash
        raise invalid(f"Invalid parameter: 'input[{index}].call_id' must be a string.")
    return call_id


def read_input(items: object, instructions: object, check_call_ids: bool) -> Prompt:
    tokens = 0
    if instructions is not None:
        if not isinstance(instructions, str):
            raise invalid("Invalid parameter: 'instructions' must be a string.")
        tokens += count_words(instructions) + 1
    if items is None:
        raise missing("Missing required parameter 'input'.")
    if isinstance(items, str):
        if not items:
            raise invalid("Invalid parameter: 'input' must not be empty.")
        return Prompt("user", items, (), tokens + count_words(items) + 1)
    if not isinstance(items, list) or not items:
        raise invalid("Invalid parameter: 'input' must be a non-empty string or array.")
    user_text = ""
    last_role = ""
    calls: set[str] = set()
    outputs: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"Invalid parameter: 'input[{index}]' must be an object.")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if not isinstance(role, str) or role not in MESSAGE_ROLES:  # a list or an object is a 400, not a crash
                roles = ", ".join(sorted(MESSAGE_ROLES))
                raise invalid(f"Invalid parameter: 'input[{index}].role' must be one of {roles}.")
            content = item.get("content")
            if content == "":
                raise invalid(f"Invalid parameter: 'input[{index}].content' must not be empty.")
            text = text_of(content, TEXT_PARTS)
            if text is None:
                raise invalid(f"Invalid parameter: 'input[{index}].content' must be a string or an array.")
            tokens += count_words(text) + 1
            outputs = []
            last_role = role
            if role == "user":
                user_text = text
        elif kind == "function_call":
            calls.add(_call_id(item, index))
            arguments = item.get("arguments")
            tokens += (count_words(arguments) if isinstance(arguments, str) else 0) + 1
            outputs = []
            last_role = "assistant"
        elif kind == "function_call_output":
            call_id = _call_id(item, index)
            if check_call_ids and call_id not in calls:
                raise invalid(f"No tool call found for function call output with call_id {call_id}.")
            text = _output_text(item.get("output"))
            tokens += count_words(text) + 1
            outputs.append(text)
            last_role = "tool"
        elif kind != "reasoning":  # reasoning items fed back by clients carry nothing to answer
            raise invalid(f"Invalid parameter: input item type {kind!r} is not supported.")
    return Prompt(last_role, user_text, tuple(outputs), tokens)


def read_params(ctx: Context, model: ModelInfo, body: JSON) -> Params:
    tools = read_tools(body.get("tools"), nested=False)
    enabled, forced = read_tool_choice(body.get("tool_choice"), tools)
    text = body.get("text")
    schema, json_mode = read_format(text.get("format") if isinstance(text, dict) else None, "text.format")
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return Params(
        model=body["model"],
        region=ctx.region,
        max_tokens=positive_int(body, "max_output_tokens") or DEFAULT_MAX_TOKENS,
        reasoning_words=reasoning_words(effort, reasoning_model=model.reasoning),
        tools=tools,
        tools_enabled=enabled,
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        json_schema=schema,
        json_mode=json_mode,
    )


def output_items(gen: Generation, ids: Ids) -> list[JSON]:
    items: list[JSON] = []
    if gen.reasoning:
        summary = [{"type": "summary_text", "text": gen.reasoning}]
        items.append({"type": "reasoning", "id": ids.object_id("rs_"), "summary": summary})
    if gen.content is not None:
        part = {"type": "output_text", "text": gen.content, "annotations": []}
        status = "incomplete" if gen.finish_reason == "length" else "completed"
        items.append(
            {"type": "message", "id": ids.object_id("msg_"), "status": status, "role": "assistant", "content": [part]}
        )
    for call in gen.tool_calls:
        items.append(
            {
                "type": "function_call",
                "id": ids.object_id("fc_"),
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "status": "completed",
            }
        )
    return items


def response_object(gen: Generation, body: JSON, model: ModelInfo, response_id: str, ids: Ids) -> JSON:
    incomplete = gen.finish_reason == "length"
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output_items(gen, ids),
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": effort or "medium", "summary": None} if model.reasoning else None,
        "store": False,
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": gen.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": gen.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": gen.reasoning_tokens},
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
        },
        "metadata": body.get("metadata") or {},
        "output_text": gen.content or "",
    }


def responses_handler(ctx: Context, needs_project: bool) -> Handler:
    async def responses(request: Request) -> Response | StreamingResponse:
        body, cut_after = await ctx.admit(request, needs_project)
        model = ctx.chat_model(body.get("model"))
        if not model.supports_responses:
            raise invalid(
                f"Model {body['model']} does not support the Responses API; use /chat/completions for this model."
            )
        prompt = read_input(body.get("input"), body.get("instructions"), body.get("previous_response_id") is None)
        gen = generate(prompt, read_params(ctx, model, body))
        final = response_object(gen, body, model, ctx.ids.object_id("resp_"), ctx.ids)
        if body.get("stream") is True:
            events = stream_events(final, gen)
            return StreamingResponse(paced(events, ctx.config.stream_delay_s, cut_after))
        return json_reply(final)

    return responses
