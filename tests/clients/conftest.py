"""The Node side of the client tests: newman and the OpenAI Node SDK, installed from tests/node's lockfile."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any gateway or Oracle setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_"))}
    env.update(extra)
    return env


def run_ocigate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ocigate", *args], env=env, capture_output=True, text=True, timeout=60)


def _installed() -> bool:
    # npm writes this hidden lockfile into node_modules at every install; it is older than the lockfile when
    # package-lock.json changed since.
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lockfile = NODE_DIR / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime


@pytest.fixture(scope="session")
def node_dir() -> Path:
    """tests/node with its node_modules installed (``npm ci``) when missing or older than the lockfile."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js is not installed: node and npm are needed to run newman and the OpenAI Node SDK")
    if not _installed():
        result = subprocess.run(
            [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci in {NODE_DIR} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return NODE_DIR
