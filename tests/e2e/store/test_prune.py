"""Retention on SQLite and Postgres: rows past their days go in bounded batches, recent rows and the usage of keys
with a total budget stay; ``ocigate prune [--dry-run]`` reports per table; a running gateway prunes by itself."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate.config.retention import RetentionSettings
from ocigate.governance.audit import AuditRecord
from ocigate.governance.keys import Budget, KeyHasher
from ocigate.governance.usage import UsageRecord
from ocigate.store.keys import KeyStore
from ocigate.store.prune import EngineExecutor, Executor, SqliteExecutor, prune
from ocigate.store.records import StoredResponse
from ocigate.store.responses import ResponseStore
from ocigate.store.tables import audit, responses, usage
from ocigate.store.usage import AuditStore, UsageStore
from ocigate.store.usage_sqlite import sqlite_path
from tests.support.servers import start_gateway

pytestmark = pytest.mark.e2e
DAY = 86400.0
OLD_USAGE, OLD_AUDIT, OLD_RESPONSES = 2500, 1200, 7


async def _fill(engine: AsyncEngine, now: float) -> str:
    """Old and recent rows in each table; returns the id of a key with a total budget, which has old usage."""
    keys = KeyStore(engine, KeyHasher())
    lifetime = (await keys.create("lifetime", budget=Budget(100.0, "usd", "total"))).record
    monthly = (await keys.create("monthly", budget=Budget(10.0, "usd", "month"))).record
    old = now - 500 * DAY

    def use(n: int, at: float, key_id: str | None) -> UsageRecord:
        return UsageRecord(at, f"r{n}", "xai.grok-4", "oracle", "chat", 200, key_id=key_id, cost_usd=1.0)

    await UsageStore(engine).insert(
        [use(n, old + n, monthly.id if n % 2 else None) for n in range(OLD_USAGE)]
        + [use(n, old, lifetime.id) for n in range(3)]
        + [use(n, now - DAY, None) for n in range(10)]
    )
    await AuditStore(engine).insert(
        [AuditRecord(old + n, f"a{n}", "POST", "/v1/chat/completions", 200, 1.0) for n in range(OLD_AUDIT)]
        + [AuditRecord(now - DAY, f"b{n}", "POST", "/v1/chat/completions", 200, 1.0) for n in range(5)]
    )
    store = ResponseStore(engine)
    for n in range(OLD_RESPONSES + 3):
        created = int(now - (40 if n < OLD_RESPONSES else 1) * DAY)
        await store.save(StoredResponse(f"resp_{n}", created, "xai.grok-4", None, [], {"id": f"resp_{n}"}))
    return lifetime.id


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar() or 0)
            for t in (usage, audit, responses)
        }


def _executor(engine: AsyncEngine, database_url: str) -> Executor:
    path = sqlite_path(database_url)
    return SqliteExecutor(path) if path else EngineExecutor(engine)


async def test_old_rows_go_in_bounded_batches_and_recent_ones_stay(engine: AsyncEngine, database_url: str) -> None:
    now = time.time()
    lifetime = await _fill(engine, now)
    executor = _executor(engine, database_url)
    try:
        dry = await prune(executor, RetentionSettings().cutoffs(now), batch=1000, dry_run=True)
        assert [(r.table, r.rows, r.batches) for r in dry] == [
            ("usage", OLD_USAGE, 0),
            ("audit", OLD_AUDIT, 0),
            ("responses", OLD_RESPONSES, 0),
        ]
        assert await _counts(engine) == {"usage": OLD_USAGE + 13, "audit": OLD_AUDIT + 5, "responses": 10}

        done = await prune(executor, RetentionSettings().cutoffs(now), batch=1000)
    finally:
        await executor.close()
    # At most 1,000 rows a statement: 2,500 rows take three statements, the last finding fewer than a batch.
    assert [(r.table, r.rows, r.batches) for r in done] == [
        ("usage", OLD_USAGE, 3),
        ("audit", OLD_AUDIT, 2),
        ("responses", OLD_RESPONSES, 1),
    ]
    assert await _counts(engine) == {"usage": 13, "audit": 5, "responses": 3}
    # A total budget is the sum of every record the key ever had: its rows are kept, whatever their age.
    assert await UsageStore(engine).spent_since(lifetime, 0.0, "usd") == 3.0
    store = ResponseStore(engine)
    assert await store.get("resp_0") is None and await store.get(f"resp_{OLD_RESPONSES}") is not None


async def test_a_table_kept_forever_is_left_whole(engine: AsyncEngine, database_url: str) -> None:
    now = time.time()
    await _fill(engine, now)
    executor = _executor(engine, database_url)
    try:
        retention = RetentionSettings(usage_days=None, audit_days=None, responses_days=10)
        done = await prune(executor, retention.cutoffs(now), batch=5)
    finally:
        await executor.close()
    assert [(r.table, r.cutoff is None, r.rows, r.batches) for r in done] == [
        ("usage", True, 0, 0),
        ("audit", True, 0, 0),
        ("responses", False, OLD_RESPONSES, 2),
    ]
    assert await _counts(engine) == {"usage": OLD_USAGE + 13, "audit": OLD_AUDIT + 5, "responses": 3}


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_"))}
    return subprocess.run(
        [sys.executable, "-m", "ocigate", "prune", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_prune_command_reports_per_table(engine: AsyncEngine, database_url: str) -> None:
    await _fill(engine, time.time())
    env = {"OCIGATE_DATABASE_URL": database_url, "OCIGATE_RETENTION_AUDIT_DAYS": "forever"}
    dry = await asyncio.to_thread(_cli, "--dry-run", **env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    shown = database_url.split("///", 1)[1] if database_url.startswith("sqlite") else database_url
    assert lines[0] == f"store: {shown.replace('postgresql://', 'postgresql+asyncpg://')}"
    assert lines[1:] == [
        "usage      kept 400 days      2,500 rows would be removed",
        "audit      kept forever       nothing removed",
        "responses  kept 30 days       7 rows would be removed",
    ]
    assert (await _counts(engine))["usage"] == OLD_USAGE + 13

    done = await asyncio.to_thread(_cli, **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "usage      kept 400 days      2,500 rows removed",
        "audit      kept forever       nothing removed",
        "responses  kept 30 days       7 rows removed",
    ]
    assert await _counts(engine) == {"usage": 13, "audit": OLD_AUDIT + 5, "responses": 3}


def test_the_prune_command_creates_no_store_and_refuses_a_bad_value(tmp_path: Path) -> None:
    missing = _cli(OCIGATE_DATA_DIR=str(tmp_path / "elsewhere"))
    assert missing.returncode == 1 and "no gateway store at" in missing.stderr
    assert not (tmp_path / "elsewhere").exists()
    zero = _cli("--dry-run", OCIGATE_DATA_DIR=str(tmp_path), OCIGATE_RETENTION_USAGE_DAYS="0")
    assert zero.returncode == 2 and "OCIGATE_RETENTION_USAGE_DAYS='0' is not a positive number of days" in zero.stderr


async def test_a_running_gateway_prunes_in_the_background(engine: AsyncEngine, database_url: str) -> None:
    await _fill(engine, time.time())
    env = {"OCIGATE_DATABASE_URL": database_url, "OCIGATE_RETENTION_INTERVAL_MINUTES": "0.005"}
    server, _ = await asyncio.to_thread(start_gateway, env)
    try:
        deadline = time.monotonic() + 30
        while (await _counts(engine))["usage"] > 13 and time.monotonic() < deadline:
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{server.url}/healthz")).status_code == 200
            await asyncio.sleep(0.2)
        assert await _counts(engine) == {"usage": 13, "audit": 5, "responses": 3}
    finally:
        await asyncio.to_thread(server.stop)
