"""A gateway in front of an upstream (here Oracle's OpenAI-compatible API, played by the emulator) loads none of the
bundled emulator, ``cryptography``, the native provider and PyYAML: the emulator is imported only when it is embedded
(``app/emulated.py``), ``cryptography`` only when a provider signs (or the emulator checks a signature), the native
provider and its translation only when one is configured, PyYAML only for a config file or ``/openapi.json``.
Together they were some 9 MB of the serving process's resident memory.

The gateway runs as an operator runs it (``python -m ocigate serve``, a team key made with ``ocigate keys``), and
what it loaded is read from outside, in ``/proc/<pid>/maps``, where ``cryptography``'s compiled module appears as
soon as it is imported. The emulator's modules are Python, which ``maps`` does not show: a fresh interpreter builds
and starts the gateway, serves a request, and lists its modules. Each check is also run on a gateway with no
upstream, which embeds the emulator, so that it is known to see what it looks for.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.support.cli import clean_env, serving
from tests.support.governance import MASTER, MODEL, Admin, chat, gateway_env
from tests.support.servers import ServerThread

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")

LOADED = (
    "import asyncio, json, os, sys\n"
    "import httpx\n"
    "from ocigate.app.runtime import create_app\n"
    "from ocigate.config.settings import load_settings\n"
    "async def main():\n"
    "    app = create_app(load_settings(os.environ))\n"
    "    await app.runtime.start()\n"
    "    await app.runtime.discovery\n"
    "    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='http://gw') as client:\n"
    "        body = {'model': sys.argv[1], 'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 8}\n"
    "        auth = {'Authorization': 'Bearer ' + os.environ['OCIGATE_MASTER_KEY']}\n"
    "        status = (await client.post('/v1/chat/completions', json=body, headers=auth)).status_code\n"
    "    await app.runtime.stop()\n"
    "    return status\n"
    "status = asyncio.run(main())\n"
    "prefixes = ('ocigate.emulator', 'cryptography', 'bcrypt', 'ocigate.providers.oracle.native', 'yaml',\n"
    "            'ocigate.governance.limits.redis')\n"
    "print(json.dumps([status, sorted(m for m in sys.modules if m.startswith(prefixes))]))\n"
)


def _ocigate(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ocigate", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _loaded(env: dict[str, str], model: str) -> tuple[int, list[str]]:
    """The status of a chat request through a gateway built and started in a fresh interpreter, and the emulator's
    and ``cryptography``'s modules it then holds."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED, model], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    status, modules = json.loads(done.stdout.splitlines()[-1])
    return status, modules


def _crypto_mapped(pid: int) -> bool:
    return "/cryptography/" in Path(f"/proc/{pid}/maps").read_text()


@contextmanager
def _serve(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = int(env["OCIGATE_PORT"])
    with serving(env, port) as process:
        yield process, f"http://127.0.0.1:{port}"


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.fixture
def upstream_env(emulator: ServerThread) -> dict[str, str]:
    return clean_env(**gateway_env(emulator, OCIGATE_DATA_DIR=tempfile.mkdtemp(prefix="ocigate-lean-")))


@pytest.fixture
def embedded_env() -> dict[str, str]:
    return clean_env(OCIGATE_MASTER_KEY=MASTER, OCIGATE_DATA_DIR=tempfile.mkdtemp(prefix="ocigate-lean-"))


def test_a_served_upstream_maps_no_cryptography(upstream_env: dict[str, str]) -> None:
    created = _ocigate(upstream_env, "keys", "create", "lean", "--team", "t", "--rpm", "1000", "--budget", "100")
    secret = re.search(r"^secret: (ogk-\S+)$", created, re.MULTILINE)
    assert secret
    with _serve({**upstream_env, "OCIGATE_PORT": _free_port()}) as (process, url):
        assert chat(Admin(url).client(secret[1])).choices[0].finish_reason == "length"
        assert any(c.choices and c.choices[0].finish_reason for c in chat(Admin(url).client(MASTER), stream=True))
        metrics = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {MASTER}"})
        assert metrics.status_code == 200
        assert not _crypto_mapped(process.pid)


def test_the_embedded_emulator_maps_cryptography(embedded_env: dict[str, str]) -> None:
    with _serve({**embedded_env, "OCIGATE_PORT": _free_port()}) as (process, url):
        assert chat(Admin(url).client(MASTER)).choices[0].finish_reason == "length"
        assert _crypto_mapped(process.pid)


def test_a_gateway_in_front_of_an_upstream_loads_no_emulator(upstream_env: dict[str, str]) -> None:
    assert _loaded(upstream_env, MODEL) == (200, [])


def test_a_gateway_that_embeds_the_emulator_loads_it(embedded_env: dict[str, str]) -> None:
    status, modules = _loaded(embedded_env, MODEL)
    assert status == 200
    assert {"ocigate.emulator", "ocigate.emulator.signing", "cryptography", "ocigate.providers.oracle.native"} <= set(
        modules
    )  # the emulator's embeddings are served by a native provider (``oci``)
