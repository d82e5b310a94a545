"""The headline: the paths companies use, measured in interleaved rounds of one run, with the CPU each request costs.

Every gateway runs at once, pinned to the proxy core and idle while another is loaded, behind one emulator (which
accepts both the API key and the native path's IAM key); wrk loads them in turn, round after round, so that the
machine's drift (other helpers' tests, the hypervisor) falls on every variant alike:

- ``master``: ocigate as shipped (usage on), the master key, Oracle's OpenAI-compatible API;
- ``team``: the same with a team key with every limit on (rpm, tpm, max_concurrent, a USD budget; none reached),
  made with ``ocigate keys create`` as an operator would, before the gateway starts;
- ``native``: ocigate with a ``type: oci`` provider, Oracle's native API as a user principal: every request
  translated to the GENERIC format and signed (RSA-2048);
- ``litellm``, ``portkey``: the peers, when ``--install-peers`` put them in bench/.peers/.

Per round and variant: a one-connection load (p50), then 32 connections of the plain body and of the streaming
one, with the proxy's CPU seconds from ``/proc/<pid>/stat`` over each load divided by the requests it completed
(CPU per request: what a busy machine disturbs least), and the CPU of every process outside the benchmark during
the load (the noise). ``direct`` (wrk straight to the emulator) gets the one-connection load too, for the added
p50. Peak RSS is ``VmHWM`` after every round, before anything calls the admin API. ``openssl speed rsa2048`` runs
on the proxy core before and after the rounds: one signature's CPU time, the native path's budget.
"""

from __future__ import annotations

import re
import secrets
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.layout import HOST, LOAD_CORE, OUT, PROXY_CORE, log
from harness.machine import foreign_cpu, process_cpu, steal_seconds, wait_quiet
from harness.native import native_files
from harness.peers import Peer, litellm_peer, portkey_peer
from harness.processes import Child, clean_env, free_port
from harness.targets import EMULATOR_PREFIX, MASTER_KEY, MODELS, UPSTREAM_KEY, data_dir, emulator_cmd, native_env
from harness.workloads import BODY, MODEL, STREAM_BODY, post
from harness.wrk import lua_script, run_wrk

LOADS = ("latency", "non-stream", "stream")
LITELLM_KEY = "sk-" + secrets.token_hex(32)  # LiteLLM refuses a weak master key
TEAM_KEY_ARGS = ["--rpm", "1000000000", "--tpm", "2000000000", "--max-concurrent", "100000", "--budget", "1000000"]


@dataclass
class Variant:
    name: str
    child: Child
    port: int
    path: str
    key: str
    headers: dict[str, str] = field(default_factory=dict)
    rps: dict[str, list[float]] = field(default_factory=lambda: {load: [] for load in LOADS})
    p50_ms: list[float] = field(default_factory=list)
    cpu_us: dict[str, list[float]] = field(default_factory=lambda: {load: [] for load in LOADS})
    peak_rss_mb: float | None = None

    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"


@dataclass
class Headline:
    rounds: int
    seconds: float
    variants: dict[str, Variant] = field(default_factory=dict)
    direct_p50_ms: list[float] = field(default_factory=list)
    rsa_sign_per_s: list[float] = field(default_factory=list)
    noise_pct: list[float] = field(default_factory=list)  # CPU of processes outside the benchmark, per load
    steal_pct: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def rsa_sign_us(self) -> float | None:
        return 1e6 / statistics.median(self.rsa_sign_per_s) if self.rsa_sign_per_s else None


def openssl_rsa2048() -> float | None:
    """Signatures per second of ``openssl speed rsa2048`` on the proxy core (3 s), or None."""
    cmd = ["taskset", "-c", str(PROXY_CORE), "openssl", "speed", "-seconds", "3", "rsa2048"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", done.stdout, re.M)
    return float(found.group(1)) if found else None


def _team_key(folder: Path) -> str:
    """A team key with every limit, made in the gateway's store with ``ocigate keys create``."""
    env = clean_env({"OCIGATE_DATA_DIR": str(folder)})
    cmd = [sys.executable, "-m", "ocigate", "keys", "create", "bench", "--team", "bench", *TEAM_KEY_ARGS]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    found = re.search(r"^secret: (ogk-\S+)$", done.stdout, re.M)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"ocigate keys create failed: {done.stderr.strip()[-300:]}")
    return found.group(1)


def _start(upstream: str, peers: bool) -> list[Variant]:
    """Starts every variant's server (not yet ready)."""
    gateway = [sys.executable, "-m", "ocigate", "serve", "--port"]
    found: list[Variant] = []
    for name in ("master", "team", "native"):
        port = free_port()
        folder = data_dir(f"headline-{name}")
        if name == "native":
            env = {**native_env(upstream), "OCIGATE_DATA_DIR": str(folder)}
        else:
            env = {"ORACLE_BASE_URL": upstream, "ORACLE_API_KEY": UPSTREAM_KEY, "ORACLE_MODELS": MODELS,
                   "OCIGATE_MASTER_KEY": MASTER_KEY, "OCIGATE_DATA_DIR": str(folder)}  # fmt: skip
        key = _team_key(folder) if name == "team" else MASTER_KEY
        child = Child(f"headline-{name}", [*gateway, str(port)], PROXY_CORE, clean_env(env)).start()
        found.append(Variant(name, child, port, "/v1/chat/completions", key))
    if peers:
        for kind in ("litellm", "portkey"):
            port = free_port()
            peer: Peer | None = (
                litellm_peer(port, upstream, MODEL, UPSTREAM_KEY, OUT / "litellm-headline.yaml", LITELLM_KEY)
                if kind == "litellm"
                else portkey_peer(port, upstream)
            )
            if peer is None:
                continue
            child = Child(f"headline-{peer.name}", peer.command, PROXY_CORE, clean_env(peer.env)).start()
            key = UPSTREAM_KEY if peer.name == "portkey" else LITELLM_KEY
            found.append(Variant(peer.name, child, port, "/v1/chat/completions", key, peer.headers))
    return found


def _ready(variant: Variant) -> None:
    path = "/readyz" if variant.name in ("master", "team", "native") else "/health/liveliness"
    if variant.name == "portkey":
        path = "/"
    variant.child.wait_ready(variant.port, path, timeout=120)
    for body in (BODY, STREAM_BODY):
        status, data = 0, b""
        for _ in range(3):  # a peer's first answers may be slow (LiteLLM loads much on first use)
            try:
                status, data = post(variant.port, variant.path, body, variant.key, variant.headers)
                break
            except OSError as exc:
                data = repr(exc).encode()
        if status != 200:
            raise RuntimeError(f"headline {variant.name}: the check request got {status}: {data[:200]!r}")


def _load(result: Headline, variant: Variant, load: str, script: Path, ours: set[int], label: str) -> None:
    connections = 1 if load == "latency" else 32
    before, others, steal = variant.child.cpu_seconds(), process_cpu(), steal_seconds()
    run = run_wrk(label, variant.url(), script, connections, result.seconds)
    wall = run.duration_s or result.seconds
    used = variant.child.cpu_seconds() - before
    noise, _ = foreign_cpu(others, ours, wall)
    result.noise_pct.append(noise)
    result.steal_pct.append(100 * (steal_seconds() - steal) / wall)
    if not run.valid:
        result.problems.append(f"{label}: {run.problem}")
        return
    variant.rps[load].append(run.rps)
    if run.requests:
        variant.cpu_us[load].append(1e6 * used / run.requests)
    if load == "latency":
        variant.p50_ms.append(run.p50_ms)


def measure_headline(quick: bool, quiet_s: float, peers: bool) -> Headline:
    rounds, seconds = (2, 2.0) if quick else (5, 4.0)
    result = Headline(rounds, seconds)
    emulator_port = free_port()
    upstream = f"http://{HOST}:{emulator_port}{EMULATOR_PREFIX}"
    extra = native_files().emulator_args()
    emulator = Child("headline-emulator", emulator_cmd(emulator_port, "", extra), LOAD_CORE, clean_env({}))
    variants: list[Variant] = []
    try:
        emulator.start().wait_ready(emulator_port, "/healthz")
        variants = _start(upstream, peers)
        for variant in list(variants):
            try:
                _ready(variant)
            except RuntimeError as exc:
                if variant.name in ("master", "team", "native"):
                    raise
                result.skipped.append(str(exc))  # a peer that does not answer is left out, and said so
                variant.child.stop()
                variants.remove(variant)
        ours = {emulator.pid, *(v.child.pid for v in variants)}
        result.variants = {v.name: v for v in variants}
        sign = openssl_rsa2048()
        if sign:
            result.rsa_sign_per_s.append(sign)
        scripts = {
            (v.name, load): lua_script(
                f"headline-{v.name}-{load}", STREAM_BODY if load == "stream" else BODY, v.key, v.headers
            )  # fmt: skip
            for v in variants
            for load in LOADS
        }
        direct = lua_script("headline-direct", BODY, UPSTREAM_KEY)
        for v in variants:  # warm-ups
            for load in ("non-stream", "stream"):
                run_wrk(f"headline-{v.name}-{load}-warm", v.url(), scripts[(v.name, load)], 32, 1.0)
        for round_ in range(rounds):
            wait_quiet(ours, quiet_s)
            run = run_wrk(f"headline-direct-{round_}", f"{upstream}/chat/completions", direct, 1, seconds)
            result.direct_p50_ms.append(run.p50_ms)
            for load in LOADS:
                for v in variants:
                    _load(result, v, load, scripts[(v.name, load)], ours, f"headline-{v.name}-{load}-{round_}")
            log(f"headline round {round_}: " + ", ".join(
                f"{v.name} {v.rps['non-stream'][-1:]} {v.rps['stream'][-1:]}" for v in variants))  # fmt: skip
        for v in variants:
            v.peak_rss_mb = v.child.peak_rss_mb()
        sign = openssl_rsa2048()
        if sign:
            result.rsa_sign_per_s.append(sign)
    finally:
        for v in variants:
            v.child.stop()
        emulator.stop()
    return result
