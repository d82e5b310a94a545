"""Keeping the garbage collector off the long-lived heap, and the allocator's freed memory going back to the OS.

glibc gives each thread that allocates (the SQLite workers, the resolver's threads) an arena of its own, up to
eight per core, and keeps what is freed inside an arena for reuse rather than returning it, so every arena's
high-water mark stays resident. Two arenas and a ``malloc_trim(0)`` every minute (``memory:`` in
``config/memory.py``) hold issue 15's soak some 2-3 MB lower (a saw-tooth of about 1.5 MB around a flat line);
the creep itself came from the key cache, not from here (bench/README.md, "Memory soak"). Neither is available
off glibc (musl, macOS): there both are skipped.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger("ocigate")

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter for the number of arenas (malloc.h)."""


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def limit_arenas(arenas: int) -> bool:
    """Caps glibc's malloc arenas (0: leaves glibc's default); whether it was applied. Called before the threads
    that would get arenas of their own start."""
    if arenas <= 0 or _LIBC is None:
        return False
    return bool(_LIBC.mallopt(M_ARENA_MAX, arenas))


def trim_heap() -> bool:
    """Returns the free pages of every arena to the OS (``malloc_trim(0)``); whether anything was released."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


async def trim_every(interval_s: float) -> None:
    """Trims the heap every ``interval_s`` seconds until cancelled (a lifespan task)."""
    while True:
        await asyncio.sleep(interval_s)
        trim_heap()


def settle_heap() -> None:
    """Moves every object alive now (modules, configuration, pools) out of the garbage collector's sight.

    A full collection walks every tracked object: 13 ms with the gateway's modules loaded, 27 ms with
    SQLAlchemy's, and under load it ran about twice a second (requests in flight and usage records waiting for
    their batch live long enough to reach the oldest generation): 8 % of the gateway's time in one measurement.
    What is alive after start-up lives as long as the process, so it need not be walked again (``gc.freeze``,
    Python's own remedy for servers). And the youngest generation is collected every 10,000 allocations rather
    than 700: a request allocates a few hundred objects that reference counting frees, so at the default the
    collector ran every few requests to scan the objects of the requests in flight (4 % of the gateway's time)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
