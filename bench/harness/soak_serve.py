"""The gateway as the soak runs it: ``python -m ocigate serve``, and with ``--tracemalloc`` a diagnostic hook.

    python bench/harness/soak_serve.py [--tracemalloc DIR] serve --port 8080

With ``--tracemalloc DIR`` the first ``SIGUSR1`` starts tracing allocations (``SOAK_TRACEMALLOC_FRAMES``
frames, 3 by default; from then on only, so that start-up and warm-up cost nothing and are not in the snapshots),
and each later one writes ``DIR/snapshot-<n>.pickle`` (a :mod:`tracemalloc` snapshot) and ``DIR/snapshot-<n>.txt``
(the gc's live objects counted by type, and glibc's ``mallinfo2``: what the allocator holds against what Python
uses); the soak sends the signals at given request counts and diffs the snapshots (``harness.soak_diff``).
Nothing of this is in the gateway itself: it is the benchmark's wrapper around the CLI's ``main``.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def mallinfo() -> dict[str, int]:
    """glibc's ``mallinfo2()``: ``arena`` (heap from sbrk), ``hblkhd`` (mmapped), ``uordblks`` (in use),
    ``fordblks`` (free but held); empty when not glibc 2.33+."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        call = libc.mallinfo2
    except (OSError, AttributeError):
        return {}
    call.restype = _MallInfo2
    info = call()
    return {name: int(getattr(info, name)) for name, _ in _MallInfo2._fields_}


def sqlite_memory() -> dict[str, int]:
    """SQLite's own allocator figures (page caches, statements) in bytes: in use now and its high-water mark."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:
        return {}
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    return {"sqlite_used": int(lib.sqlite3_memory_used()), "sqlite_highwater": int(lib.sqlite3_memory_highwater(0))}


def _dumper(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    counter = [0]

    def dump(signum: int, frame: FrameType | None) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "3")))
            return
        counter[0] += 1
        n = counter[0]
        gc.collect()
        tracemalloc.take_snapshot().dump(str(directory / f"snapshot-{n}.pickle"))
        types = collections.Counter(type(o).__name__ for o in gc.get_objects())
        lines = [f"{k} {v}" for k, v in sorted({**mallinfo(), **sqlite_memory()}.items())]
        lines += [f"traced_current {tracemalloc.get_traced_memory()[0]}", "--- gc objects by type"]
        lines += [f"{name} {count}" for name, count in types.most_common(80)]
        (directory / f"snapshot-{n}.txt").write_text("\n".join(lines) + "\n")

    signal.signal(signal.SIGUSR1, dump)


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--tracemalloc"]:
        _dumper(Path(args[1]))
        args = args[2:]
    from ocigate.cli.main import main as ocigate_main

    return ocigate_main(args)


if __name__ == "__main__":
    sys.exit(main())
