"""Oracle's ChatResult (doc §3.5) as an OpenAI ``chat.completion``, for the three formats, and the pieces the stream
translator shares: finish reasons, usage and Cohere's missing tool-call ids."""

from __future__ import annotations

import hashlib
import json

from ocigate.core.types import JSON

# GENERIC sends OpenAI's lower-case reasons; Cohere sends its own upper-case ones (doc §3.5). Keys are lower-cased.
FINISH_REASONS: dict[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
    "complete": "stop",
    "stop_sequence": "stop",
    "end_turn": "stop",
    "user_cancel": "stop",
    "max_tokens": "length",
    "error_limit": "length",
    "tool_call": "tool_calls",
    "error_toxic": "content_filter",
    # An ERROR finish has no OpenAI counterpart; the text so far is returned as a stop.
    "error": "stop",
}


def finish_reason(raw: object, *, has_tool_calls: bool = False) -> str:
    """OpenAI's finish reason for Oracle's. Cohere's v1 ends a tool-calling turn with COMPLETE: with tool calls
    present, a plain stop becomes ``tool_calls``."""
    reason = FINISH_REASONS.get(raw.lower(), "stop") if isinstance(raw, str) else "stop"
    if has_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def synth_call_id(name: str, arguments: JSON | str, index: int) -> str:
    """A stable id for a Cohere v1 tool call (which has none): the same call at the same position always gets the
    same id, in a JSON answer and in a stream alike."""
    canonical = arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True)
    digest = hashlib.sha256(f"{index}\x00{name}\x00{canonical}".encode()).hexdigest()
    return "call_" + digest[:24]


def to_openai_usage(usage: object) -> JSON | None:
    """OpenAI's usage object for Oracle's Usage, reasoning and cached tokens included; None when absent."""
    if type(usage) is not dict:
        if not isinstance(usage, dict):
            return None
    get = usage.get
    prompt = get("promptTokens")
    if type(prompt) is not int:  # the exact type first: a count is an int, never a bool
        prompt = _count(prompt)
    completion = get("completionTokens")
    if type(completion) is not int:
        completion = _count(completion)
    total = get("totalTokens")
    prompt_details = get("promptTokensDetails")
    cached = prompt_details.get("cachedTokens") if isinstance(prompt_details, dict) else 0
    if type(cached) is not int:
        cached = _count(cached)
    details = get("completionTokensDetails")
    completion_details: JSON = {"reasoning_tokens": 0}
    if isinstance(details, dict):
        reasoning = details.get("reasoningTokens")
        completion_details["reasoning_tokens"] = reasoning if type(reasoning) is int else _count(reasoning)
        for oci, openai in _PREDICTION_TOKENS:
            if isinstance(details.get(oci), int):
                completion_details[openai] = details[oci]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if isinstance(total, int) else prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": completion_details,
    }


_PREDICTION_TOKENS = (
    ("acceptedPredictionTokens", "accepted_prediction_tokens"),
    ("rejectedPredictionTokens", "rejected_prediction_tokens"),
)


def as_object(value: object) -> JSON:
    """``value`` if it is a JSON object, else an empty one: upstream payloads are read defensively."""
    return value if isinstance(value, dict) else {}


def as_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def text_of(content: object, kind: str = "TEXT", field: str = "text") -> str:
    """The concatenated ``field`` of the content items of this ``kind``."""
    if type(content) is list and len(content) == 1:  # the usual one item, without a generator
        item = content[0]
        if type(item) is dict and item.get("type") == kind:
            value = item.get(field, "")
            return value if type(value) is str else str(value)
    if isinstance(content, str):
        return content if kind == "TEXT" else ""
    if not isinstance(content, list):
        return ""
    return "".join(str(item.get(field, "")) for item in content if isinstance(item, dict) and item.get("type") == kind)


def from_oci_chat_response(raw: JSON, *, model: str, completion_id: str, created: int) -> JSON:
    """An OpenAI chat completion for a ChatResult (or a bare chatResponse) of any format."""
    response = raw.get("chatResponse", raw)
    if not isinstance(response, dict):
        response = {}
    fmt = response.get("apiFormat")
    usage = to_openai_usage(response.get("usage"))
    if fmt == "COHERE":
        choices = [_cohere_choice(response)]
    elif fmt == "COHEREV2":
        choices = [_cohere_v2_choice(response)]
    else:
        listed = response.get("choices")
        raw_choices: list[JSON] = []
        choices = []
        if isinstance(listed, list):
            for choice in listed:
                if isinstance(choice, dict):
                    choices.append(_generic_choice(choice, len(raw_choices)))
                    raw_choices.append(choice)
        if usage is None:  # a ChatChoice may carry the usage itself
            usage = next((u for c in raw_choices if (u := to_openai_usage(c.get("usage"))) is not None), None)
    completion: JSON = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "system_fingerprint": raw.get("modelVersion") if isinstance(raw.get("modelVersion"), str) else None,
    }
    if usage is not None:
        completion["usage"] = usage
    return completion


def _choice(index: int, text: str | None, calls: list[JSON], reasoning: str | None, finish: str) -> JSON:
    message: JSON = {"role": "assistant", "content": text or None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish}


def _call(call_id: str, name: str, arguments: str) -> JSON:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _given_call(call_id: object, name: str, arguments: object, index: int) -> JSON:
    """A tool call as Oracle gave it: arguments parsed or not, and an id unless the model left it out."""
    arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
    given = call_id if isinstance(call_id, str) and call_id else None
    return _call(given or synth_call_id(name, arguments, index), name, arguments)


def _generic_choice(choice: JSON, position: int) -> JSON:
    message = choice.get("message")
    if type(message) is not dict:
        message = as_object(message)
    calls: list[JSON] = []
    listed = message.get("toolCalls")
    if listed:
        for number, call in enumerate(listed):
            if isinstance(call, dict):
                calls.append(_given_call(call.get("id"), str(call.get("name", "")), call.get("arguments", ""), number))
    index = choice.get("index")
    if type(index) is not int:
        index = index if isinstance(index, int) and not isinstance(index, bool) else position
    text = text_of(message.get("content"))
    out: JSON = {"role": "assistant", "content": text or None}
    reasoning = message.get("reasoningContent")
    if reasoning and isinstance(reasoning, str):
        out["reasoning_content"] = reasoning
    if calls:
        out["tool_calls"] = calls
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        out["refusal"] = refusal
    raw = choice.get("finishReason")
    finish = FINISH_REASONS.get(raw.lower(), "stop") if isinstance(raw, str) else "stop"
    if calls and finish == "stop":  # as finish_reason(): a plain stop with tool calls is a tool_calls finish
        finish = "tool_calls"
    return {"index": index, "message": out, "logprobs": None, "finish_reason": finish}


def _cohere_choice(response: JSON) -> JSON:
    calls = []
    for index, call in enumerate(response.get("toolCalls") or []):
        if isinstance(call, dict):
            name = str(call.get("name", ""))
            parameters = as_object(call.get("parameters"))
            calls.append(_call(synth_call_id(name, parameters, index), name, json.dumps(parameters)))
    text = response.get("text")
    finish = finish_reason(response.get("finishReason"), has_tool_calls=bool(calls))
    return _choice(0, text if isinstance(text, str) else None, calls, None, finish)


def _cohere_v2_choice(response: JSON) -> JSON:
    message = as_object(response.get("message"))
    calls = []
    for index, call in enumerate(message.get("toolCalls") or []):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            name, arguments = str(function.get("name", "")), function.get("arguments", "{}")
            calls.append(_given_call(call.get("id"), name, arguments, index))
    content = message.get("content")
    finish = finish_reason(response.get("finishReason"), has_tool_calls=bool(calls))
    # toolPlan (the model's note on why it calls tools) has no OpenAI field and is left out.
    return _choice(0, text_of(content), calls, text_of(content, "THINKING", "thinking") or None, finish)
