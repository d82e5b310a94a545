"""``/_emulator/*``: the test harness's controls (fault rules) and counters. Loopback test infrastructure, so no
authentication; nothing of it exists on Oracle."""

from __future__ import annotations

from collections import deque

import orjson

from ocigate.catalog.models import chat_model_ids
from ocigate.core.asgi import Handler, Request, Response, json_response
from ocigate.emulator.context import Context
from ocigate.emulator.errors import cannot_parse

PREFIX = "/_emulator/"


class Stats:
    """Responses by path and status; "dropped" and "cut" count connections closed by fault rules. ``traces``:
    the W3C trace context (``traceparent``, ``tracestate``) of the last requests that carried one, for the tests
    of the gateway's tracing (``GET /_emulator/traces``; ``DELETE /_emulator/stats`` clears them too)."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = {}
        self.total = 0
        self.traces: deque[dict[str, str]] = deque(maxlen=256)

    def record(self, path: str, outcome: int | str, *, new_request: bool = True) -> None:
        by_outcome = self.requests.get(path)
        if by_outcome is None:
            by_outcome = self.requests[path] = {}
        key = str(outcome)
        by_outcome[key] = by_outcome.get(key, 0) + 1
        if new_request:
            self.total += 1

    def reset(self) -> None:
        self.requests = {}
        self.total = 0
        self.traces.clear()


def routes(ctx: Context, stats: Stats) -> list[tuple[str, str, Handler]]:
    faults = ctx.faults

    async def add_fault(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise cannot_parse(f"A fault rule must be JSON: {exc}.") from None
        return json_response(faults.add(body).to_dict(), status=201)

    async def list_faults(request: Request) -> Response:
        return json_response({"faults": [rule.to_dict() for rule in faults.rules]})

    async def clear_faults(request: Request) -> Response:
        return json_response({"cleared": faults.clear()})

    async def get_stats(request: Request) -> Response:
        return json_response({"total": stats.total, "requests": stats.requests})

    async def reset_stats(request: Request) -> Response:
        stats.reset()
        return json_response({"total": 0, "requests": {}})

    async def get_traces(request: Request) -> Response:
        return json_response({"traces": list(stats.traces)})

    async def info(request: Request) -> Response:
        keys = [{"secret": k.secret, "region": k.region, "policy": k.policy} for k in ctx.config.keys]
        return json_response({"region": ctx.region, "models": chat_model_ids(ctx.region), "keys": keys})

    return [
        ("POST", PREFIX + "faults", add_fault),
        ("GET", PREFIX + "faults", list_faults),
        ("DELETE", PREFIX + "faults", clear_faults),
        ("GET", PREFIX + "stats", get_stats),
        ("DELETE", PREFIX + "stats", reset_stats),
        ("GET", PREFIX + "traces", get_traces),
        ("GET", PREFIX + "info", info),
    ]
