"""What every native reply shares: Oracle's usage object, timestamps, SSE framing with ``pad``, the default output
budget and the field readers that answer a malformed request the way Oracle does (400 with the field's name)."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime
from typing import Any

import orjson

from ocigate.core.asgi import Headers
from ocigate.core.types import JSON
from ocigate.emulator.errors import invalid, missing
from ocigate.emulator.generation import Generation

# Oracle's native stream is "text/event-stream" exactly: the OCI SDK compares the whole header value and only then
# hands the body to its SSE client (base_client.py), so a charset parameter would break it.
SSE_HEADERS: Headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
# Without maxTokens Oracle's output budget is tiny (doc §3.4, "~20 tokens" [uncertain, one LL comment]).
NATIVE_DEFAULT_MAX_TOKENS = 20
MODEL_VERSION = "1.0"
_PAD_ALPHABET = string.ascii_letters + string.digits


def usage(gen: Generation) -> JSON:
    return {
        "promptTokens": gen.prompt_tokens,
        "completionTokens": gen.completion_tokens,
        "totalTokens": gen.prompt_tokens + gen.completion_tokens,
        "promptTokensDetails": {"cachedTokens": 0},
        "completionTokensDetails": {"reasoningTokens": gen.reasoning_tokens},
    }


def now_iso() -> str:
    """ISO-8601 with milliseconds and Z, as real payloads carry ``timeCreated`` (doc §3.5)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(obj: JSON, *, pad: bool = True) -> bytes:
    """One data-only SSE event. Oracle adds a random ``pad`` string to stream events (doc §3.6)."""
    if pad:
        obj = {**obj, "pad": "".join(random.choices(_PAD_ALPHABET, k=random.randint(1, 24)))}
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def obj(value: object, where: str, *, required: bool = False) -> JSON:
    if value is None:
        if required:
            raise missing(f"Missing required parameter '{where}'.")
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid parameter: '{where}' must be an object.")
    return value


def array(value: object, where: str, *, required: bool = False) -> list[Any]:
    if value is None:
        if required:
            raise missing(f"Missing required parameter '{where}'.")
        return []
    if not isinstance(value, list):
        raise invalid(f"Invalid parameter: '{where}' must be an array.")
    return value


def text(value: object, where: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise missing(f"Missing required parameter '{where}'.")
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid parameter: '{where}' must be a string.")
    return value


def positive(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid(f"Invalid parameter: '{where}' must be an integer of at least 1, got {value!r}.")
    return value


def enum(value: object, where: str, allowed: tuple[str, ...]) -> str | None:
    """An upper-case enum value: Oracle's enums are case-sensitive (``reasoningEffort`` must be upper-case, LL)."""
    if value is None:
        return None
    if value not in allowed:
        raise invalid(f"Invalid parameter: '{where}' must be one of {', '.join(allowed)}, got {value!r}.")
    return str(value)


def check_schema(schema: object, where: str) -> None:
    """Oracle rejects JSON Schema references and unions in tool parameters (doc §3.4, LL and LCO)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("$ref", "$defs", "definitions", "anyOf", "oneOf"):
                raise invalid(f"Invalid parameter: '{where}' uses '{key}', which is not supported; inline it.")
            check_schema(value, where)
    elif isinstance(schema, list):
        for item in schema:
            check_schema(item, where)
