"""What is measured: each server under test, how it is started and configured, and where its requests go.

- ``direct``: wrk straight to the emulator (the reference every "added" figure subtracts);
- ``bare``: ``bench/bare_proxy.py``, a pass-through proxy that parses nothing (the floor of a Python gateway);
- ``ocigate``: ``python -m ocigate serve``, the gateway as shipped, over Oracle's OpenAI-compatible API;
- ``litellm`` (with ``--peers litellm``, when it is importable): ``litellm --config cfg.yaml``;
- ``ocigate-native``: the gateway with a ``type: oci`` provider: Oracle's own chat API, every request translated
  to the GENERIC format and signed as a user principal; see "The native path" in bench/README.md;
- ``ocigate-gov-off``, ``ocigate-gov-on``, ``ocigate-gov-redis``: the gateway without usage recording (master
  key, ``OCIGATE_USAGE=off``), and with a virtual key whose limits are all set (usage on, the limiter in memory,
  then in Redis); see "Keys, limits and usage" in bench/README.md;
- ``ocigate-routed``: the gateway with a configured route of two deployments (``models:``); see "Routing and
  retries" in bench/README.md.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from harness.layout import BENCH, HOST, LOAD_CORE, OUT, PROXY_CORE
from harness.native import ENDPOINT_VAR, GATEWAY_YAML, native_files
from harness.processes import clean_env
from harness.routed import ROUTED_DEPLOYMENTS, UPSTREAM_VAR, routed_yaml
from harness.workloads import MODEL

MODELS = "openai.gpt-oss-120b,meta.llama-3.3-70b-instruct"
UPSTREAM_KEY = "sk-emulator-chicago"
MASTER_KEY = "sk-ocigate-bench-key"
EMULATOR_PREFIX = "/20231130/actions/v1"

# The native path: the gateway reads its provider (type: oci, user principal) from the YAML that native_files()
# writes with a fresh key pair and OCI config file; its emulator learns the public key with --iam-key.
NATIVE_PROVIDER_ENV: dict[str, str] = {"OCIGATE_CONFIG": str(GATEWAY_YAML)}


def native_emulator_args() -> list[str]:
    """The emulator options that make it accept the gateway's signatures (generates the key on first use)."""
    return native_files().emulator_args()


# Signing needs Oracle's SDK, an optional dependency of ocigate.
NATIVE_DISABLED: str | None = (
    None
    if importlib.util.find_spec("oci") is not None
    else "Oracle's oci SDK is not installed: pip install 'ocigate[oci]'"
)


# Keys, limits and usage: the Redis the limiter uses for ocigate-gov-redis (database 15, kept apart).
REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True, slots=True)
class Governed:
    """How a gateway target is governed: which key its loads send, whether each request is recorded, and where
    the key's limits are counted."""

    key: Literal["master", "virtual"]  # virtual: one made with POST /admin/keys before the loads (governance.py)
    usage: bool  # one usage record per request (OCIGATE_USAGE)
    limiter: Literal["none", "memory", "redis"]  # none: the master key has no limits

    @property
    def label(self) -> str:
        key = "master key" if self.key == "master" else "virtual key (rpm, tpm, max_concurrent, budget)"
        limits = {"none": "no limits", "memory": "limits in memory", "redis": "limits in Redis"}[self.limiter]
        return f"{key}, usage {'on' if self.usage else 'off'}, {limits}"


@dataclass
class Server:
    """How to start one server under test and talk to it."""

    name: str
    build: Callable[[int, str], list[str]]  # (port, upstream base URL) -> command
    core: int
    ready_path: str
    request_path: str
    key: str
    env: dict[str, str] = field(default_factory=dict)
    upstream_env: Callable[[str], dict[str, str]] | None = None  # (upstream base URL) -> its settings
    responses: bool = False  # a gateway: measure /v1/responses too (Responses over Chat Completions)
    messages: bool = False  # a gateway: measure /v1/messages too (Anthropic's Messages API over Chat Completions)
    emulator_args: Callable[[], list[str]] | None = None  # extra options for its emulator, made when measured
    native_cost: bool = False  # time translation and signing in-process too (native_cost.py)
    disabled: str | None = None  # why it cannot be measured (yet)
    governance: Governed | None = None  # a gateway: its key and usage, checked after the loads (governance.py)
    dispatch_cost: bool = False  # time the dispatcher in-process too (dispatch_cost.py)
    deployments: tuple[str, ...] = ()  # a configured route's deployments, each checked to serve (routed.py)
    ready: bool = True  # measure the time to ready (a variant of ocigate: the same start-up, not measured again)
    helper: str | None = None  # a shared service the gateway uses under load (redis-server), its CPU shown apart


def emulator_cmd(port: int, _upstream: str = "", extra: list[str] | None = None) -> list[str]:
    return [sys.executable, "-m", "ocigate", "emulator", "--port", str(port), *(extra or [])]


def data_dir(name: str) -> Path:
    """A gateway's store (SQLite), fresh for every run and kept out of the repository's own data/."""
    return OUT / f"{name}-data"


def ocigate_env(upstream: str) -> dict[str, str]:
    """ocigate configured by environment as a user would: Oracle's OpenAI-compatible API at the emulator."""
    return {
        "ORACLE_BASE_URL": upstream,
        "ORACLE_API_KEY": UPSTREAM_KEY,
        "ORACLE_MODELS": MODELS,
        "OCIGATE_MASTER_KEY": MASTER_KEY,
        "OCIGATE_DATA_DIR": str(data_dir("ocigate")),
    }


def native_env(upstream: str) -> dict[str, str]:
    """ocigate with the native Oracle provider only (no ``ORACLE_*``), at the emulator's native API
    (``<root>/20231130/actions/chat``): the YAML's endpoint is the emulator's root."""
    return {
        ENDPOINT_VAR: upstream.removesuffix(EMULATOR_PREFIX),
        "OCIGATE_MASTER_KEY": MASTER_KEY,
        "OCIGATE_DATA_DIR": str(data_dir("ocigate-native")),
        **NATIVE_PROVIDER_ENV,
    }


def governed_env(name: str, usage: bool, redis: bool = False) -> Callable[[str], dict[str, str]]:
    """ocigate as the ``ocigate`` target runs it, with usage recording on or off, and the limits in Redis."""

    def env(upstream: str) -> dict[str, str]:
        found = {**ocigate_env(upstream), "OCIGATE_DATA_DIR": str(data_dir(name))}
        found["OCIGATE_USAGE"] = "on" if usage else "off"
        if redis:
            found["OCIGATE_REDIS_URL"] = REDIS_URL
        return found

    return env


def routed_env(upstream: str) -> dict[str, str]:
    """ocigate with two providers at the emulator and one configured route over both (``models:``), no ``ORACLE_*``;
    the YAML's base URLs are the emulator's, from the gateway's environment."""
    return {
        UPSTREAM_VAR: upstream,
        "OCIGATE_CONFIG": str(routed_yaml(UPSTREAM_KEY)),
        "OCIGATE_MASTER_KEY": MASTER_KEY,
        "OCIGATE_DATA_DIR": str(data_dir("ocigate-routed")),
    }


def redis_problem(url: str = REDIS_URL, timeout: float = 1.0) -> str | None:
    """Why the Redis at ``url`` cannot be used (not reachable, no PONG), or None."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
    except OSError as exc:
        return f"Redis is not reachable at {host}:{port} ({exc.strerror or exc})"
    if not answer.startswith(b"+PONG"):
        return f"Redis at {host}:{port} did not answer PING: {answer[:60]!r}"
    return None


def make_servers(peers: list[str], gateway_env: dict[str, str], notes: list[str]) -> list[Server]:
    """Every target in measuring order; ``gateway_env`` (``--ocigate-env``) goes to every ocigate target."""
    py = sys.executable

    def gateway(port: int, _upstream: str) -> list[str]:
        return [py, "-m", "ocigate", "serve", "--port", str(port)]

    def bare(port: int, upstream: str) -> list[str]:
        return [py, str(BENCH / "bare_proxy.py"), "--port", str(port), "--upstream", upstream, "--key", UPSTREAM_KEY]

    servers = [
        Server("direct", emulator_cmd, LOAD_CORE, "/healthz", f"{EMULATOR_PREFIX}/chat/completions", UPSTREAM_KEY),
        Server("bare", bare, PROXY_CORE, "/healthz", "/v1/chat/completions", MASTER_KEY),
        Server(
            "ocigate",
            gateway,
            PROXY_CORE,
            "/readyz",
            "/v1/chat/completions",
            MASTER_KEY,
            env=gateway_env,
            upstream_env=ocigate_env,
            responses=True,
            messages=True,
            governance=Governed("master", usage=True, limiter="none"),
            dispatch_cost=True,
        ),
        Server(
            "ocigate-native",
            gateway,
            PROXY_CORE,
            "/readyz",
            "/v1/chat/completions",
            MASTER_KEY,
            env=gateway_env,
            upstream_env=native_env,
            responses=True,
            emulator_args=native_emulator_args,
            native_cost=True,
            disabled=NATIVE_DISABLED,
        ),
    ]
    # Keys, limits and usage on the hot path: (a) none, (b) a virtual key with every limit, (c) the same in Redis.
    for name, governance, redis in (
        ("ocigate-gov-off", Governed("master", usage=False, limiter="none"), False),
        ("ocigate-gov-on", Governed("virtual", usage=True, limiter="memory"), False),
        ("ocigate-gov-redis", Governed("virtual", usage=True, limiter="redis"), True),
    ):
        servers.append(
            Server(
                name,
                gateway,
                PROXY_CORE,
                "/readyz",
                "/v1/chat/completions",
                MASTER_KEY,  # the key the loads send is made before them
                env=gateway_env,
                upstream_env=governed_env(name, governance.usage, redis),
                governance=governance,
                ready=False,
                helper="redis-server" if redis else None,
                disabled=redis_problem() if redis else None,
            )
        )
    # Routing: one public model over two deployments (two providers at the same emulator).
    servers.append(
        Server(
            "ocigate-routed",
            gateway,
            PROXY_CORE,
            "/readyz",
            "/v1/chat/completions",
            MASTER_KEY,
            env=gateway_env,
            upstream_env=routed_env,
            deployments=ROUTED_DEPLOYMENTS,
            ready=False,
        )
    )
    if "litellm" in peers:
        litellm = litellm_server()
        if litellm is None:
            notes.append("litellm: skipped, not importable in this Python (the benchmark does not install it)")
        else:
            servers.append(litellm)
    return servers


def litellm_server() -> Server | None:
    """LiteLLM's proxy with one ``model_list`` entry at the emulator, or None when it is not installed here."""
    py = sys.executable
    executable = shutil.which("litellm", path=f"{Path(py).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if importlib.util.find_spec("litellm") is None or executable is None:
        return None
    exe: str = executable

    def litellm_cmd(port: int, up: str) -> list[str]:
        config = OUT / "litellm.yaml"
        config.write_text(
            "model_list:\n"
            f"  - model_name: {MODEL}\n"
            "    litellm_params:\n"
            f"      model: openai/{MODEL}\n"
            f"      api_base: {up}\n"
            f"      api_key: {UPSTREAM_KEY}\n"
            "litellm_settings:\n"
            "  telemetry: false\n"
        )
        return [exe, "--config", str(config), "--host", HOST, "--port", str(port), "--num_workers", "1"]

    return Server(
        "litellm",
        litellm_cmd,
        PROXY_CORE,
        "/health/liveliness",
        "/v1/chat/completions",
        MASTER_KEY,
        env={"LITELLM_LOG": "ERROR"},
    )


def server_env(server: Server, upstream: str) -> dict[str, str]:
    env = server.upstream_env(upstream) if server.upstream_env is not None else {}
    env.update(server.env)
    return clean_env(env)
