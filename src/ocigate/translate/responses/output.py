"""A Chat Completions answer as a Responses API ``response`` object.

For models that Oracle serves without ``/responses`` (Meta, the native API), the gateway asks Chat Completions and
hands the client what ``POST /v1/responses`` would have returned. Field names and required fields follow the OpenAI
SDK's ``openai.types.responses.Response``, which is what the SDKs parse.

Item ids derive from the response id and the item's output index (``msg_<id>_1``), so the same answer always gets
the same ids: golden tests stay stable, and the streaming translator builds exactly the ids this module does.
"""

from __future__ import annotations

from ocigate.core.types import JSON

# Chat finish reasons that cut an answer short, as the Responses API's ``incomplete_details.reason``.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def item_id(prefix: str, response_id: str, index: int) -> str:
    """``msg_abc_1`` for the item at output index 1 of ``resp_abc``."""
    return f"{prefix}_{response_id.removeprefix('resp_')}_{index}"


def incomplete_reason(finish_reason: object) -> str | None:
    return _INCOMPLETE.get(finish_reason) if isinstance(finish_reason, str) else None


def reasoning_item(id: str, text: str) -> JSON:
    return {"id": id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}


def output_text_part(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": []}


def message_item(id: str, text: str, status: str) -> JSON:
    return {"id": id, "type": "message", "status": status, "role": "assistant", "content": [output_text_part(text)]}


def function_call_item(id: str, call_id: str, name: str, arguments: str, status: str) -> JSON:
    return {
        "id": id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def usage_from_chat(usage: object) -> JSON | None:
    """Chat's ``usage`` as the Responses API's; None when the upstream reported none."""
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
    completion_details = completion_details if isinstance(completion_details, dict) else {}
    return {
        "input_tokens": prompt,
        # The SDK's InputTokensDetails requires cache_write_tokens; Oracle reports no cache writes.
        "input_tokens_details": {
            "cached_tokens": _count(prompt_details.get("cached_tokens")),
            "cache_write_tokens": _count(prompt_details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": _count(completion_details.get("reasoning_tokens"))},
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
    }


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def response_object(
    request: JSON,
    *,
    response_id: str,
    created_at: int,
    status: str,
    output: list[JSON],
    usage: JSON | None,
    incomplete: str | None = None,
    error: JSON | None = None,
) -> JSON:
    """The ``response`` envelope, echoing the request's settings as OpenAI does (with OpenAI's defaults)."""
    reasoning = request.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, dict) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model"),
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": request.get("store") is not False,
        "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation") or "disabled",
        "usage": usage,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def reasoning_text(message: JSON) -> str:
    """Reasoning as Oracle sends it (``reasoning_content``) or as vLLM-style servers do (``reasoning``)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def content_text(content: object) -> str:
    """A chat message's text: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def from_chat_response(chat: JSON, request: JSON, *, response_id: str, created_at: int) -> JSON:
    """The Responses API ``response`` for a ``chat.completion`` answering ``to_chat_request(request)``.

    Output order is reasoning, message, then one ``function_call`` per tool call, which is the order the streaming
    translator produces for the same answer. A truncated answer (``finish_reason`` ``length``) is ``incomplete``,
    and so is its last item.
    """
    choices = chat.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = {"code": "server_error", "message": "The upstream model returned no choices."}
        return response_object(
            request, response_id=response_id, created_at=created_at, status="failed", output=[], usage=None, error=error
        )
    choice = choices[0]
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    incomplete = incomplete_reason(choice.get("finish_reason"))
    status = "incomplete" if incomplete else "completed"
    calls = [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]
    output: list[JSON] = []
    reasoning = reasoning_text(message)
    if reasoning:
        output.append(reasoning_item(item_id("rs", response_id, 0), reasoning))
    text = content_text(message.get("content")) or content_text(message.get("refusal"))
    if text:
        # An answer cut short inside a later tool call leaves its text whole: only the last item is incomplete.
        output.append(message_item(item_id("msg", response_id, len(output)), text, "completed" if calls else status))
    for call in calls:
        index = len(output)
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = call.get("id")
        name = function.get("name")
        arguments = function.get("arguments")
        output.append(
            function_call_item(
                item_id("fc", response_id, index),
                call_id if isinstance(call_id, str) and call_id else item_id("call", response_id, index),
                name if isinstance(name, str) else "",
                arguments if isinstance(arguments, str) else "",
                status,
            )
        )
    return response_object(
        request,
        response_id=response_id,
        created_at=created_at,
        status=status,
        output=output,
        usage=usage_from_chat(chat.get("usage")),
        incomplete=incomplete,
    )
