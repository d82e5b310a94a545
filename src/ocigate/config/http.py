"""The limits every client connection gets before anything it sends is parsed (``core/http_limits.py`` applies them).

| Variable | Default | |
|---|---|---|
| ``OCIGATE_MAX_HEADER_BYTES`` | 65536 | request line and headers; beyond: 431 and the connection closed |
| ``OCIGATE_HEADER_TIMEOUT`` | 10 | seconds from a request's first byte to the end of its headers; then 408 |
| ``OCIGATE_BODY_TIMEOUT`` | 30 | seconds a request body may make no progress; then 408 |
| ``OCIGATE_KEEPALIVE_TIMEOUT`` | 5 | seconds an idle keep-alive connection is kept open |
| ``OCIGATE_MAX_CONNECTIONS`` | 2048 | open client connections; beyond: 503 and closed at once |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Below this, ordinary requests (a bearer token, a user agent, a proxy's forwarding headers) would be refused.
MIN_HEADER_BYTES = 1024


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: int = 5
    """Whole seconds, as uvicorn takes it."""
    max_connections: int = 2048
    """Each client connection may hold an upstream one too, so the process needs about twice as many file
    descriptors; the server raises its soft limit to fit, or lowers this cap with a warning when it cannot."""


def read_http_limits(env: Mapping[str, str]) -> tuple[HttpLimits, list[str]]:
    """The limits from ``env``, and a message for each value that is not valid (its default is kept)."""
    problems: list[str] = []
    default = HttpLimits()
    limits = HttpLimits(
        max_header_bytes=_whole(env, "OCIGATE_MAX_HEADER_BYTES", default.max_header_bytes, MIN_HEADER_BYTES, problems),
        header_timeout_s=_seconds(env, "OCIGATE_HEADER_TIMEOUT", default.header_timeout_s, problems),
        body_timeout_s=_seconds(env, "OCIGATE_BODY_TIMEOUT", default.body_timeout_s, problems),
        keepalive_timeout_s=_whole(env, "OCIGATE_KEEPALIVE_TIMEOUT", default.keepalive_timeout_s, 1, problems),
        max_connections=_whole(env, "OCIGATE_MAX_CONNECTIONS", default.max_connections, 1, problems),
    )
    return limits, problems


def _whole(env: Mapping[str, str], name: str, default: int, least: int, problems: list[str]) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        problems.append(f"{name}={raw!r} is not a whole number of at least {least}; using {default}.")
        return default
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:  # NaN fails both comparisons
        problems.append(f"{name}={raw!r} is not a positive number of seconds; using {default:g}.")
        return default
    return value
