"""``ocigate keys create|list|rotate|revoke`` and ``ocigate usage``: the store, opened with the gateway's
settings, without a running gateway. A key's secret is printed once, at creation or rotation."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import orjson

from ocigate.cli.serve import print_errors
from ocigate.cli.store import missing_store, store_location
from ocigate.config.settings import Settings, load_settings
from ocigate.core.errors import GatewayError
from ocigate.governance.keys import CHANNEL, KeyHasher, KeyRecord


def add_parsers(commands: Any, add_config: Callable[[argparse.ArgumentParser], None]) -> None:
    keys = commands.add_parser("keys", help="create, list, rotate and revoke virtual keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print its secret (shown once)")
    create.add_argument("name")
    create.add_argument("--team")
    create.add_argument("--user")
    create.add_argument("--models", help="allowed models, comma-separated (patterns such as 'xai.*'); default all")
    create.add_argument("--rpm", type=int)
    create.add_argument("--tpm", type=int)
    create.add_argument("--max-concurrent", type=int)
    create.add_argument("--budget", type=float, help="the budget's amount (USD, or tokens with --budget-unit)")
    create.add_argument("--budget-unit", choices=("usd", "tokens"), default="usd")
    create.add_argument("--budget-period", choices=("day", "week", "month", "total"), default="month")
    create.add_argument("--expires", help="Unix time or ISO 8601 time")
    listing = actions.add_parser("list", help="list the keys (no secrets)")
    listing.add_argument("--team")
    listing.add_argument("--json", action="store_true")
    for name, text in (("rotate", "give a key a new secret (printed once)"), ("revoke", "revoke a key")):
        action = actions.add_parser(name, help=text)
        action.add_argument("key_id")
    for parser in actions.choices.values():
        add_config(parser)

    usage = commands.add_parser("usage", help="usage totals from the store")
    usage.add_argument("--by", default="key", help="key, team, user, model, provider, day (comma-separated)")
    usage.add_argument("--days", type=float, default=30.0, help="how many days back (default 30)")
    usage.add_argument("--json", action="store_true")
    add_config(usage)


def run(args: argparse.Namespace) -> int:
    name = "usage" if args.command == "usage" else f"keys {args.action}"
    settings = load_settings(os.environ, config_file=args.config)
    if settings.errors:
        return print_errors(name, settings.errors)
    command: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
    command = _usage if args.command == "usage" else _keys
    try:
        return asyncio.run(_with_store(name, command, settings, args))
    except GatewayError as err:
        print(f"ocigate {name}: {err.message}", file=sys.stderr)
        return 1


async def _with_store(
    name: str,
    command: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]],
    settings: Settings,
    args: argparse.Namespace,
) -> int:
    """Says which store the command uses; only ``keys create`` may create one."""
    location = store_location(settings)
    missing = await missing_store(location)
    if missing is not None and not (missing.creatable and name == "keys create"):
        print(f"ocigate {name}: {missing.message}", file=sys.stderr)
        return 1
    print(f"ocigate {name}: store {location.shown}{' (new)' if missing else ''}", file=sys.stderr)
    return await command(settings, args)


async def _open(settings: Settings) -> Any:
    from ocigate.store.database import open_engine

    location = store_location(settings)
    if location.sqlite_file is not None:
        location.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    return await open_engine(location.url)


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from redis.asyncio import Redis

    from ocigate.store.keys import KeyStore, parse_key_fields

    engine = await _open(settings)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        store = KeyStore(engine, KeyHasher(settings.key_pepper))
        if redis is not None:
            client = redis

            async def announce(key_id: str) -> None:
                await client.publish(CHANNEL, key_id)

            store.listen(announce)
        if args.action == "create":
            fields = parse_key_fields(_key_fields(args))
            new = await store.create(fields.pop("name"), **fields)
            _describe(new.record)
            print(f"secret: {new.secret}")
            print("Keep the secret now: it is not stored and cannot be shown again.", file=sys.stderr)
        elif args.action == "list":
            records = await store.list(team=args.team)
            if args.json:
                print(orjson.dumps([r.to_json() for r in records]).decode())
            else:
                _table(
                    [("ID", "KEY", "NAME", "TEAM", "STATUS", "RPM", "BUDGET")]
                    + [
                        (
                            r.id,
                            r.display,
                            r.name,
                            r.team or "-",
                            r.status(),
                            str(r.rpm or "-"),
                            r.budget.describe() if r.budget else "-",
                        )
                        for r in records
                    ]
                )
        elif args.action == "rotate":
            new = await store.rotate(args.key_id)
            _describe(new.record)
            print(f"secret: {new.secret}")
        else:
            _describe(await store.revoke(args.key_id))
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
    return 0


def _key_fields(args: argparse.Namespace) -> dict[str, Any]:
    """``keys create``'s options as the admin API's fields."""
    raw: dict[str, Any] = {"name": args.name, "team": args.team, "user": args.user}
    if args.models:
        raw["allowed_models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in ("rpm", "tpm", "max_concurrent"):
        if getattr(args, name) is not None:
            raw[name] = getattr(args, name)
    if args.budget is not None:
        raw["budget"] = {"amount": args.budget, "unit": args.budget_unit, "period": args.budget_period}
    if args.expires:
        raw["expires_at"] = float(args.expires) if args.expires.replace(".", "").isdigit() else args.expires
    return raw


async def _usage(settings: Settings, args: argparse.Namespace) -> int:
    from ocigate.store.usage import GROUPS, UsageStore

    by = tuple(g.strip() for g in args.by.split(",") if g.strip())
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        print(f"ocigate usage: cannot group by '{unknown[0]}'; choose from {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    engine = await _open(settings)
    try:
        now = time.time()
        rows = await UsageStore(engine).report(since=now - args.days * 86400, until=now + 1, by=by)
    finally:
        await engine.dispose()
    if args.json:
        print(orjson.dumps([r.to_json() for r in rows]).decode())
        return 0
    header = [g.upper() for g in by] + ["REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "COST_USD"]
    lines = []
    for r in rows:
        data = r.to_json()
        cells = [str(data["key_id" if g == "key" else g] or "-") for g in by]
        if "key" in by and r.key_name:
            cells[by.index("key")] = f"{r.key_id} ({r.key_name})"
        lines.append(
            (
                *cells,
                str(r.requests),
                str(r.errors),
                str(r.prompt_tokens),
                str(r.completion_tokens),
                f"{r.cost_usd:.6f}",
            )
        )
    _table([tuple(header), *lines])
    return 0


def _describe(record: KeyRecord) -> None:
    print(f"id: {record.id}")
    print(f"key: {record.display}")
    print(f"name: {record.name}")
    print(f"status: {record.status()}")


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
