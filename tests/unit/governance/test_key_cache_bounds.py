"""The key cache stays bounded under a flood of secrets that match no key (issue 15): before, every wrong key
presented stayed cached until 100,000 of them had filled the one table that also held the real keys."""

from __future__ import annotations

from ocigate.core.errors import AuthenticationFailed
from ocigate.governance.keys import KeyCache, KeyHasher, KeyRecord, new_secret

HASHER = KeyHasher()


class Store:
    """The key table as the cache reads it: a dict of hashes, counting the reads."""

    def __init__(self, *secrets: str) -> None:
        self.keys = {HASHER.hash(s): KeyRecord(f"key_{n}", s[4:12], f"team-{n}") for n, s in enumerate(secrets)}
        self.reads = 0

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        self.reads += 1
        return self.keys.get(key_hash)


async def test_ten_thousand_wrong_keys_leave_the_cache_at_its_bound_and_the_real_keys_cached() -> None:
    real = [new_secret() for _ in range(3)]
    store = Store(*real)
    cache = KeyCache(store, HASHER, ttl_s=3600, max_unknown=100)
    for secret in real:
        await cache.authenticate(secret)
    for _ in range(10_000):
        try:
            await cache.authenticate(new_secret())
        except AuthenticationFailed:
            pass
    assert cache.size == (3, 100)
    reads = store.reads
    for secret in real:  # still cached: the flood did not evict the keys in use
        assert (await cache.authenticate(secret)).name.startswith("team-")
    assert store.reads == reads


async def test_the_known_keys_table_drops_the_least_recently_fetched_past_its_bound() -> None:
    secrets = [new_secret() for _ in range(50)]
    cache = KeyCache(Store(*secrets), HASHER, ttl_s=3600, max_entries=10, max_unknown=0)
    for secret in secrets:
        await cache.lookup(secret)
        await cache.lookup(new_secret())
    assert cache.size == (10, 0)


async def test_a_wrong_key_is_still_remembered_for_the_ttl() -> None:
    store = Store()
    cache = KeyCache(store, HASHER, ttl_s=3600)
    wrong = new_secret()
    assert await cache.lookup(wrong) is None
    assert await cache.lookup(wrong) is None
    assert store.reads == 1


async def test_a_key_created_after_it_was_tried_is_found_once_the_cache_hears_of_it() -> None:
    secret = new_secret()
    store = Store()
    cache = KeyCache(store, HASHER, ttl_s=3600)
    assert await cache.lookup(secret) is None
    store.keys[HASHER.hash(secret)] = KeyRecord("key_new", secret[4:12], "new")
    cache.forget("key_new")
    record = await cache.lookup(secret)
    assert record is not None and record.id == "key_new"


async def test_wrong_keys_past_the_ttl_are_dropped_as_new_ones_arrive() -> None:
    now = [0.0]
    cache = KeyCache(Store(), HASHER, ttl_s=1.0, clock=lambda: now[0])
    for n in range(10_000):
        now[0] = n / 100  # a hundred wrong keys a second
        await cache.lookup(new_secret())
    assert cache.size[1] <= 101
