"""The shape of ``POST /v1/messages`` and ``/v1/messages/count_tokens`` (Anthropic's Messages API), checked before
any upstream call.

``model``; ``max_tokens`` a positive integer, required as Anthropic requires it (not for ``count_tokens``);
``messages`` a non-empty array of ``{"role": "user" | "assistant", "content": string | blocks}``, each block an
object with a ``type``; ``system`` a string or an array of blocks; ``stop_sequences`` strings; ``temperature`` 0-1,
``top_p`` 0-1, ``top_k`` a positive integer; ``stream`` a boolean; ``metadata`` an object whose ``user_id`` is a
string; ``tools`` objects with a ``name`` (``input_schema`` an object when given); ``tool_choice`` one of auto, any,
tool (with a ``name``), none; ``thinking`` enabled (with ``budget_tokens`` of at least 1024), disabled or adaptive.
What each block holds is checked by the translation (``translate/anthropic/request.py``), naming the block.
"""

from __future__ import annotations

from ocigate.core.types import JSON
from ocigate.schemas.fields import (
    Checker,
    an_object,
    boolean,
    check_fields,
    check_model,
    choice,
    elements,
    integer,
    non_empty,
    number,
    refuse,
    require,
    string,
    strings,
)

ROLES = ("user", "assistant")
TOOL_CHOICES = ("auto", "any", "tool", "none")
THINKING_TYPES = ("enabled", "disabled", "adaptive")
MIN_THINKING_BUDGET = 1024


def check_messages(payload: JSON, *, counting: bool = False) -> None:
    """Raises :class:`InvalidRequest` naming the first field of ``payload`` with a wrong shape."""
    check_model(payload)
    if not counting:
        require(payload, "max_tokens", integer(1))
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise refuse("messages", "a non-empty array of messages", messages)
    for where, message in elements(messages, "messages", "an array of messages", dict, "a message object"):
        require(message, "role", choice(*ROLES), f"{where}.")
        _content(message.get("content"), f"{where}.content")
    check_fields(payload, _FIELDS)


def _content(value: object, param: str) -> None:
    if isinstance(value, str):
        return
    for where, block in elements(value, param, "a string or an array of content blocks", dict, "a content block"):
        require(block, "type", non_empty, f"{where}.")


def _system(value: object, param: str) -> None:
    if isinstance(value, str):
        return
    for where, block in elements(value, param, "a string or an array of text blocks", dict, "a text block"):
        require(block, "type", choice("text"), f"{where}.")
        require(block, "text", string, f"{where}.")


def _metadata(value: object, param: str) -> None:
    an_object(value, param)
    assert isinstance(value, dict)
    check_fields(value, {"user_id": string}, f"{param}.")


def _tools(value: object, param: str) -> None:
    for where, tool in elements(value, param, "an array of tools", dict, "a tool object"):
        require(tool, "name", non_empty, f"{where}.")
        check_fields(tool, {"input_schema": an_object, "description": string}, f"{where}.")


def _tool_choice(value: object, param: str) -> None:
    an_object(value, param)
    assert isinstance(value, dict)
    kind = require(value, "type", choice(*TOOL_CHOICES), f"{param}.")
    if kind == "tool":
        require(value, "name", non_empty, f"{param}.")
    check_fields(value, {"disable_parallel_tool_use": boolean}, f"{param}.")


def _thinking(value: object, param: str) -> None:
    an_object(value, param)
    assert isinstance(value, dict)
    kind = require(value, "type", choice(*THINKING_TYPES), f"{param}.")
    if kind == "enabled":
        require(value, "budget_tokens", integer(MIN_THINKING_BUDGET), f"{param}.")


_FIELDS: dict[str, Checker] = {
    "system": _system,
    "stop_sequences": strings,
    "temperature": number(0, 1),
    "top_p": number(0, 1),
    "top_k": integer(1),
    "stream": boolean,
    "metadata": _metadata,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "thinking": _thinking,
}
