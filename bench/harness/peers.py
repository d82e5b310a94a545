"""The peers the headline table measures beside ocigate, installed into a folder of their own (``bench/.peers/``,
not committed) from the package registries by ``python bench/run.py --install-peers``:

- LiteLLM's proxy: ``litellm[proxy]`` from PyPI, in a virtualenv of its own (``bench/.peers/litellm/``), so that its
  hundreds of dependencies never meet ocigate's;
- Portkey's gateway: ``@portkey-ai/gateway`` from npm (``bench/.peers/portkey/``), run with the machine's Node.

Both are configured the way their documentation says to reach an OpenAI-compatible upstream: LiteLLM with a
``model_list`` entry ``openai/<model>`` whose ``api_base`` is the emulator; Portkey with the headers
``x-portkey-provider: openai`` and ``x-portkey-custom-host: <the emulator's /v1>`` on each request (its
self-hosted gateway has no configuration file), the upstream key as the bearer token.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.layout import BENCH, HOST, log

PEERS = BENCH / ".peers"
LITELLM_DIR = PEERS / "litellm"
PORTKEY_DIR = PEERS / "portkey"
LITELLM_SPEC = "litellm[proxy]"
PORTKEY_SPEC = "@portkey-ai/gateway"


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer ready to run: its command (given its port), the path its chat route is at, and extra headers."""

    name: str
    command: list[str]
    ready_path: str
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def install_peers() -> list[str]:
    """Installs both peers (idempotent); returns what could not be installed, in words."""
    PEERS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    if not (LITELLM_DIR / "bin" / "litellm").exists():
        log(f"installing {LITELLM_SPEC} into {LITELLM_DIR} (a virtualenv of its own)")
        steps = [
            [sys.executable, "-m", "venv", str(LITELLM_DIR)],
            [str(LITELLM_DIR / "bin" / "pip"), "install", "-q", LITELLM_SPEC],
        ]
        problems += _run(steps, "litellm")
    if not (PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway").exists():
        if shutil.which("npm") is None:
            problems.append("portkey: npm is not installed")
        else:
            log(f"installing {PORTKEY_SPEC} into {PORTKEY_DIR}")
            PORTKEY_DIR.mkdir(parents=True, exist_ok=True)
            # Its published build fails every answer ("TypeError: immutable", Portkey-AI/gateway#1389) with the
            # @hono/node-server that npm picks today; the issue names 1.14.2 as the last that works. (On Node 20
            # here it still failed: the headline then skips Portkey and says why.)
            package = {"dependencies": {PORTKEY_SPEC: "^1.15.2"}, "overrides": {"@hono/node-server": "1.14.2"}}
            (PORTKEY_DIR / "package.json").write_text(json.dumps(package, indent=2) + "\n")
            steps = [["npm", "install", "--prefix", str(PORTKEY_DIR), "--no-audit", "--no-fund"]]
            problems += _run(steps, "portkey")
    return problems


def _run(steps: list[list[str]], name: str) -> list[str]:
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return [f"{name}: `{' '.join(step[:4])} …` failed: {lines[-1] if lines else done.returncode}"]
    return []


def litellm_peer(port: int, upstream: str, model: str, upstream_key: str, config: Path, master_key: str) -> Peer | None:
    """LiteLLM's proxy from bench/.peers/litellm, one worker, one model at the emulator, ``master_key`` its master
    key (it refuses to start without one, or with a weak one); None when not installed."""
    executable = LITELLM_DIR / "bin" / "litellm"
    if not executable.exists():
        return None
    config.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream}\n"
        f"      api_key: {upstream_key}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {master_key}\n"
    )
    command = [str(executable), "--config", str(config), "--host", HOST, "--port", str(port), "--num_workers", "1"]
    # The price map bundled with the package, rather than one fetched from GitHub at start (no network here).
    # No network here: its token counter would retry Hugging Face for a tokenizer on every first request.
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "HF_HUB_OFFLINE": "1"}
    return Peer("litellm", command, "/health/liveliness", env=env)


def portkey_peer(port: int, upstream: str) -> Peer | None:
    """Portkey's gateway from bench/.peers/portkey on Node; None when not installed."""
    package = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway"
    node = shutil.which("node")
    if node is None or not package.exists():
        return None
    start = next((p for p in (package / "build" / "start-server.js", package / "start-server.js") if p.exists()), None)
    if start is None:
        return None
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream}
    return Peer("portkey", [node, str(start), f"--port={port}"], "/", headers)
