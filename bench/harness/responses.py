"""The Responses API over Chat Completions, measured on a gateway target.

``meta.llama-3.3-70b-instruct`` has no ``/responses`` at Oracle, so the gateway translates each
``POST /v1/responses`` to a chat completion and the answer back, and stores the response (SQLite, on by
default). The same three loads as the chat path (latency at one connection, throughput at 32, plain and
streaming) run for each variant: storing as by default, and ``"store": false`` to show what storing costs. They
run on the same gateway process, right after its chat loads, so the ratios compare like with like.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.layout import HOST, ROOT, log
from harness.loads import LoadRunner
from harness.targets import Server
from harness.workloads import JSON, RESPONSES_BODY, RESPONSES_PATH, check_responses
from harness.wrk import WrkRun, lua_script


@dataclass(frozen=True, slots=True)
class Variant:
    key: str  # its loads are "<key>-latency", "<key>-nonstream", "<key>-stream"
    label: str  # its row in the table
    body: JSON


VARIANTS = (
    Variant("responses", "/v1/responses", RESPONSES_BODY),
    Variant("responses-nostore", '/v1/responses, "store": false', {**RESPONSES_BODY, "store": False}),
)


def store_file(server: Server) -> Path | None:
    """The gateway's SQLite file, to count what it stored; None when it stores elsewhere (a database URL)."""
    env = {**(server.upstream_env("") if server.upstream_env is not None else {}), **server.env}
    if env.get("OCIGATE_DATABASE_URL") or not env.get("OCIGATE_DATA_DIR"):
        return None
    return ROOT / env["OCIGATE_DATA_DIR"] / "ocigate.db"  # an absolute data dir replaces ROOT


def stored_count(database: Path | None) -> int | None:
    if database is None or not database.exists():
        return None
    with sqlite3.connect(database, timeout=10) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def measure_responses(
    runner: LoadRunner, server: Server, port: int, warmup: float, runs: dict[str, WrkRun], sanity: dict[str, Any]
) -> list[tuple[str, str, Path]]:
    """Check and measure every variant into ``runs`` and ``sanity``; the loads worth profiling (key, url, script)."""
    url = f"http://{HOST}:{port}{RESPONSES_PATH}"
    scripts: dict[str, tuple[Path, Path]] = {}
    for variant in VARIANTS:
        sanity[variant.key] = check_responses(server.name, port, server.key, variant.body)
        scripts[variant.key] = (
            lua_script(f"{server.name}-{variant.key}-plain", variant.body, server.key),
            lua_script(f"{server.name}-{variant.key}-stream", {**variant.body, "stream": True}, server.key),
        )
    log(f"{server.name}: warming up /v1/responses")
    stored_plain, stored_stream = scripts[VARIANTS[0].key]
    runner.warm_up("responses-plain", url, stored_plain, warmup)
    runner.warm_up("responses-stream", url, stored_stream, max(1.0, warmup / 2))
    database = store_file(server)
    for variant in VARIANTS:
        plain, stream = scripts[variant.key]
        plain_bytes, stream_bytes = sanity[variant.key]["nonstream_bytes"], sanity[variant.key]["stream_bytes"]
        for load, script, conns, expected in (
            ("latency", plain, 1, plain_bytes),
            ("nonstream", plain, 32, plain_bytes),
            ("stream", stream, 32, stream_bytes),
        ):
            before = stored_count(database) if variant.body.get("store") is not False else None
            run = runner.load(f"{variant.key}-{load}", url, script, conns, expected)
            after = stored_count(database) if before is not None else None
            # A failed save is logged and the client still gets its answer: count what was stored. Streams save
            # after their last event, so up to one answer per connection may still be on its way.
            if before is not None and after is not None and after - before < run.requests - conns:
                run.invalid_reason = f"only {after - before} of {run.requests} responses stored"
                log(f"{server.name} {variant.key}-{load}: INVALID: {run.invalid_reason}")
            runs[f"{variant.key}-{load}"] = run
    return [("responses-nonstream", url, stored_plain), ("responses-stream", url, stored_stream)]
