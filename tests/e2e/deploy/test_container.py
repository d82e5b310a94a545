"""The container image (Containerfile), built by .ci/container and run the two ways tests/support/container.py
describes: with buildah, and with a read-only root filesystem. Each serves the bundled emulator to the OpenAI SDK
(a chat and a stream), as the image's non-root user, keeps its database in the /data volume, answers its own
HEALTHCHECK, and drains on SIGTERM; on 0.0.0.0 without OCIGATE_MASTER_KEY it refuses to start. Skipped unless
``$OCIGATE_TEST_IMAGE`` names a built image (CI makes it a failure with ``OCIGATE_REQUIRE_IMAGE=1``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.support.cluster import free_ports
from tests.support.container import MASTER, Image, Served, buildah, buildah_run, read_only_run, serve, working_container

MODEL = "meta.llama-3.3-70b-instruct"


@pytest.fixture(scope="module")
def image() -> Image:
    name = os.environ.get("OCIGATE_TEST_IMAGE")
    if not name:
        if os.environ.get("OCIGATE_REQUIRE_IMAGE") == "1":
            pytest.fail("OCIGATE_REQUIRE_IMAGE=1 but OCIGATE_TEST_IMAGE is not set")
        pytest.skip("no image to run: .ci/container builds one and sets OCIGATE_TEST_IMAGE")
    if shutil.which("buildah") is None:
        pytest.fail("OCIGATE_TEST_IMAGE is set but buildah is not installed")
    return Image.inspect(name)


@pytest.fixture(scope="module")
def container(image: Image) -> Iterator[tuple[str, Path]]:
    with working_container(image.name) as made:
        yield made


def data_volume(tmp_path: Path, user: int) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, user, user)
    return data


@pytest.fixture(params=["buildah-run", "read-only-root"])
def served(
    request: pytest.FixtureRequest, image: Image, container: tuple[str, Path], tmp_path: Path
) -> Iterator[Served]:
    name, root = container
    data = data_volume(tmp_path, image.user)
    (port,) = free_ports(1)
    args = ["ocigate", "serve", "--emulator", "--port", str(port)]
    env = {"OCIGATE_MASTER_KEY": MASTER}
    if request.param == "buildah-run":
        command = buildah_run(name, data, args, env)
    else:
        command = read_only_run(image, root, data, args, env)
    server = serve(command, tmp_path / "server.log", port, read_only=request.param == "read-only-root")
    try:
        server.wait_ready()
        yield server
    finally:
        if server.popen.poll() is None:
            server.stop()


def test_the_image_serves_the_openai_sdk_as_a_non_root_user(served: Served, image: Image) -> None:
    client = openai.OpenAI(base_url=f"{served.url}/v1", api_key=MASTER, max_retries=0, timeout=30)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello"}])
    assert reply.choices[0].message.content
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Count to three"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text
    pids = served.server_pids()
    assert pids, "the gateway's process was not found"
    for pid in pids:
        uids = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split("\n")[0].split()
        assert {int(uid) for uid in uids} == {image.user} != {0}  # real, effective, saved and filesystem
        assert ("ro" in served.root_mount(pid)) == served.read_only
    assert image.user != 0
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{served.url}/v1", api_key="wrong", max_retries=0).models.list()
    assert served.stop() == 0  # drained on SIGTERM, a clean exit
    assert "ocigate.db" in {p.name for p in (Path(served.log).parent / "data").iterdir()}  # state in the volume


def test_the_healthcheck_probes_the_gateway(served: Served, image: Image, container: tuple[str, Path]) -> None:
    healthcheck = image.config["Healthcheck"]
    test = list(healthcheck["Test"])  # type: ignore[index]
    assert test[0] == "CMD"
    probe = ["buildah", "run", "--isolation", "chroot", f"--env=OCIGATE_PORT={served.port}", container[0], "--"]
    assert subprocess.run([*probe, *test[1:]], capture_output=True, timeout=60).returncode == 0
    served.stop()
    assert subprocess.run([*probe, *test[1:]], capture_output=True, timeout=60).returncode != 0


def test_without_a_master_key_it_refuses_to_serve(image: Image, container: tuple[str, Path], tmp_path: Path) -> None:
    data = data_volume(tmp_path, image.user)
    done = subprocess.run(
        buildah_run(container[0], data, ["ocigate", "serve", "--emulator"], {}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "without OCIGATE_MASTER_KEY" in done.stderr


def test_the_final_stage_has_no_compiler_and_no_pip(image: Image, container: tuple[str, Path]) -> None:
    look = "for t in gcc cc c++ g++ clang ld as make pip pip3; do command -v $t; done; true"
    found = buildah("run", "--isolation", "chroot", container[0], "--", "sh", "-c", look)
    assert found == ""
    assert image.config["Volumes"] == {"/data": {}}
