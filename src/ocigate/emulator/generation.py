"""Deterministic "model output", shared by the Chat Completions and Responses endpoints.

A token is a whitespace-separated word, so tests can predict usage and truncation exactly. The reply echoes the
last user message; reasoning models think first, and their thinking counts against the output budget, as on
Oracle, where a small ``max_tokens`` can be spent on reasoning alone.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass

from ocigate.core.types import JSON
from ocigate.emulator.errors import invalid

DEFAULT_MAX_TOKENS = 1024
# Words of reasoning per effort level; "medium" is what models use when the request names none.
REASONING_WORDS: dict[str, int] = {"none": 0, "minimal": 4, "low": 8, "medium": 24, "high": 64}
_THOUGHT = (
    "Let me think about what the user is asking and how to answer it clearly, checking each step "
    "before I write the reply so that it is correct, complete and short."
).split()
_REASONING_VOCABULARY = tuple(_THOUGHT[i % len(_THOUGHT)] for i in range(max(REASONING_WORDS.values())))

_WORD = re.compile(r"\S+\s*")
_SINGLE_WORD = re.compile(r"reply with the single word:?\s+(\S+)", re.IGNORECASE)
_PUNCTUATION = string.punctuation + "\u201c\u201d\u2018\u2019"


@dataclass(slots=True)
class Prompt:
    """What the generator needs from a conversation, whichever API it arrived through."""

    last_role: str  # "user", "tool" or another role
    user_text: str  # the text of the last user message
    tool_outputs: tuple[str, ...]  # the tool results that end the conversation, if it ends with them
    tokens: int  # words in every message's text, plus one per message


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    parameters: JSON


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Params:
    model: str
    region: str
    max_tokens: int = DEFAULT_MAX_TOKENS
    reasoning_words: int = 0  # 0 for models that do not reason
    tools: tuple[ToolSpec, ...] = ()
    tools_enabled: bool = True  # False for tool_choice "none"
    forced_tool: str | None = None  # tool_choice naming a function
    parallel_tool_calls: bool = True
    json_schema: JSON | None = None
    json_mode: bool = False


@dataclass(slots=True)
class Generation:
    reasoning: str  # "" when the model did not reason
    content: str | None  # None when the budget went to reasoning or the answer is a tool call
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str  # "stop", "length" or "tool_calls"
    prompt_tokens: int
    completion_tokens: int  # reasoning included
    reasoning_tokens: int


def chunk_words(text: str) -> list[str]:
    """Each word with the whitespace that follows it, so that the chunks concatenate back to ``text``."""
    chunks: list[str] = _WORD.findall(text)
    lead = len(text) - len(text.lstrip())
    if lead and chunks:
        chunks[0] = text[:lead] + chunks[0]
    return chunks


def count_words(text: str) -> int:
    return len(text.split())


def reasoning_words(effort: object, *, reasoning_model: bool) -> int:
    if effort is None:
        effort = "medium"
    if not isinstance(effort, str) or effort.lower() not in REASONING_WORDS:
        allowed = ", ".join(REASONING_WORDS)
        raise invalid(f"Invalid parameter: 'reasoningEffort' must be one of {allowed}, got {effort!r}.")
    return REASONING_WORDS[effort.lower()] if reasoning_model else 0


def reasoning_text(words: int) -> str:
    return " ".join(_REASONING_VOCABULARY[:words])


def sample_value(schema: object, depth: int = 0) -> object:
    """A typed placeholder for a JSON Schema: "sample", 1, 1.0, true, [], or an object of its required fields."""
    if not isinstance(schema, dict):
        return "sample"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        for combinator in ("anyOf", "oneOf", "allOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                return sample_value(options[0], depth)
        kind = "object" if "properties" in schema else "string"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "null":
        return None
    if kind == "object":
        return sample_object(schema, depth + 1)
    return "sample"


def sample_object(schema: JSON, depth: int = 0) -> JSON:
    properties = schema.get("properties")
    required = schema.get("required")
    if depth > 8 or not isinstance(required, list):
        return {}
    props = properties if isinstance(properties, dict) else {}
    return {name: sample_value(props.get(name), depth) for name in required if isinstance(name, str)}


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def split_arguments(arguments: str) -> list[str]:
    """Two or three fragments, the way models stream function arguments."""
    parts = 3 if len(arguments) >= 3 else max(1, len(arguments))
    size = -(-len(arguments) // parts)
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def _reply_text(prompt: Prompt, params: Params) -> str:
    if prompt.last_role == "tool":
        text = "The tool returned: " + "; ".join(prompt.tool_outputs)
    else:
        match = _SINGLE_WORD.search(prompt.user_text)
        word = match.group(1).strip(_PUNCTUATION) if match else ""
        said = prompt.user_text.strip() or "(nothing)"
        text = word or f"Hello from {params.model} in {params.region}. You said: {said}"
    if params.json_schema is not None:
        return json.dumps(sample_object(params.json_schema))
    if params.json_mode:
        return json.dumps({"reply": text})
    return text


def _tool_calls(prompt: Prompt, params: Params) -> tuple[ToolCall, ...]:
    if not params.tools or not params.tools_enabled or prompt.last_role != "user":
        return ()
    if params.forced_tool is not None:
        chosen = [t for t in params.tools if t.name == params.forced_tool][:1]
    elif params.parallel_tool_calls and len(params.tools) >= 2 and "in parallel" in prompt.user_text.lower():
        chosen = list(params.tools[:2])
    else:
        chosen = [params.tools[0]]
    return tuple(ToolCall(new_call_id(), tool.name, json.dumps(sample_object(tool.parameters))) for tool in chosen)


def generate(prompt: Prompt, params: Params) -> Generation:
    budget = params.max_tokens
    thinking = params.reasoning_words
    reasoning = ""
    if thinking:
        if budget <= thinking:
            # The whole budget went to thinking: no answer at all, as Oracle's reasoning models do.
            return Generation(reasoning_text(budget), None, (), "length", prompt.tokens, budget, budget)
        reasoning = reasoning_text(thinking)
        budget -= thinking
    calls = _tool_calls(prompt, params)
    if calls:
        words = sum(count_words(c.name) + count_words(c.arguments) for c in calls)
        return Generation(reasoning, None, calls, "tool_calls", prompt.tokens, thinking + words, thinking)
    text = _reply_text(prompt, params)
    words = count_words(text)
    finish = "stop"
    if words > budget:
        text = "".join(chunk_words(text)[:budget]).rstrip()
        words = budget
        finish = "length"
    return Generation(reasoning, text, (), finish, prompt.tokens, thinking + words, thinking)
