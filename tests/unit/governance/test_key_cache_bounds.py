"""The key cache stays bounded under a flood of secrets that match no key (issue 15): before, every wrong key
presented stayed cached until 100,000 of them had filled the one table that also held the real keys."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from ocigate.core.errors import AuthenticationFailed
from ocigate.governance.keys import MISSING, KeyCache, KeyHasher, KeyRecord, new_secret

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


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowStore(Store):
    """A store whose reads wait until the test lets them through."""

    def __init__(self, *secrets: str) -> None:
        super().__init__(*secrets)
        self.gate = asyncio.Event()
        self.gate.set()

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        await self.gate.wait()
        return await super().get_by_hash(key_hash)


async def test_a_key_in_use_is_read_again_ahead_of_its_ttl_while_its_requests_go_on() -> None:
    """Before, every request of a busy key waited for the store together once a TTL (a stall each second)."""
    secret = new_secret()
    store, clock = SlowStore(secret), Clock()
    cache = KeyCache(store, HASHER, ttl_s=1.0, clock=clock)
    await cache.authenticate(secret)
    assert store.reads == 1
    clock.now += 0.5
    await cache.authenticate(secret)
    await asyncio.sleep(0)
    assert store.reads == 1  # young: nothing to do
    store.gate.clear()  # the store is slow from now on
    clock.now += 0.3  # past REFRESH_AHEAD of the TTL: one background read, and no request waits for it
    answers = [await asyncio.wait_for(cache.authenticate(secret), 1.0) for _ in range(20)]
    assert {a.id for a in answers} == {"key_0"}
    await asyncio.sleep(0)
    assert store.reads == 1 and len(cache._inflight) == 1  # one read under way, however many asked
    store.keys[HASHER.hash(secret)] = dataclasses.replace(answers[0], revoked_at=clock.now)  # revoked meanwhile
    store.gate.set()
    await asyncio.sleep(0.01)
    assert store.reads == 2 and not cache._inflight
    with pytest.raises(AuthenticationFailed):  # the read ahead brought the revocation in before the TTL
        await cache.authenticate(secret)


async def test_the_ttl_still_bounds_what_a_key_that_was_not_read_ahead_may_use() -> None:
    secret = new_secret()
    store, clock = SlowStore(secret), Clock()
    cache = KeyCache(store, HASHER, ttl_s=1.0, clock=clock)
    await cache.authenticate(secret)
    clock.now += 1.0  # idle until its TTL: no read ahead, and the entry is no longer used
    store.keys.clear()  # the key was deleted meanwhile
    with pytest.raises(AuthenticationFailed):
        await cache.authenticate(secret)
    assert store.reads == 2


async def test_a_wrong_key_is_not_read_ahead() -> None:
    store, clock = Store(), Clock()
    cache = KeyCache(store, HASHER, ttl_s=1.0, clock=clock)
    wrong = new_secret()
    assert await cache.lookup(wrong) is None
    clock.now += 0.9
    assert await cache.lookup(wrong) is None
    await asyncio.sleep(0)
    assert store.reads == 1


async def test_a_read_ahead_that_fails_leaves_the_entry_to_its_ttl() -> None:
    secret = new_secret()
    store, clock = Store(secret), Clock()
    cache = KeyCache(store, HASHER, ttl_s=1.0, clock=clock)
    await cache.authenticate(secret)

    async def broken(key_hash: str) -> KeyRecord | None:
        raise OSError("the store is down")

    store.get_by_hash = broken  # type: ignore[method-assign]
    clock.now += 0.8
    assert (await cache.authenticate(secret)).id == "key_0"  # the entry serves while it is young enough
    await asyncio.sleep(0.01)
    assert not cache._refreshing  # the failed read is done, its error retrieved (no "never retrieved" warning)
    clock.now += 0.3
    with pytest.raises(OSError):  # past the TTL the request meets the failure itself
        await cache.authenticate(secret)


async def test_the_cache_files_a_secret_under_its_own_keyed_hash_and_reads_the_store_by_the_stores() -> None:
    peppered = KeyHasher("pepper-0123456789")
    secret = new_secret()
    record = KeyRecord("key_p", secret[4:12], "team-p")

    class PepperedStore:
        reads: list[str] = []

        async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
            self.reads.append(key_hash)
            return record if key_hash == peppered.hash(secret) else None

    store = PepperedStore()
    one, two = KeyCache(store, peppered), KeyCache(store, peppered)
    assert (await one.authenticate(secret)).id == "key_p" and (await two.authenticate(secret)).id == "key_p"
    assert store.reads == [peppered.hash(secret)] * 2  # the store is asked by the store's (peppered) hash
    # In memory, a secret is filed under a hash keyed per cache: nothing there matches the store's hashes, nor
    # another process's cache.
    assert one.index(secret) != two.index(secret)
    assert peppered.hash(secret) not in {one.index(secret).hex(), two.index(secret).hex()}
    assert (await one.authenticate(secret)).id == "key_p" and len(store.reads) == 2  # a hit reads nothing


async def test_requests_arriving_together_start_one_read_ahead() -> None:
    """Requests of one loop iteration all ask before the read-ahead's task has run: one task, not one each."""
    secret = new_secret()
    store, clock = SlowStore(secret), Clock()
    cache = KeyCache(store, HASHER, ttl_s=1.0, clock=clock)
    await cache.authenticate(secret)
    clock.now += 0.8
    for _ in range(20):
        assert cache.cached(secret) is not MISSING
    assert len(cache._refreshing) == 1
    await asyncio.sleep(0.01)
    assert store.reads == 2 and not cache._refreshing
