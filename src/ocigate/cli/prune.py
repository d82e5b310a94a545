"""``ocigate prune [--dry-run]``: one retention pass on the gateway's store, without a running gateway, and what it
removed (or, with ``--dry-run``, would remove) per table. The running gateway does the same in the background
every ``retention.interval_minutes``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocigate.config.settings import Settings, load_settings

if TYPE_CHECKING:
    from ocigate.store.prune import Executor, Pruned


def add_parser(commands: Any, add_config: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser("prune", help="delete usage, audit and stored responses past their retention")
    parser.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    add_config(parser)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(os.environ, config_file=args.config)
    # A retention value the gateway could not read falls back to its default: fine for a server that reports it
    # at start-up, not for a command that deletes rows now.
    problems = [d.message for d in settings.diagnostics if d.message.lower().startswith(("retention", "ocigate_ret"))]
    if problems:
        for problem in problems:
            print(f"ocigate prune: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_prune(settings, dry_run=args.dry_run))


async def _prune(settings: Settings, *, dry_run: bool) -> int:
    from ocigate.store.prune import EngineExecutor, SqliteExecutor, prune
    from ocigate.store.usage_sqlite import sqlite_path

    path = sqlite_path(settings.database_url) if settings.database_url else _default_file(settings)
    executor: Executor
    if path is not None:
        if not Path(path).is_file():
            print(
                f"ocigate prune: no gateway store at {path}: run the command from the gateway's folder, or set "
                "OCIGATE_DATA_DIR (or OCIGATE_DATABASE_URL) to the gateway's store.",
                file=sys.stderr,
            )
            return 1
        print(f"store: {path}")
        executor = SqliteExecutor(path)
        engine = None
    else:
        from sqlalchemy.engine import make_url

        from ocigate.store.database import normalise_url, open_engine

        assert settings.database_url is not None
        print(f"store: {make_url(normalise_url(settings.database_url)).render_as_string(hide_password=True)}")
        engine = await open_engine(settings.database_url)
        executor = EngineExecutor(engine)
    try:
        results = await prune(executor, settings.retention.cutoffs(time.time()), dry_run=dry_run)
    finally:
        await executor.close()
        if engine is not None:
            await engine.dispose()
    for result in results:
        print(_line(result, settings, dry_run=dry_run))
    return 0


def _default_file(settings: Settings) -> str:
    # Not store.schema.default_url: that creates the data directory, and this command must not create a store.
    return str(Path(settings.data_dir).expanduser().resolve() / "ocigate.db")


def _line(result: Pruned, settings: Settings, *, dry_run: bool) -> str:
    days = getattr(settings.retention, f"{result.table}_days")
    kept = "kept forever" if days is None else f"kept {days:g} days"
    if result.cutoff is None:
        outcome = "nothing removed"
    else:
        outcome = f"{result.rows:,} rows {'would be removed' if dry_run else 'removed'}"
    return f"{result.table:<10} {kept:<18} {outcome}"
