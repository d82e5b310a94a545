"""A Chat Completions answer as an Anthropic Messages API ``message``, and the gateway's errors in Anthropic's
envelope.

Content blocks come in the order the stream translator (``stream.py``) produces for the same answer: ``thinking``
(the reasoning Oracle returns, with an empty ``signature``: nothing signs it), ``text``, then one ``tool_use`` per
tool call. ``stop_reason``: ``length`` is ``max_tokens``; tool calls are ``tool_use``; ``stop`` is
``stop_sequence`` only when the upstream says which of the request's stop sequences it met (vLLM-style
``stop_reason``; Oracle's chat APIs do not say), else ``end_turn``. ``usage``: ``input_tokens`` are the prompt
tokens Oracle did not read from its cache, ``cache_read_input_tokens`` those it did (Anthropic's split), and
nothing is ever written to a cache (``cache_creation_input_tokens`` 0).

Errors: ``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`` with Anthropic's types for
the gateway's statuses; Oracle's throttling and unavailability (503) are ``overloaded_error`` with status 529, as
Anthropic's SDKs expect to retry them.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from ocigate.core.errors import GatewayError
from ocigate.core.types import JSON
from ocigate.translate.responses.output import content_text, reasoning_text

_FINISH = {"length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use", "content_filter": "refusal"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
OVERLOADED = 529


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_tool_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def stop_reason(finish: object, choice: JSON, stop_sequences: object) -> tuple[str, str | None]:
    """Anthropic's ``stop_reason`` and ``stop_sequence`` for a chat ``finish_reason``."""
    if isinstance(finish, str) and finish in _FINISH:
        return _FINISH[finish], None
    matched = choice.get("stop_reason")
    if isinstance(matched, str) and isinstance(stop_sequences, list) and matched in stop_sequences:
        return "stop_sequence", matched
    return "end_turn", None


def usage_of(chat_usage: object, estimate: int = 0) -> JSON:
    """Anthropic's ``usage`` from a chat ``usage``; ``estimate`` stands for the input tokens when there is none."""
    usage: dict[str, Any] = chat_usage if isinstance(chat_usage, dict) else {}
    prompt = _count(usage.get("prompt_tokens")) if usage else estimate
    details = usage.get("prompt_tokens_details")
    cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return {
        "input_tokens": max(prompt - cached, 0),
        "output_tokens": _count(usage.get("completion_tokens")),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def tool_input(arguments: object) -> JSON:
    """A tool call's ``input`` from its JSON arguments; arguments that are not a JSON object are kept whole under
    ``_arguments`` rather than lost."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_arguments": arguments}


def message_object(message_id: str, model: str, content: list[JSON], stop: tuple[str | None, str | None]) -> JSON:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop[0],
        "stop_sequence": stop[1],
    }


def from_chat_response(chat: JSON, request: JSON, message_id: str) -> JSON:
    """The Messages API answer for a ``chat.completion`` answering ``to_chat_request(request)``."""
    choices = chat.get("choices")
    choice: JSON = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    content: list[JSON] = []
    reasoning = reasoning_text(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = content_text(message.get("content")) or content_text(message.get("refusal"))
    if text:
        content.append({"type": "text", "text": text})
    calls = [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]
    for call in calls:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = call.get("id")
        content.append(
            {
                "type": "tool_use",
                "id": call_id if isinstance(call_id, str) and call_id else new_tool_id(),
                "name": function.get("name") if isinstance(function.get("name"), str) else "",
                "input": tool_input(function.get("arguments")),
            }
        )
    stop = stop_reason(choice.get("finish_reason"), choice, request.get("stop_sequences"))
    if calls and stop[0] == "end_turn":
        stop = ("tool_use", None)
    answer = message_object(message_id, str(request.get("model")), content, stop)
    answer["usage"] = usage_of(chat.get("usage"))
    return answer


def error_status(err: GatewayError) -> int:
    """The status Anthropic's API would answer: 529 for an overloaded upstream, else the gateway's."""
    if err.status == 503 and err.upstream_status is not None:
        return OVERLOADED
    return err.status


def error_type(status: int) -> str:
    return _ERROR_TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")


def error_object(err: GatewayError, request_id: str | None = None) -> JSON:
    body: JSON = {"type": "error", "error": {"type": error_type(error_status(err)), "message": err.message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
