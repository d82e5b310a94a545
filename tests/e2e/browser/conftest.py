"""Fixtures of the browser tests: Debian's Chromium and ``playwright-core`` (installed when missing, under a file
lock so that parallel runs do not collide; a machine where that is impossible fails with the reason instead of
skipping), and a gateway with a master key in front of the emulator. The walk itself is tests/support/browser.py.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.browser import BROWSER_DIR, MASTER, MODELS
from tests.support.servers import ServerThread, start_gateway

ARTIFACTS = BROWSER_DIR / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by every test process on this machine (a file in the temporary directory)."""
    path = Path(tempfile.gettempdir()) / f"ocigate-{name}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], what: str, *, timeout: float, env: dict[str, str] | None = None) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{what}: `{' '.join(command)}` could not run: {exc}")
    if result.returncode != 0:
        pytest.fail(
            f"{what}: `{' '.join(command)}` failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )


def apt_install(package: str, why: str) -> None:
    """``apt-get install`` of a Debian package, or a test failure that says what to do by hand."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        reason = "apt-get is not available" if apt is None else "the tests do not run as root"
        pytest.fail(f"{why}, and {reason} to install it: run `apt-get install {package}` (Debian) first.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=300"]  # another apt-get (CI's own installs) holds dpkg's lock: wait
    _run([apt, *wait, "update", "-qq"], f"installing {package}", timeout=600, env=env)
    _run([apt, *wait, "install", "-y", "-qq", package], f"installing {package}", timeout=900, env=env)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing."""
    if not CHROMIUM.exists():
        with machine_lock("chromium-install"):
            if not CHROMIUM.exists():
                apt_install("chromium", f"The browser tests need Chromium at {CHROMIUM}")
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium, but {CHROMIUM} is still missing.")
    return CHROMIUM


def _npm_installed() -> bool:
    # npm writes this hidden lockfile into node_modules at every install; it is older than the lockfile when
    # package-lock.json changed since.
    marker = BROWSER_DIR / "node_modules" / ".package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= (BROWSER_DIR / "package-lock.json").stat().st_mtime


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js with tests/browser's packages (playwright-core) installed by ``npm ci`` when missing or stale."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("The browser tests need Node.js 20 or later with npm (they drive Chromium with playwright-core).")
    if not _npm_installed():
        with machine_lock("browser-npm-ci"):
            if not _npm_installed():
                command = [npm, "ci", "--prefix", str(BROWSER_DIR), "--no-audit", "--no-fund"]
                _run(command, "installing playwright-core", timeout=600)
    return node


@pytest.fixture(scope="module")
def admin_gateway(emulator: ServerThread) -> Iterator[ServerThread]:
    """A gateway with a master key (and so the admin page and API) in front of the Chicago emulator."""
    env = {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": "sk-emulator-chicago",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": ",".join(MODELS),
        "OCIGATE_MASTER_KEY": MASTER,
        "OCIGATE_DISCOVERY_INTERVAL": "0",
    }
    server, _ = start_gateway(env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/e2e/browser/artifacts: screenshots (git ignores the folder)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
