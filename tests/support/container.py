"""The container image as a process on this machine: a buildah working container, run in one of two ways.

``buildah run --isolation chroot`` is how these machines run an image (``podman run`` cannot start containers
here); it shares the host's network, so the gateway is reached on 127.0.0.1. It cannot run with a read-only root
(it creates files in the root before it starts, and fails on a read-only one), so the second way runs the same
root filesystem as a container runtime with ``readOnlyRootFilesystem`` would: in a mount namespace of its own, the
root bound read-only, a tmpfs on /tmp and the data volume bound on /data, the image's user and environment,
with ``unshare``, ``mount`` and ``chroot`` (util-linux and coreutils). Both need root, as CI runs.

The image is ``$OCIGATE_TEST_IMAGE`` (.ci/container builds it and sets it); without it the tests skip.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 40.0
MASTER = "ci-container-master"


def buildah(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)}: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


@dataclass
class Image:
    name: str
    config: dict[str, object]
    """The image's Docker-format config: User, Env, Healthcheck, Volumes, Entrypoint."""

    @staticmethod
    def inspect(name: str) -> Image:
        found = json.loads(buildah("inspect", "--type", "image", name))
        return Image(name, dict(found["Docker"]["config"]))

    @property
    def user(self) -> int:
        return int(str(self.config["User"]).split(":")[0])

    @property
    def env(self) -> list[str]:
        return [str(entry) for entry in self.config["Env"]]  # type: ignore[attr-defined]


@contextmanager
def working_container(image: str) -> Iterator[tuple[str, Path]]:
    """A working container of ``image`` and its mounted root filesystem; removed afterwards."""
    container = buildah("from", "--pull-never", "--quiet", image)
    try:
        yield container, Path(buildah("mount", container))
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, timeout=120, check=False)


@dataclass
class Served:
    """A gateway served from the image: the launcher process, its log, and the port it listens on."""

    popen: subprocess.Popen[bytes]
    log: Path
    port: int
    read_only: bool = False

    def root_mount(self, pid: int) -> list[str]:
        """The options of the root filesystem as the gateway's process ``pid`` sees it (``ro`` or ``rw`` first)."""
        options: list[str] = []
        for line in Path(f"/proc/{pid}/mounts").read_text().splitlines():
            fields = line.split()
            if fields[1] == "/":
                options = fields[3].split(",")
        return options

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def server_pids(self) -> list[int]:
        """The gateway's processes, found by their command line (``… serve --emulator --port N``)."""
        wanted = ["serve", "--emulator", "--port", str(self.port)]
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv[-5:-1] == wanted and any(arg.endswith("python3") for arg in argv[:1]):
                found.append(int(entry.name))
        return found

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"the image exited with {self.popen.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the image did not become ready:\n{self.log_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM to the gateway itself (buildah run does not forward signals); the launcher's exit status."""
        for pid in self.server_pids():
            os.kill(pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
            raise


def buildah_run(container: str, data: Path, args: list[str], env: dict[str, str]) -> list[str]:
    """``buildah run`` with the data volume and a tmpfs on /tmp."""
    flags = [f"--env={name}={value}" for name, value in env.items()]
    return [
        "buildah", "run", "--isolation", "chroot", "--mount", "type=tmpfs,destination=/tmp",
        "--volume", f"{data}:/data", *flags, container, "--", *args,
    ]  # fmt: skip


def read_only_run(image: Image, root: Path, data: Path, args: list[str], env: dict[str, str]) -> list[str]:
    """The root filesystem read-only, as Kubernetes' ``readOnlyRootFilesystem`` runs it (module docstring)."""
    environment = [*image.env, *(f"{name}={value}" for name, value in env.items())]
    inside = " ".join(shlex.quote(part) for part in ["/usr/bin/env", "-i", *environment, *args])
    r = shlex.quote(str(root))
    script = (
        f"mount --make-rprivate / && mount --bind {r} {r} && mount -o remount,bind,ro {r}"
        f" && mount -t tmpfs -o size=64m,mode=1777 tmpfs {r}/tmp && mount --bind {shlex.quote(str(data))} {r}/data"
        f" && mount --rbind /dev {r}/dev && mount -t proc proc {r}/proc"
        f" && exec chroot --userspec={image.user}:{image.user} {r} sh -c {shlex.quote(f'cd /data && exec {inside}')}"
    )
    return ["unshare", "--mount", "--fork", "sh", "-c", script]


def serve(command: list[str], log: Path, port: int, *, read_only: bool) -> Served:
    with log.open("wb") as out:
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Served(popen, log, port, read_only)
