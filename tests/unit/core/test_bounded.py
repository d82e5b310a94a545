"""``Bounded``: a client-fed mapping stays at its limit however many distinct keys arrive, dropping the oldest."""

from __future__ import annotations

from ocigate.core.bounded import Bounded


def test_ten_thousand_distinct_keys_leave_the_newest_hundred() -> None:
    seen: Bounded[str, int] = Bounded(100)
    for n in range(10_000):
        seen[f"key-{n}"] = n
    assert len(seen) == 100
    assert list(seen) == [f"key-{n}" for n in range(9_900, 10_000)]


def test_setting_a_key_again_makes_it_the_newest() -> None:
    seen: Bounded[str, int] = Bounded(2)
    seen["a"], seen["b"] = 1, 2
    seen["a"] = 3
    seen["c"] = 4
    assert dict(seen) == {"a": 3, "c": 4}


def test_a_limit_of_zero_keeps_nothing() -> None:
    seen: Bounded[str, int] = Bounded(0)
    seen["a"] = 1
    assert len(seen) == 0 and seen.get("a") is None


def test_drop_oldest_stops_at_the_first_entry_still_fresh() -> None:
    seen: Bounded[str, int] = Bounded(10)
    for n, key in enumerate("abcd"):
        seen[key] = n
    seen["a"] = 9  # set again: now the newest, so it outlives b and c
    seen.drop_oldest(lambda when: when < 3)
    assert list(seen) == ["d", "a"]
