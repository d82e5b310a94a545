"""Instructions per request, counted by callgrind: the figure a shared, noisy machine cannot disturb.

Requests per second and CPU time move with everything else the machine runs (other tests, the hypervisor's steal);
the number of instructions a request executes does not. Each variant here is a real ``ocigate serve`` started
under ``valgrind --tool=callgrind --instr-atstart=no`` and driven over HTTP by an aiohttp client (8 requests in
flight), counting only between a warm-up and the end of the measured requests (``callgrind_control -i on/off``):

- ``master``: the master key over Oracle's OpenAI-compatible API (the emulator), usage on;
- ``team``: a team key with every limit on (rpm, tpm, concurrency, a USD budget; none reached);
- ``native``: the native API as a user principal (translated, signed with RSA-2048); the instructions inside
  the RSA operation (``cryptography``'s sign) are read from callgrind's profile and shown apart.

Caveats, printed with the table: under valgrind the gateway runs ~50 times slower, so work done per second rather
than per request (the usage writer's flush every 0.5 s, a team key's cache refresh every second) weighs more per
request than at full speed; valgrind's CPU hides AVX-512, so OpenSSL's RSA runs another code path than natively
(the RSA column counts instructions of that path: compare the native path's other instructions, not its total).
Instructions are not time (Python's interpreter and OpenSSL's bignum code run at very different instructions per
cycle), but the same code path's instructions follow its CPU time closely: this is the figure to compare two
versions of the gateway with, and the ratios between its paths.

``python bench/instructions.py [--requests N]``; needs valgrind (``apt-get install valgrind``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from harness.headline import _team_key
from harness.layout import HOST, LOAD_CORE, OUT, PROXY_CORE
from harness.native import native_files
from harness.processes import Child, clean_env, free_port
from harness.targets import EMULATOR_PREFIX, MASTER_KEY, MODELS, UPSTREAM_KEY, data_dir, emulator_cmd, native_env
from harness.workloads import BODY, STREAM_BODY

VARIANTS = ("master", "team", "native")
WARM_UP = 200
IN_FLIGHT = 8


@dataclass
class Counted:
    variant: str
    stream: bool
    requests: int
    instructions: int
    rsa: int = 0  # of which inside the RSA signature (native only)

    @property
    def per_request(self) -> float:
        return self.instructions / self.requests

    @property
    def rsa_per_request(self) -> float:
        return self.rsa / self.requests


def valgrind_missing() -> str | None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return "valgrind is not installed (apt-get install valgrind): no instruction counts"
    return None


async def _drive(port: int, key: str, count: int, stream: bool) -> None:
    """``count`` chat requests, ``IN_FLIGHT`` at a time, each read to its end; any status but 200 is an error."""
    payload = json.dumps(STREAM_BODY if stream else BODY).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    url = f"http://{HOST}:{port}/v1/chat/completions"
    left = count
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT), timeout=timeout) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.post(url, data=payload, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url} answered {response.status}: {body[:200]!r}")

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


def _count_one(variant: str, upstream: str, requests: int, stream: bool) -> Counted:
    folder = data_dir(f"instructions-{variant}")
    shutil.rmtree(folder, ignore_errors=True)
    if variant == "native":
        env = {**native_env(upstream), "OCIGATE_DATA_DIR": str(folder)}
    else:
        env = {"ORACLE_BASE_URL": upstream, "ORACLE_API_KEY": UPSTREAM_KEY, "ORACLE_MODELS": MODELS,
               "OCIGATE_MASTER_KEY": MASTER_KEY, "OCIGATE_DATA_DIR": str(folder)}  # fmt: skip
    key = _team_key(folder) if variant == "team" else MASTER_KEY
    profile = OUT / f"instructions-{variant}-{'stream' if stream else 'plain'}.callgrind"
    port = free_port()
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={profile}",
           sys.executable, "-m", "ocigate", "serve", "--port", str(port)]  # fmt: skip
    child = Child(f"instructions-{variant}", cmd, PROXY_CORE, clean_env(env)).start()
    try:
        child.wait_ready(port, "/readyz", timeout=600)
        asyncio.run(_drive(port, key, WARM_UP, stream))
        _control("on", child.pid)
        asyncio.run(_drive(port, key, requests, stream))
        _control("off", child.pid)
    finally:
        _stop(child)
    found = re.findall(r"Collected : (\d+)", child.log_path.read_text(errors="replace"))
    if not found:
        raise RuntimeError(f"callgrind reported no count for {variant}; see {child.log_path}")
    return Counted(variant, stream, requests, int(found[-1]), _rsa_instructions(profile) if variant == "native" else 0)


def _control(state: str, pid: int) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(pid)], capture_output=True, timeout=120, check=True)


def _stop(child: Child) -> None:
    """SIGTERM, then the time callgrind needs to drain the gateway and write its profile."""
    proc = child.proc
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _rsa_instructions(profile: Path) -> int:
    """The instructions inside ``cryptography``'s RSA sign (inclusive), from callgrind's profile."""
    done = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", str(profile)], capture_output=True, text=True, timeout=300
    )
    for line in done.stdout.splitlines():
        if "__pymethod_sign__" in line:
            return int(line.split()[0].replace(",", ""))
    return 0


def count(requests: int, streams: bool = True) -> list[Counted]:
    """Every variant's count, for the plain body and (``streams``) the streaming one; the emulator on the load
    core, each gateway alone on the proxy core."""
    OUT.mkdir(parents=True, exist_ok=True)
    emulator_port = free_port()
    upstream = f"http://{HOST}:{emulator_port}{EMULATOR_PREFIX}"
    extra = native_files().emulator_args()
    emulator = Child("instructions-emulator", emulator_cmd(emulator_port, "", extra), LOAD_CORE, clean_env({}))
    counted: list[Counted] = []
    try:
        emulator.start().wait_ready(emulator_port, "/healthz")
        for stream in (False, True) if streams else (False,):
            for variant in VARIANTS:
                counted.append(_count_one(variant, upstream, requests, stream))
    finally:
        emulator.stop()
    return counted


def section(counted: list[Counted]) -> list[str]:
    lines = [
        "## Instructions per request (callgrind)",
        "",
        "A real `ocigate serve` under callgrind, driven over HTTP (8 in flight), counted after a warm-up: "
        "deterministic where requests per second are not.",
        "",
        "| path | body | requests | instructions / request | x master | of which RSA | other x master |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for stream in (False, True):
        rows = {c.variant: c for c in counted if c.stream == stream}
        base = rows.get("master")
        for c in rows.values():
            ratio = f"{c.per_request / base.per_request:.3f}" if base else "-"
            other = (c.per_request - c.rsa_per_request) / base.per_request if base else None
            rsa = f"{c.rsa_per_request / 1000:,.0f}k" if c.rsa else "-"
            lines.append(
                f"| {c.variant} | {'stream' if stream else 'plain'} | {c.requests:,} | {c.per_request / 1000:,.1f}k "
                f"| {ratio} | {rsa} | {'-' if other is None else f'{other:.3f}'} |"
            )
    lines += [
        "",
        "Under valgrind the gateway runs ~50x slower: work done per second rather than per request (usage flushes, "
        "a team key's cache refresh) weighs more here than at full speed. Valgrind hides AVX-512, so the RSA "
        "column counts another OpenSSL code path than the native one: compare the other instructions.",
    ]
    return lines
