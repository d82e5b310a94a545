"""A gateway serving team keys from its default SQLite store never loads SQLAlchemy: key lookups, revocations and a
budget's starting spend are read with the standard library (``store/keys_sqlite.py``); only the admin API does.

The gateway runs as an operator runs it (``python -m ocigate serve`` in a process of its own, the key made with
``ocigate keys``), and what it loaded is read from outside, in ``/proc/<pid>/maps``: SQLAlchemy's compiled modules
are mapped into the process as soon as it is imported. The last step calls the admin API and sees them appear, so
the check is known to see them.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.cli import clean_env, serving
from tests.support.governance import MASTER, Admin, chat, gateway_env
from tests.support.servers import ServerThread

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")


def _ocigate(data_dir: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ocigate", *args],
        env=clean_env(OCIGATE_DATA_DIR=data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sqlalchemy_loaded(pid: int) -> bool:
    """Whether any of SQLAlchemy's files is mapped into the process."""
    return "/sqlalchemy/" in Path(f"/proc/{pid}/maps").read_text()


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[bytes]
    url: str
    secret: str
    key_id: str
    data_dir: str


@pytest.fixture
def served(emulator: ServerThread) -> Iterator[Served]:
    data_dir = tempfile.mkdtemp(prefix="ocigate-lean-")
    created = _ocigate(
        data_dir, "keys", "create", "lean", "--rpm", "1000", "--tpm", "10000000", "--max-concurrent", "8",
        "--budget", "100",
    )  # fmt: skip
    secret = re.search(r"^secret: (ogk-\S+)$", created, re.MULTILINE)
    key_id = re.search(r"^id: (\S+)$", created, re.MULTILINE)
    assert secret and key_id
    port = _free_port()
    env = clean_env(**gateway_env(emulator, OCIGATE_DATA_DIR=data_dir, OCIGATE_PORT=str(port)))
    with serving(env, port) as process:
        yield Served(process, f"http://127.0.0.1:{port}", secret[1], key_id[1], data_dir)


def test_team_keys_served_without_sqlalchemy(served: Served) -> None:
    process, url, secret, key_id, data_dir = served.process, served.url, served.secret, served.key_id, served.data_dir
    client = Admin(url).client(secret)
    assert chat(client).choices[0].finish_reason == "length"
    chunks = list(chat(client, stream=True))
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)
    with pytest.raises(openai.AuthenticationError):
        chat(Admin(url).client("ogk-" + "x" * 43))
    assert not sqlalchemy_loaded(process.pid)

    _ocigate(data_dir, "keys", "revoke", key_id)
    time.sleep(1.1)  # the key cache reads the store again after a second
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        chat(client)
    assert not sqlalchemy_loaded(process.pid)

    # The admin API loads the store, and the check sees it: the two requests served are recorded, a 401 has no key.
    reply = httpx.get(f"{url}/admin/usage?by=key", headers={"Authorization": f"Bearer {MASTER}"})
    assert reply.status_code == 200, reply.text
    rows = {row["key_id"]: row for row in reply.json()["data"]}
    assert rows[key_id]["requests"] == 2
    assert sqlalchemy_loaded(process.pid)
