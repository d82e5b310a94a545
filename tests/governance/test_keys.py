"""Virtual keys: the pure helpers, the store on SQLite and Postgres, and the cache in front of it."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.core.errors import AuthenticationFailed, InvalidRequest, NotFound
from ocigate.governance.keys import (
    Budget,
    KeyCache,
    KeyHasher,
    KeyRecord,
    is_virtual_key,
    model_allowed,
    model_refused,
    period_label,
    period_reset,
    period_start,
    visible_prefix,
)
from ocigate.store.keys import KeyStore, parse_key_fields

from .conftest import redis_client


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_hashes_are_peppered_and_compared_in_constant_time() -> None:
    plain, peppered = KeyHasher(), KeyHasher("pepper")
    secret = "ogk-" + "a" * 43
    assert plain.hash(secret) != peppered.hash(secret) != KeyHasher("other").hash(secret)
    assert len(plain.hash(secret)) == 64 and peppered.peppered and not plain.peppered
    assert peppered.matches(secret, peppered.hash(secret))
    assert not peppered.matches(secret + "x", peppered.hash(secret))
    assert visible_prefix(secret) == "aaaaaaaa" and is_virtual_key(secret) and not is_virtual_key("sk-x")


def test_allowed_models_are_names_or_patterns() -> None:
    everything = KeyRecord("key_1", "abcdefgh", "ci")
    some = KeyRecord("key_2", "abcdefgh", "ci", allowed_models=("xai.*", "meta.llama-3.3-70b-instruct"))
    assert model_allowed(everything, "anything")
    assert model_allowed(some, "xai.grok-4") and model_allowed(some, "meta.llama-3.3-70b-instruct")
    assert not model_allowed(some, "meta.llama-4-scout-17b-16e-instruct")
    error = model_refused(some, "cohere.command-a-03-2025")
    assert error.status == 403 and error.code == "model_not_allowed" and "xai.*" in error.message


def test_budget_periods_follow_the_utc_calendar() -> None:
    now = _at("2025-01-29T15:30:00")  # a Wednesday
    assert period_start("day", now) == _at("2025-01-29T00:00:00")
    assert period_reset("day", now) == _at("2025-01-30T00:00:00")
    assert period_start("week", now) == _at("2025-01-27T00:00:00")  # ISO weeks start on Monday
    assert period_reset("week", now) == _at("2025-02-03T00:00:00")
    assert period_start("month", now) == _at("2025-01-01T00:00:00")
    assert period_reset("month", now) == _at("2025-02-01T00:00:00")
    assert period_reset("month", _at("2024-02-29T23:59:59")) == _at("2024-03-01T00:00:00")
    assert period_reset("month", _at("2025-12-31T12:00:00")) == _at("2026-01-01T00:00:00")
    assert period_start("total", now) == 0.0 and period_reset("total", now) is None
    assert period_label("day", now) == "d2025-01-29"
    assert period_label("week", _at("2025-01-01T00:00:00")) == "w2025-01"
    assert period_label("week", _at("2024-12-30T00:00:00")) == "w2025-01"  # ISO week of the new year
    assert period_label("month", now) == "m2025-01" and period_label("total", now) == "total"


def test_admin_fields_are_checked() -> None:
    fields = parse_key_fields(
        {
            "name": " ci ",
            "team": "platform",
            "allowed_models": ["xai.*"],
            "rpm": 60,
            "budget": {"amount": 10, "unit": "usd", "period": "day"},
            "expires_at": "2030-01-01T00:00:00Z",
        }
    )
    assert fields["name"] == "ci" and fields["budget"] == Budget(10.0, "usd", "day")
    assert fields["expires_at"] == _at("2030-01-01T00:00:00") and fields["allowed_models"] == ("xai.*",)
    assert parse_key_fields({"rpm": None}, partial=True) == {"rpm": None}
    for bad in (
        {},
        {"name": "x", "rpm": 0},
        {"name": "x", "rpm": True},
        {"name": "x", "budget": {"amount": -1}},
        {"name": "x", "budget": {"amount": 1, "period": "year"}},
        {"name": "x", "expires_at": "soon"},
        {"name": "x", "allowed_models": "xai.*"},
        {"name": "x", "colour": "red"},
    ):
        with pytest.raises(InvalidRequest):
            parse_key_fields(bad)


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


def test_records_render_for_the_admin_api() -> None:
    record = KeyRecord("key_1", "abcdefgh", "ci", budget=Budget(5, "tokens", "day"), created_at=1.0)
    view = record.to_json(now=2.0)
    assert view["display"] == "ogk-abcdefgh…" and view["status"] == "active"
    assert view["budget"] == {"amount": 5, "unit": "tokens", "period": "day"}
    assert "hash" not in str(view) and record.budget is not None and record.budget.describe() == "5 tokens daily"
    assert Budget(12.5).describe() == "$12.50 monthly"
