"""One target measured end to end: its own emulator, a governed gateway's virtual key, the sanity check (and a
configured route's), a warm-up, the three loads (latency at one connection, throughput at 32, plain and streaming),
peak memory, the usage records against the requests served, the Responses loads of a gateway, optional profiles,
the time to ready on fresh processes and, in-process, the native path's translation and signing and the
dispatcher's cost."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.dispatch_cost import DispatchCost, measure_dispatch_cost
from harness.governance import UsageCheck, VirtualKey, check_usage, create_key, pid_of
from harness.layout import HOST, LOAD_CORE, PROXY_CORE, log
from harness.loads import LoadRunner
from harness.machine import wait_quiet
from harness.messages import measure_messages, translation_cost
from harness.native_cost import NativeCost, measure_native_cost
from harness.processes import Child, clean_env, free_port, running
from harness.profiles import profile_loads
from harness.responses import measure_responses
from harness.routed import check_route, requests_by_deployment
from harness.targets import EMULATOR_PREFIX, MASTER_KEY, Server, emulator_cmd, server_env
from harness.workloads import BODY, STREAM_BODY, check_chat
from harness.wrk import WrkRun, lua_script

CHAT_CHECK_REQUESTS = 2  # check_chat: one non-streaming request, one streaming
# Which load a figure comes from.
RUN_OF = {"p50_ms": "latency", "p99_ms": "latency", "rps_nonstream": "nonstream", "rps_stream": "stream"}


@dataclass(frozen=True, slots=True)
class Options:
    duration: float  # seconds per measured load
    warmup: float  # seconds of warm-up, plain (half of it streaming, at least 1 s)
    ready_spawns: int  # fresh starts the time to ready is the median of
    wait_quiet: float  # seconds to wait, before each load and spawn, for the machine to go quiet
    py_spy: bool  # profile the proxies after measuring
    quick: bool = False  # shorter in-process timings too


def run_figure(runs: dict[str, WrkRun], key: str, prefix: str = "") -> float | None:
    """A latency or throughput figure (``p50_ms``, ``rps_stream``...) of the loads ``<prefix><load>``."""
    run = runs.get(prefix + RUN_OF[key])
    if run is None:
        return None
    return run.rps if key.startswith("rps") else float(getattr(run, key))


def run_valid(runs: dict[str, WrkRun], key: str, prefix: str = "") -> bool:
    run = runs.get(prefix + RUN_OF[key])
    return run is not None and run.valid


@dataclass
class TargetResult:
    name: str
    placement: str
    runs: dict[str, WrkRun] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    ready_ms: list[float] = field(default_factory=list)
    sanity: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    profiles: dict[str, str] = field(default_factory=dict)
    # A gateway's Responses loads, by "<variant>-<load>" (e.g. responses-nostore-stream); see responses.py.
    responses: dict[str, WrkRun] = field(default_factory=dict)
    responses_sanity: dict[str, Any] = field(default_factory=dict)
    responses_error: str | None = None
    responses_peak_rss_mb: float | None = None  # VmHWM after the Responses loads too
    # A gateway's /v1/messages loads (messages-<load>) and its translation timed in-process; see messages.py.
    messages: dict[str, WrkRun] = field(default_factory=dict)
    messages_sanity: dict[str, Any] = field(default_factory=dict)
    messages_error: str | None = None
    messages_cost: dict[str, float] = field(default_factory=dict)
    # The native path's translation and signing, timed in-process (native_cost.py).
    native_cost: NativeCost | None = None
    native_cost_error: str | None = None
    # Keys, limits and usage (governance.py): how the gateway was governed, the virtual key the loads sent, and the
    # usage records against the requests served.
    governance: str | None = None
    virtual_key: VirtualKey | None = None
    usage: UsageCheck | None = None
    usage_error: str | None = None
    # The dispatcher timed in-process (dispatch_cost.py), and a configured route's requests by deployment.
    dispatch_cost: DispatchCost | None = None
    dispatch_cost_error: str | None = None
    route_check: dict[str, int] = field(default_factory=dict)
    by_deployment: dict[str, int] = field(default_factory=dict)

    def figure(self, key: str) -> float | None:
        if key in RUN_OF:
            return run_figure(self.runs, key)
        if key == "peak_rss_mb":
            return self.peak_rss_mb
        if key == "ready_ms":
            return statistics.median(self.ready_ms) if self.ready_ms else None
        raise KeyError(key)

    def valid(self, key: str) -> bool:
        return key not in RUN_OF or run_valid(self.runs, key)


def measure_ready(server: Server, upstream: str, spawns: int, quiet_s: float, ours: set[int]) -> list[float]:
    times: list[float] = []
    for index in range(spawns):
        wait_quiet({os.getpid(), *ours}, quiet_s)
        port = free_port()
        child = Child(f"{server.name}-ready", server.build(port, upstream), server.core, server_env(server, upstream))
        with running(child):
            seconds = child.wait_ready(port, server.ready_path)
        times.append(seconds * 1000)
        log(f"  {server.name}: ready #{index + 1} in {seconds * 1000:.0f} ms")
        time.sleep(0.2)
    return times


def measure(server: Server, options: Options) -> TargetResult:
    placement = (
        f"emulator + wrk on core {LOAD_CORE}"
        if server.name == "direct"
        else f"{server.name} on core {PROXY_CORE} (1 worker); emulator + wrk on core {LOAD_CORE}"
    )
    result = TargetResult(server.name, placement)
    result.governance = server.governance.label if server.governance is not None else None
    emu_port = free_port()
    upstream = f"http://{HOST}:{emu_port}{EMULATOR_PREFIX}"
    extra = server.emulator_args() if server.emulator_args is not None else []
    emulator = Child(f"emulator-for-{server.name}", emulator_cmd(emu_port, extra=extra), LOAD_CORE, clean_env({}))
    with running(emulator):
        emulator.wait_ready(emu_port, "/healthz")
        if server.name == "direct":
            child, port = emulator, emu_port
            context: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        else:
            port = free_port()
            child = Child(server.name, server.build(port, upstream), server.core, server_env(server, upstream))
            context = running(child)
        with context:
            if child is not emulator:
                child.wait_ready(port, server.ready_path, timeout=60)
            if server.governance is not None and server.governance.key == "virtual":
                result.virtual_key = create_key(server.name, port, server.key)
                log(f"{server.name}: the loads send the virtual key ogk-{result.virtual_key.prefix}…")
                server = replace(server, key=result.virtual_key.secret)
            helper = None
            if server.helper is not None:
                pid = pid_of(server.helper)
                helper = (server.helper, pid) if pid is not None else None
            runner = LoadRunner(server.name, child, emulator, options.duration, options.wait_quiet, helper)
            measure_loads(runner, server, port, options, result)
        # Time to ready, on fresh processes; the emulator (the upstream of the proxies) is still up.
        if server.name != "direct" and server.ready:
            result.ready_ms = measure_ready(server, upstream, options.ready_spawns, options.wait_quiet, {emulator.pid})
        if server.dispatch_cost:  # the emulator gives the stub its reply and stream
            try:
                ours = {emulator.pid}
                result.dispatch_cost = measure_dispatch_cost(upstream, options.quick, options.wait_quiet, ours)
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
                log(f"{server.name} in-process dispatch timing FAILED: {exc}")
                result.dispatch_cost_error = str(exc)
        if server.native_cost:  # the emulator records the native reply and stream, and checks the signature
            try:
                root = upstream.removesuffix(EMULATOR_PREFIX)
                result.native_cost = measure_native_cost(root, options.quick, options.wait_quiet, {emulator.pid})
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as exc:
                log(f"{server.name} in-process timing FAILED: {exc}")
                result.native_cost_error = str(exc)
    if server.name == "direct":
        result.ready_ms = measure_ready(server, "", options.ready_spawns, options.wait_quiet, set())
    return result


def measure_loads(runner: LoadRunner, server: Server, port: int, options: Options, result: TargetResult) -> None:
    """The chat loads (and a gateway's Responses loads) on a running server, then their profiles."""
    result.sanity = check_chat(server.name, port, server.request_path, server.key)
    if server.deployments:
        result.route_check = check_route(server.name, port, server.request_path, server.key, server.deployments)
        log(f"{server.name}: the route serves from {result.route_check}")
    url = f"http://{HOST}:{port}{server.request_path}"
    plain = lua_script(f"{server.name}-plain", BODY, server.key)
    stream = lua_script(f"{server.name}-stream", STREAM_BODY, server.key)
    log(f"{server.name}: warming up")
    runner.warm_up("plain", url, plain, options.warmup)
    runner.warm_up("stream", url, stream, max(1.0, options.warmup / 2))
    plain_bytes, stream_bytes = result.sanity["nonstream_bytes"], result.sanity["stream_bytes"]
    for key, script, conns, expected in (
        ("latency", plain, 1, plain_bytes),
        ("nonstream", plain, 32, plain_bytes),
        ("stream", stream, 32, stream_bytes),
    ):
        result.runs[key] = runner.load(key, url, script, conns, expected)
    result.peak_rss_mb = runner.child.peak_rss_mb()
    if server.governance is not None:
        check_governance(runner, server, port, result)
    if server.deployments:
        try:
            result.by_deployment = requests_by_deployment(port, MASTER_KEY)
        except OSError as exc:
            log(f"{server.name}: GET /metrics failed: {exc}")
    profiled: list[tuple[str, str, Path]] = [("nonstream", url, plain), ("stream", url, stream)]
    if server.responses:
        try:
            profiled += measure_responses(
                runner, server, port, options.warmup, result.responses, result.responses_sanity
            )
        except (RuntimeError, OSError, ValueError) as exc:
            log(f"{server.name} Responses loads FAILED: {exc}")
            result.responses_error = str(exc)
        result.responses_peak_rss_mb = runner.child.peak_rss_mb()
    if server.messages:
        try:
            profiled += measure_messages(runner, server, port, options.warmup, result.messages, result.messages_sanity)
            result.messages_cost = translation_cost(options.quick)
        except (RuntimeError, OSError, ValueError) as exc:
            log(f"{server.name} Messages loads FAILED: {exc}")
            result.messages_error = str(exc)
    if options.py_spy and runner.proxied:
        result.profiles = profile_loads(runner, profiled)


def check_governance(runner: LoadRunner, server: Server, port: int, result: TargetResult) -> None:
    """The usage records of the key the loads sent, against every request sent so far (the chat check's two
    included); see governance.py."""
    assert server.governance is not None
    try:
        result.usage = check_usage(
            port, MASTER_KEY, result.virtual_key, server.governance.usage, runner.sent, CHAT_CHECK_REQUESTS
        )
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        log(f"{server.name}: the usage check FAILED: {exc}")
        result.usage_error = str(exc)
        return
    log(f"{server.name}: {result.usage.describe()}")
