"""Tool results matched to the tool calls they answer, as Oracle requires.

Oracle rejects a conversation in which a ``tool`` message's ``tool_call_id`` does not name a call of the assistant
message right before the results: ``Invalid parameter: 'toolCallId' of 'call_…' not found in 'toolCalls' of
previous message`` (VS Code, Zed and Goose all hit it through another gateway: jin38324/OCI_GenAI_access_gateway#17
and #19; langchain-oracle#42; litellm#14158). Gemini behind Oracle also wants as many results as calls
(oci-typescript-sdk#465). :func:`repair_tool_turns` mends what has one right answer:

- results separated from their assistant turn by other messages move right after it (the others follow them),
  even past a later tool-call turn when their id names a call of the earlier one;
- ids VS Code marked with its internal ``__vscode-<n>`` suffix match the id without it (vscode-copilot-chat
  ``toolCallingLoop.ts`` appends the suffix to keep ids unique and normally strips it before sending);
- ids where one is the other plus a prefix or suffix, when exactly one call fits;
- the one call and the one result of a turn left unmatched belong together; calls without ids take the ids of the
  results left over, in order, when there are as many of each;
- a second result for the same call with the same content is a duplicate and is dropped.

Anything else (a result no call of its turn can claim) raises :class:`InvalidRequest` naming the id, rather than
letting Oracle answer with its camelCase message or silently dropping a result. Calls without a result are left
as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON

_VSCODE_SUFFIX = re.compile(r"__vscode-\d+$")


@dataclass(slots=True)
class _Turn:
    index: int  # the assistant message's position
    ids: set[str | None]  # its call ids, without VS Code's suffix
    results: list[int] = field(default_factory=list)  # positions of the tool messages it owns


def repair_tool_turns(messages: list[JSON]) -> list[JSON]:
    """``messages`` with every tool result right after the call it answers; ``messages`` itself if it already was."""
    turns: list[_Turn] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant" and isinstance(message.get("tool_calls"), list) and message["tool_calls"]:
            calls = message["tool_calls"]
            ids = {_without_vscode_suffix(_id(c.get("id"))) for c in calls if isinstance(c, dict)}
            turns.append(_Turn(index, ids))
        elif role == "tool":
            if not turns:
                raise InvalidRequest(
                    f"messages[{index}] is a tool result for call {message.get('tool_call_id')!r}, but no earlier "
                    "assistant message made a tool call: send the assistant message with its tool_calls first.",
                    param="messages",
                )
            # The latest turn that made this call owns the result; failing that, the latest turn.
            wanted = _without_vscode_suffix(_id(message.get("tool_call_id")))
            owner = next((turn for turn in reversed(turns) if wanted in turn.ids), turns[-1])
            owner.results.append(index)
    if not turns:
        return messages
    replaced: dict[int, JSON | None] = {}  # position → rewritten message, or None to drop it
    for turn in turns:
        replaced.update(_match(messages, turn))
    in_place = all(turn.results == list(range(turn.index + 1, turn.index + 1 + len(turn.results))) for turn in turns)
    if in_place and not replaced:
        return messages
    owned = {result for turn in turns for result in turn.results}
    by_assistant = {turn.index: turn for turn in turns}
    out: list[JSON] = []
    for index, message in enumerate(messages):
        if index in owned:
            continue
        out.append(replaced.get(index) or message)
        made = by_assistant.get(index)
        for result in made.results if made else ():
            kept = replaced.get(result, messages[result])
            if kept is not None:
                out.append(kept)
    return out


def _match(messages: list[JSON], turn: _Turn) -> dict[int, JSON | None]:
    """Pair the turn's results with its calls; the messages that must change (None: drop the duplicate)."""
    assistant = messages[turn.index]
    calls: list[Any] = assistant["tool_calls"]
    call_ids = [_id(call.get("id")) if isinstance(call, dict) else None for call in calls]
    answer: dict[int, int] = {}  # result position → call position
    changes: dict[int, JSON | None] = {}
    pending = list(turn.results)
    for key in (_exact, _without_vscode_suffix):
        for result in list(pending):
            wanted = key(_id(messages[result].get("tool_call_id")))
            fits = [pos for pos, cid in enumerate(call_ids) if wanted and key(cid) == wanted]
            free = [pos for pos in fits if pos not in answer.values()]
            if free:
                answer[result] = free[0]
                pending.remove(result)
            elif fits:  # a second result for a call already answered
                first = next(r for r, pos in answer.items() if pos == fits[0])
                if messages[result].get("content") != messages[first].get("content"):
                    raise InvalidRequest(
                        f"messages[{result}] answers tool call {messages[result].get('tool_call_id')!r} a second "
                        f"time (messages[{first}] did first), with different content: send one result per call.",
                        param="messages",
                    )
                changes[result] = None  # the same result sent twice
                pending.remove(result)
    free_calls = [pos for pos in range(len(calls)) if pos not in answer.values()]
    for result in list(pending):  # one id is the other plus a prefix or suffix, and only one call fits
        wanted = _id(messages[result].get("tool_call_id"))
        fits = [pos for pos in free_calls if wanted and _affixed(wanted, call_ids[pos])]
        if len(fits) == 1:
            answer[result] = fits[0]
            pending.remove(result)
            free_calls.remove(fits[0])
    if pending and len(pending) == len(free_calls):
        if len(pending) == 1 or all(call_ids[pos] is None for pos in free_calls):
            answer.update(zip(pending, free_calls, strict=True))
            pending = []
    if pending:
        _unmatched(messages, turn, pending[0], call_ids)
    new_ids = list(call_ids)
    for result, pos in sorted(answer.items()):
        if new_ids[pos] is None:
            given = _id(messages[result].get("tool_call_id"))
            new_ids[pos] = given if given and given not in new_ids else f"call_{turn.index}_{pos}"
        if messages[result].get("tool_call_id") != new_ids[pos]:
            changes[result] = {**messages[result], "tool_call_id": new_ids[pos]}
    if new_ids != call_ids:
        fixed = [
            {**call, "id": new_ids[pos]} if isinstance(call, dict) and new_ids[pos] != call_ids[pos] else call
            for pos, call in enumerate(calls)
        ]
        changes[turn.index] = {**assistant, "tool_calls": fixed}
    return changes


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _exact(value: str | None) -> str | None:
    return value


def _without_vscode_suffix(value: str | None) -> str | None:
    return _VSCODE_SUFFIX.sub("", value) if value and "__vscode-" in value else value


def _affixed(a: str, b: str | None) -> bool:
    if b is None:
        return False
    short, long = sorted((_without_vscode_suffix(a) or "", _without_vscode_suffix(b) or ""), key=len)
    return len(short) >= 4 and short != long and (long.endswith(short) or long.startswith(short))


def _unmatched(messages: list[JSON], turn: _Turn, result: int, call_ids: list[str | None]) -> NoReturn:
    sent = messages[result].get("tool_call_id")
    made = ", ".join(repr(cid) for cid in call_ids if cid) or "calls without ids"
    raise InvalidRequest(
        f"messages[{result}] is the result of tool call {sent!r}, but the assistant message at "
        f"messages[{turn.index}] made {made}: every tool result must answer a call of the assistant message "
        "before it, once.",
        param="messages",
    )
