"""``memory:`` in the config file and the ``OCIGATE_MEMORY_*`` variables: the bounds of what the gateway keeps in
memory per client-supplied value, and how it hands freed memory back (issue 15: memory that stays flat).

::

    memory:
      key_cache: 100000        # virtual keys' records kept for the request path (the least recently fetched go)
      unknown_keys: 10000      # secrets that matched no key, remembered for the cache's TTL (the oldest go)
      trim_interval_s: 60      # how often freed heap memory goes back to the OS (glibc malloc_trim); 0: never
      malloc_arenas: 2         # glibc's malloc arenas (M_ARENA_MAX), set at start; 0: glibc's default

The environment (``OCIGATE_MEMORY_KEY_CACHE``, ``_UNKNOWN_KEYS``, ``_TRIM_INTERVAL_S``, ``_MALLOC_ARENAS``) wins
over the file. Why these defaults: a deployment has far fewer than 100,000 keys, so every key in use stays cached;
unknown secrets are what a client invents at will (a flood of wrong keys), so they get a smaller table, enough to
spare the database repeated reads of the same wrong key (and entries past the cache's one-second TTL go as new
ones come, so a steady flood holds one second's worth). glibc gives each thread that allocates (the SQLite workers,
the resolver's threads) an arena of its own, up to eight per core, and keeps freed memory inside them: two arenas
and a trim every minute hold the soak's RSS some 2-3 MB lower (bench/README.md, "Memory soak").

Pure: the document and the environment arrive as arguments, and a bad value becomes a sentence for a Diagnostic
while the default is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MEMORY_FIELDS = ("key_cache", "unknown_keys", "trim_interval_s", "malloc_arenas")
_LEAST = {"key_cache": 1, "unknown_keys": 0, "trim_interval_s": 0, "malloc_arenas": 0}


@dataclass(frozen=True, slots=True)
class MemorySettings:
    key_cache: int = 100_000
    """Records of virtual keys cached by the request path's :class:`~ocigate.governance.keys.KeyCache`."""
    unknown_keys: int = 10_000
    """Hashes of presented secrets that matched no key, cached (0: none are)."""
    trim_interval_s: float = 60.0
    """Seconds between ``malloc_trim(0)`` calls (0: never)."""
    malloc_arenas: int = 2
    """glibc's ``M_ARENA_MAX`` (0: leave glibc's default)."""


def read_memory(document: Mapping[str, Any], env: Mapping[str, str]) -> tuple[MemorySettings, list[str]]:
    """The ``memory:`` block with the environment's overrides, and the problems found."""
    problems: list[str] = []
    block = document.get("memory")
    if block is not None and not isinstance(block, dict):
        problems.append(f"memory: must be a mapping with {', '.join(MEMORY_FIELDS)}.")
        block = None
    block = block or {}
    defaults = MemorySettings()
    values: dict[str, float] = {}
    for name in MEMORY_FIELDS:
        value: float = getattr(defaults, name)
        if name in block:
            value = _value(name, block[name], value, f"memory.{name}", problems)
        variable = f"OCIGATE_MEMORY_{name.upper()}"
        if env.get(variable):
            value = _value(name, env[variable], value, variable, problems)
        values[name] = value
    settings = MemorySettings(
        key_cache=int(values["key_cache"]),
        unknown_keys=int(values["unknown_keys"]),
        trim_interval_s=values["trim_interval_s"],
        malloc_arenas=int(values["malloc_arenas"]),
    )
    return settings, problems


def _value(name: str, raw: Any, current: float, where: str, problems: list[str]) -> float:
    whole = name != "trim_interval_s"
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    least = _LEAST[name]
    if not math.isfinite(value) or value < least or (whole and value != int(value)):
        wanted = f"a whole number of at least {least}" if whole else "a number of seconds (0: never)"
        problems.append(f"{where}={raw!r} is not {wanted}; using {current:g}.")
        return current
    return value
