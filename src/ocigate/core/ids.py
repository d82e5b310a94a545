"""Ids for requests and concurrency leases: unique across processes, and cheap on the request path."""

from __future__ import annotations

import itertools
import secrets

_PREFIX = secrets.token_hex(4)
_COUNTER = itertools.count(1)


def next_id() -> str:
    """16 hex digits: a random prefix per process, then a counter. ``secrets.token_hex`` per request would be a
    system call each time, at which a thread waiting for the GIL (the usage writer's) takes it from the loop."""
    return f"{_PREFIX}{next(_COUNTER) & 0xFFFFFFFF:08x}"
