"""The SQLite default's key reader (``store/keys_sqlite.py``, the standard library's ``sqlite3``) answers what the
SQLAlchemy store answers: the same records by hash, revoked and limited keys alike, and the same spend."""

from __future__ import annotations

import time
from pathlib import Path

from ocigate.governance.keys import Budget, KeyHasher
from ocigate.store.database import open_engine
from ocigate.store.keys import KeyStore
from ocigate.store.keys_sqlite import SqliteKeyReader
from ocigate.store.schema import default_url
from ocigate.store.usage import UsageStore
from ocigate.store.usage_sqlite import sqlite_path
from tests.support.governance import usage_record


async def test_the_reader_answers_as_the_store(tmp_path: Path) -> None:
    url = default_url(str(tmp_path / "data"))
    engine = await open_engine(url)
    hasher = KeyHasher("pepper")
    store, usage = KeyStore(engine, hasher), UsageStore(engine)
    path = sqlite_path(url)
    assert path is not None
    reader = SqliteKeyReader(path)
    try:
        limited = await store.create(
            "ci", team="platform", user="ana", allowed_models=("xai.*",), rpm=60, tpm=1000, max_concurrent=2,
            budget=Budget(5.0, "tokens", "day"), expires_at=time.time() + 3600, metadata={"ticket": "OPS-1"},
        )  # fmt: skip
        plain = await store.create("plain")
        await store.revoke(plain.record.id)
        for secret in (limited.secret, plain.secret, "ogk-unknown"):
            key_hash = hasher.hash(secret)
            assert await reader.get_by_hash(key_hash) == await store.get_by_hash(key_hash)
        found = await reader.get_by_hash(hasher.hash(plain.secret))
        assert found is not None and found.status() == "revoked"

        now = time.time()
        key_id = limited.record.id
        await usage.insert([usage_record(n, key_id=key_id, created_at=now - n * 60) for n in range(5)])
        for unit in ("usd", "tokens"):
            for since in (0.0, now - 150):
                assert await reader.spent_since(key_id, since, unit) == await usage.spent_since(key_id, since, unit)
        assert await reader.spent_since(key_id, now - 150, "tokens") == 45  # three records of 10 + 5
    finally:
        await reader.close()
        await engine.dispose()


async def test_a_fresh_data_dir_has_no_keys_and_gets_the_schema(tmp_path: Path) -> None:
    reader = SqliteKeyReader(str(tmp_path / "data" / "ocigate.db"))
    try:
        assert await reader.get_by_hash(KeyHasher().hash("ogk-nothing")) is None
        assert await reader.spent_since("key_x", 0.0, "usd") == 0.0
    finally:
        await reader.close()
