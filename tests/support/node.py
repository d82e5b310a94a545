"""Node.js for the client suites: newman and the OpenAI Node SDK, installed from tests/e2e/clients/node's lockfile."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "e2e" / "clients" / "node"


def _installed() -> bool:
    # npm writes this hidden lockfile into node_modules at every install; it is older than the lockfile when
    # package-lock.json changed since.
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lockfile = NODE_DIR / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime


def install_node_packages() -> None:
    """``npm ci`` in NODE_DIR when node_modules is missing or older than the lockfile; a skip without Node."""
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
