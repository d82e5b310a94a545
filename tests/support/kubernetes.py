"""The Kubernetes manifests as a cluster would receive them: deploy/kubernetes/overlays rendered by kustomize.

No cluster runs here; what can be checked without one is what kustomize renders. The renderer is
``$OCIGATE_KUSTOMIZE`` (a ``kubectl`` or ``kustomize`` binary, as .ci/kubernetes installs it), else one on the
PATH; ``None`` when there is none, and the tests that need it skip, unless ``OCIGATE_REQUIRE_KUSTOMIZE=1`` (CI)
makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("single", "ha")


def renderer() -> list[str] | None:
    """The command that renders a kustomization directory given after it."""
    given = os.environ.get("OCIGATE_KUSTOMIZE")
    found = given or shutil.which("kubectl") or shutil.which("kustomize")
    if not found:
        if os.environ.get("OCIGATE_REQUIRE_KUSTOMIZE") == "1":
            pytest.fail("OCIGATE_REQUIRE_KUSTOMIZE=1, but no kubectl or kustomize found (set OCIGATE_KUSTOMIZE)")
        pytest.skip("no kubectl or kustomize to render deploy/kubernetes (.ci/kubernetes installs one)")
    return [found, "kustomize"] if Path(found).name.startswith("kubectl") else [found, "build"]


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's manifests, one dict each."""
    command = renderer()
    assert command is not None
    done = subprocess.run(
        [*command, str(KUBERNETES / "overlays" / overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The only manifest of ``kind``."""
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} manifests"
    return found[0]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's environment by name: each entry as written (``value`` or ``valueFrom``)."""
    return {entry["name"]: entry for entry in container.get("env", [])}


def image_user() -> int:
    """The numeric user the Containerfile's final stage runs as."""
    users = [line.split()[1] for line in (ROOT / "Containerfile").read_text().splitlines() if line.startswith("USER ")]
    return int(users[-1].split(":")[0])
