"""Keys, limits and usage on a gateway target: the virtual key its loads send, and the check, after the loads, that
the gateway recorded one usage record per request it served.

A governed target (``Governance(key="virtual")`` in ``targets.py``) gets a key made on the running gateway with
``POST /admin/keys`` (the master key), with every limit set (``rpm``, ``tpm``, ``max_concurrent`` and a USD
budget) so that each request goes through the whole admission, but high enough never to refuse one during the
loads; its loads, warm-ups and checks send that key's secret instead of the master key.

After the chat loads, ``GET /admin/usage?by=key`` (which flushes the usage writer first) gives the records of the
key (of the master key's row when the loads sent it). Two comparisons, both of which must hold:

- with the gateway's own count of the requests it dispatched (``ocigate_requests_total`` in ``/metrics``, every
  status): equal, since every request of these targets was sent with that key;
- with the requests wrk completed (every load and warm-up) and the checks: wrk ends a load by closing its
  connections, which cuts up to one request per connection that the gateway still serves and records (a stream
  whose client went away as 499, a reply it finished writing as 200), so the records lie between the requests
  completed and that plus the connections of every load.

Anything else is a gateway bug (a record lost, or written twice).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.routed import requests_by_deployment
from harness.workloads import get, post
from harness.wrk import WrkRun

# Every limit set, none of them reached by a few seconds of load on one core: the admission does all its work.
KEY_FIELDS: dict[str, Any] = {
    "name": "bench",
    "team": "bench",
    "rpm": 1_000_000_000,
    "tpm": 2_000_000_000,
    "max_concurrent": 100_000,
    "budget": {"amount": 1_000_000, "unit": "usd", "period": "month"},
}


@dataclass(frozen=True, slots=True)
class VirtualKey:
    id: str
    prefix: str
    secret: str


def create_key(name: str, port: int, master_key: str) -> VirtualKey:
    """A virtual key with :data:`KEY_FIELDS`, made with the admin API; raises RuntimeError when it cannot be."""
    status, data = post(port, "/admin/keys", KEY_FIELDS, master_key)
    answer = json.loads(data) if status == 201 else {}
    secret = answer.get("secret")
    if not isinstance(secret, str) or not secret.startswith("ogk-"):
        raise RuntimeError(f"{name}: POST /admin/keys failed: {status} {data[:300]!r}")
    return VirtualKey(str(answer["id"]), str(answer.get("prefix", "")), secret)


@dataclass
class UsageCheck:
    """The usage records of the key the loads sent, against the requests wrk and the checks completed."""

    key: str  # the key's id, or "master"
    recorded: int | None  # usage records of that key (None: usage is off, any record at all is counted)
    errors: int  # of them, with status >= 400 (a cut request recorded as 499)
    completed: int  # requests completed: every load and warm-up as wrk counts them, and the checks
    cut_at_most: int  # the connections of every load and warm-up: at most one request each cut at its end
    dispatched: int | None  # the gateway's own count of the requests it dispatched (/metrics)
    usage_on: bool = True

    @property
    def extra(self) -> int:
        return (self.recorded or 0) - (self.completed if self.usage_on else 0)

    @property
    def ok(self) -> bool:
        if not self.usage_on:
            return self.recorded == 0
        if self.dispatched is not None and self.recorded != self.dispatched:
            return False
        return self.recorded is not None and 0 <= self.extra <= self.cut_at_most

    def describe(self) -> str:
        if not self.usage_on:
            found = "no usage record" if self.ok else f"{self.recorded} usage records (expected none)"
            return f"usage off: {found} after {self.completed} requests" + ("" if self.ok else ": MISMATCH")
        verdict = "OK" if self.ok else "MISMATCH"
        dispatched = "n/a" if self.dispatched is None else str(self.dispatched)
        return (
            f"{self.recorded} usage records ({self.errors} with status >= 400) for {dispatched} requests dispatched "
            f"(the gateway's count) and {self.completed} completed (wrk's and the checks'), {self.extra:+d}, of at "
            f"most +{self.cut_at_most} cut at the loads' ends: {verdict}"
        )


def usage_rows(port: int, master_key: str) -> list[dict[str, Any]]:
    """``GET /admin/usage?by=key``: one row per key (the master key's ``key_id`` is null)."""
    status, data = get(port, "/admin/usage?by=key", master_key)
    if status != 200:
        raise RuntimeError(f"GET /admin/usage failed: {status} {data[:300]!r}")
    rows: list[dict[str, Any]] = json.loads(data)["data"]
    return rows


def check_usage(
    port: int, master_key: str, key: VirtualKey | None, usage_on: bool, sent: list[WrkRun], checks: int
) -> UsageCheck:
    """Compares the usage records with the gateway's count of requests dispatched, and with the requests ``sent``
    (wrk's loads and warm-ups) plus ``checks``."""
    time.sleep(0.3)  # a stream cut at the end of the last load is recorded once the gateway sees the client leave
    rows = usage_rows(port, master_key)
    dispatched = sum(requests_by_deployment(port, master_key).values())
    key_id = key.id if key is not None else None
    completed = checks + sum(run.requests for run in sent)
    cut = sum(run.connections for run in sent)
    if not usage_on:
        total = sum(int(row["requests"]) for row in rows)
        errors = sum(int(row["errors"]) for row in rows)
        return UsageCheck("master", total, errors, completed, cut, dispatched, usage_on=False)
    row = next((r for r in rows if r.get("key_id") == key_id), None)
    recorded = int(row["requests"]) if row else 0
    errors = int(row["errors"]) if row else 0
    return UsageCheck(key_id or "master", recorded, errors, completed, cut, dispatched)


def pid_of(command: str) -> int | None:
    """The pid of the running process named ``command`` (``/proc/<pid>/comm``), the oldest if several."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == command:
                found.append(int(entry.name))
        except OSError:
            continue
    return min(found) if found else None
