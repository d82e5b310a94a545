"""Running wrk: the Lua script that sends one body and reports exact figures, and reading what wrk reports.

A load is valid only when every answer was a success: wrk counts each answer of status 400 or more (its
"Non-2xx or 3xx responses"), and its socket errors (connect, read, write, timeout); any of them invalidates the
load. wrk does not count a 1xx or 3xx, nor a 200 carrying a failure (a ``"status": "failed"`` response, a
``response.failed`` event), so a load also carries the size of the answer its target gave to the sanity check,
and answers shorter on average than that one invalidate it too.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.layout import LOAD_CORE, OUT

LUA = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"connect\\":%d,\\"read\\":%d," ..
    "\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50_us\\":%.1f,\\"p90_us\\":%.1f,\\"p99_us\\":%.1f," ..
    "\\"mean_us\\":%.1f,\\"max_us\\":%.1f}}\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""

# wrk's bytes include the headers (and the chunk framing of a stream), so a correct answer is never shorter than
# the body checked before the load; the margin allows for fields whose length varies (a number's digits).
SHORT_ANSWER_MARGIN = 0.95


@dataclass
class WrkRun:
    label: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    bytes_per_response: float
    non_2xx: int
    socket_errors: dict[str, int]
    command: str
    proxy_cpu_pct: float | None = None  # CPU the proxy under test used during the load, % of one core
    upstream_cpu_pct: float | None = None  # the same for the emulator
    other_cpu_pct: float | None = None  # CPU used by processes outside the benchmark: noise
    other_busiest: list[str] = field(default_factory=list)
    steal_pct: float | None = None  # CPU the hypervisor took from this VM during the load, % of one core
    helper_cpu_pct: float | None = None  # the same for a shared service the proxy uses (redis-server)
    expected_bytes: int | None = None  # the body of the answer the sanity check accepted
    invalid_reason: str | None = None  # what else made the load invalid (short answers, responses not stored)

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    @property
    def valid(self) -> bool:
        return self.errors == 0 and self.requests > 0 and self.invalid_reason is None

    @property
    def problem(self) -> str:
        """Why the load is invalid, for a table cell: ``INVALID (<problem>)``."""
        if self.errors:
            return f"{self.errors} errors"
        if self.requests == 0:
            return "no requests"
        return self.invalid_reason or ""


def lua_script(name: str, body: dict[str, Any], key: str, headers: dict[str, str] | None = None) -> Path:
    """The script of a load sending ``body`` with ``key``, and ``headers`` besides (a peer's routing headers)."""
    path = OUT / f"{name}.lua"
    extra = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in (headers or {}).items())
    path.write_text(extra + LUA.format(body=json.dumps(body, separators=(",", ":")), key=key))
    return path


def run_wrk(
    label: str, url: str, script: Path, connections: int, duration: float, expected_bytes: int | None = None
) -> WrkRun:
    cmd = [
        "taskset", "-c", str(LOAD_CORE), "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s",
        "--latency", "--timeout", "5s", "-s", str(script), url,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=False)
    (OUT / f"wrk-{label}.txt").write_text(f"$ {shlex.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    match = re.search(r"^BENCH-JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    raw = json.loads(match.group(1))
    # Cross-check the summary with wrk's own report of failed responses.
    shown = re.search(r"Non-2xx or 3xx responses: (\d+)", proc.stdout)
    non_2xx = max(int(raw["status"]), int(shown.group(1)) if shown else 0)
    requests = int(raw["requests"])
    seconds = int(raw["duration_us"]) / 1e6
    run = WrkRun(
        label=label,
        connections=connections,
        duration_s=seconds,
        requests=requests,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        bytes_per_response=int(raw["bytes"]) / requests if requests else 0.0,
        non_2xx=non_2xx,
        socket_errors={k: int(raw[k]) for k in ("connect", "read", "write", "timeout")},
        command=shlex.join(cmd),
        expected_bytes=expected_bytes,
    )
    if requests and expected_bytes and run.bytes_per_response < SHORT_ANSWER_MARGIN * expected_bytes:
        run.invalid_reason = f"short answers: {run.bytes_per_response:.0f} bytes < {expected_bytes}"
    return run
