"""Two tracemalloc snapshots of the soak's gateway compared: what grew, by the line that allocated it.

    cd bench && python -m harness.soak_diff out/soak-tracemalloc/snapshot-1.pickle \
        out/soak-tracemalloc/snapshot-2.pickle
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

_IGNORED = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"))


def print_diff(first: Path, last: Path, top: int = 25, frames: int = 6) -> None:
    old = tracemalloc.Snapshot.load(str(first)).filter_traces(_IGNORED)
    new = tracemalloc.Snapshot.load(str(last)).filter_traces(_IGNORED)
    print(f"tracemalloc: growth from {first.name} to {last.name} (by allocating line)")
    for stat in new.compare_to(old, "lineno")[:top]:
        print(f"  {stat.size_diff / 1e3:+9.1f} KB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
    print("by traceback (largest growth):")
    for stat in new.compare_to(old, "traceback")[:8]:
        print(f"  {stat.size_diff / 1e3:+9.1f} KB {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format()[-frames * 2 :]:
            print(f"      {line}")
    for path in (first, last):
        text = path.with_suffix(".txt")
        if text.exists():
            print(f"{text.name}: " + ", ".join(text.read_text().splitlines()[:12]))


if __name__ == "__main__":
    print_diff(Path(sys.argv[1]), Path(sys.argv[2]))
