"""A Responses request's ``input``, read as items and normalised with ids for ``GET /v1/responses/{id}/input_items``.

``input`` is a string (one user message) or an array of items; an item without ``type`` but with a ``role`` is a
message (the SDK's ``EasyInputMessage``). The normalised form is what OpenAI lists: every item has an ``id`` and a
``status``, message content is always an array of parts, and assistant text is ``output_text`` with annotations.
"""

from __future__ import annotations

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON

_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def request_items(request: JSON) -> list[JSON]:
    """The request's ``input`` as a list of items (a string becomes one user message)."""
    given = request.get("input")
    if given is None:
        return []
    if isinstance(given, str):
        return [{"type": "message", "role": "user", "content": given}]
    if not isinstance(given, list):
        raise InvalidRequest("'input' must be a string or an array of input items.", param="input")
    for index, item in enumerate(given):
        if not isinstance(item, dict):
            raise InvalidRequest(f"'input[{index}]' must be an object (an input item).", param="input")
    return given


def item_type(item: JSON) -> str:
    kind = item.get("type")
    if isinstance(kind, str):
        return kind
    return "message" if "role" in item else ""


def input_items(request: JSON, *, response_id: str | None = None) -> list[JSON]:
    """The request's input as OpenAI lists it: every item with an ``id`` and a ``status``, in input order.

    Items the client sent with an id keep it; others get ``<prefix>_<response id>_in<index>`` (or
    ``<prefix>_in<index>`` without a response id), so the listing is the same every time it is asked for.
    """
    scope = f"{response_id.removeprefix('resp_')}_" if response_id else ""
    return [_normalised(item, f"{scope}in{index}") for index, item in enumerate(request_items(request))]


def _normalised(item: JSON, suffix: str) -> JSON:
    kind = item_type(item)
    given_id = item.get("id")
    item_id = given_id if isinstance(given_id, str) and given_id else f"{_ID_PREFIXES.get(kind, 'item')}_{suffix}"
    out: JSON = {"id": item_id, **{key: value for key, value in item.items() if key != "id"}}
    if kind == "message":
        out["type"] = "message"
        out["content"] = _message_parts(item.get("content"), assistant=item.get("role") == "assistant")
    if kind in ("message", "function_call", "function_call_output"):
        out.setdefault("status", "completed")
    return out


def _message_parts(content: object, *, assistant: bool) -> object:
    if isinstance(content, str):
        part: JSON = {"type": "output_text", "text": content} if assistant else {"type": "input_text", "text": content}
        content = [part]
    if not assistant or not isinstance(content, list):
        return content
    return [
        {**part, "annotations": part.get("annotations") or []}
        if isinstance(part, dict) and part.get("type") == "output_text"
        else part
        for part in content
    ]
