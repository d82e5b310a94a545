"""Virtual keys on the store, on SQLite and Postgres, and the cache in front of it, whose revocations reach other
instances through Redis. The pure helpers are unit-tested in tests/unit/governance/test_keys.py."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.core.errors import AuthenticationFailed, InvalidRequest, NotFound
from ocigate.governance.keys import (
    Budget,
    KeyCache,
    KeyHasher,
    KeyRecord,
)
from ocigate.store.keys import KeyStore
from tests.support.databases import redis_client


async def test_keys_are_created_verified_rotated_revoked_and_updated(engine: AsyncEngine) -> None:
    hasher = KeyHasher("pepper")
    store = KeyStore(engine, hasher)
    changed: list[str] = []

    async def listener(key_id: str) -> None:
        changed.append(key_id)

    store.listen(listener)
    new = await store.create(
        "ci",
        team="platform",
        user="ana",
        allowed_models=("xai.*",),
        rpm=60,
        budget=Budget(5.0, "usd", "month"),
        metadata={"ticket": "OPS-1"},
    )
    secret, record = new.secret, new.record
    assert secret.startswith("ogk-") and len(secret) == 47 and record.prefix == secret[4:12]
    assert changed == [record.id]
    found = await store.get_by_hash(hasher.hash(secret))
    assert found == record and found.metadata == {"ticket": "OPS-1"} and found.status() == "active"
    assert await store.get_by_hash(KeyHasher().hash(secret)) is None  # the pepper is part of the hash

    rotated = await store.rotate(record.id)
    assert rotated.record.id == record.id and rotated.secret != secret and rotated.record.rpm == 60
    assert await store.get_by_hash(hasher.hash(secret)) is None
    assert (await store.get_by_hash(hasher.hash(rotated.secret))) == rotated.record

    updated = await store.update(record.id, rpm=None, tpm=1000, budget=None, team=None)
    assert (updated.rpm, updated.tpm, updated.budget, updated.team, updated.name) == (None, 1000, None, None, "ci")

    other = await store.create("batch", team="data")
    assert [k.id for k in await store.list(team="data")] == [other.record.id]
    revoked = await store.revoke(record.id)
    assert revoked.status() == "revoked" and (await store.revoke(record.id)).revoked_at == revoked.revoked_at
    assert [k.id for k in await store.list(include_revoked=False)] == [other.record.id]
    assert {k.id for k in await store.list()} == {record.id, other.record.id}
    with pytest.raises(InvalidRequest):
        await store.rotate(record.id)
    with pytest.raises(NotFound):
        await store.revoke("key_missing")
    assert changed.count(record.id) == 4  # create, rotate, update, revoke (a second revoke changes nothing)


async def test_the_cache_refuses_unknown_revoked_and_expired_keys(engine: AsyncEngine) -> None:
    hasher = KeyHasher()
    store = KeyStore(engine, hasher)
    cache = KeyCache(store, hasher, ttl_s=60)
    store.listen(cache.invalidate)
    live = await store.create("live")
    expiring = await store.create("old", expires_at=time.time() - 1)
    assert (await cache.authenticate(live.secret)).id == live.record.id
    for secret, code in (("ogk-" + "x" * 43, "invalid_api_key"), (expiring.secret, "key_expired")):
        with pytest.raises(AuthenticationFailed) as caught:
            await cache.authenticate(secret)
        assert caught.value.code == code
    await store.revoke(live.record.id)  # the listener drops it from this cache at once
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await cache.authenticate(live.secret)


async def test_concurrent_lookups_share_one_read_and_the_ttl_bounds_staleness(engine: AsyncEngine) -> None:
    hasher = KeyHasher()
    store = KeyStore(engine, hasher)
    reads = 0

    class Counting:
        async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
            nonlocal reads
            reads += 1
            return await store.get_by_hash(key_hash)

    cache = KeyCache(Counting(), hasher, ttl_s=0.3)
    new = await store.create("ci")
    records = await asyncio.gather(*(cache.authenticate(new.secret) for _ in range(50)))
    assert {r.id for r in records} == {new.record.id} and reads == 1
    await store.revoke(new.record.id)  # through a store this cache does not listen to: another instance
    assert (await cache.lookup(new.secret)) is not None  # still cached
    await asyncio.sleep(0.35)
    with pytest.raises(AuthenticationFailed):
        await cache.authenticate(new.secret)


async def test_revocation_reaches_another_instance_through_redis_within_a_second(engine: AsyncEngine) -> None:
    hasher = KeyHasher()
    channel = f"ocigate-test-{secrets.token_hex(4)}:keys"
    here, there = await redis_client(), await redis_client()
    store_here, store_there = KeyStore(engine, hasher), KeyStore(engine, hasher)
    # A long TTL: only the announcement can explain the other instance noticing.
    cache_here = KeyCache(store_here, hasher, redis=here, channel=channel, ttl_s=60)
    cache_there = KeyCache(store_there, hasher, redis=there, channel=channel, ttl_s=60)
    store_here.listen(cache_here.invalidate)
    try:
        await cache_here.start()
        await cache_there.start()
        assert cache_here.subscribed.is_set() and cache_there.subscribed.is_set()
        new = await store_here.create("ci")
        await cache_there.authenticate(new.secret)
        started = time.monotonic()
        await store_here.revoke(new.record.id)
        while True:
            try:
                await cache_there.authenticate(new.secret)
            except AuthenticationFailed:
                break
            assert time.monotonic() - started < 1.0, "the other instance still accepts the revoked key"
            await asyncio.sleep(0.005)
    finally:
        await cache_here.close()
        await cache_there.close()
        await here.aclose()
        await there.aclose()


async def test_the_cache_subscription_survives_a_dropped_connection(engine: AsyncEngine) -> None:
    hasher = KeyHasher()
    channel = f"ocigate-test-{secrets.token_hex(4)}:keys"
    name = f"ocigate-test-{secrets.token_hex(4)}"
    client, admin = await redis_client(name), await redis_client()
    store = KeyStore(engine, hasher)
    cache = KeyCache(store, hasher, redis=client, channel=channel, ttl_s=60)
    try:
        await cache.start()
        new = await store.create("ci")
        await cache.authenticate(new.secret)
        # Kill the subscriber's connection: redis-py reconnects and re-subscribes, and the cache starts afresh.
        mine = [c for c in await admin.client_list(_type="pubsub") if c.get("name") == name]
        assert mine, "the cache's subscription was not found"
        for entry in mine:
            await admin.client_kill_filter(_id=entry["id"])
        await store.revoke(new.record.id)  # not announced: nobody listens to this store
        deadline = time.monotonic() + 3
        while True:
            try:
                await cache.authenticate(new.secret)
            except AuthenticationFailed:
                break
            assert time.monotonic() < deadline, "the cache kept a stale entry across a reconnection"
            await asyncio.sleep(0.02)
    finally:
        await cache.close()
        await client.aclose()
        await admin.aclose()
