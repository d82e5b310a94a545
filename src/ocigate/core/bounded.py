"""A mapping that keeps at most ``limit`` entries, dropping the least recently set: every cache whose keys come
from clients (secrets, model names) is one of these, so that no input can grow the process (issue 15).

::

    seen: Bounded[str, float] = Bounded(10_000)
    seen[key] = now            # set (or set again): the entry becomes the newest
    seen.get(key)              # reads do not reorder: a hot entry is kept by being set again, as caches refresh
    seen.drop_oldest(lambda when: now - when > ttl)   # entries past their time go, oldest first
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(OrderedDict[K, V]):
    """An ordered dict of at most ``limit`` entries (0: it keeps none); setting one past the limit drops the
    oldest in O(1)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = max(0, limit)

    def __setitem__(self, key: K, value: V) -> None:
        if key in self:
            self.move_to_end(key)
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)

    def drop_oldest(self, stale: Callable[[V], bool]) -> None:
        """Drops entries, the oldest first, for as long as ``stale(value)`` holds (a cache's expired entries, when
        every entry lives equally long: then the order set is the order of expiry)."""
        while self:
            key = next(iter(self))
            if not stale(self[key]):
                return
            del self[key]
