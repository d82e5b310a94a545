"""``ocigate keys`` and ``ocigate usage``, run as an operator runs them, against the gateway's store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

import openai
import pytest

from tests.support.governance import Admin, chat, gateway_env
from tests.support.servers import ServerThread, start_gateway


def _ocigate(data_dir: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_"))}
    env["OCIGATE_DATA_DIR"] = data_dir
    done = subprocess.run(
        [sys.executable, "-m", "ocigate", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_keys_cli_round_trip(emulator: ServerThread) -> None:
    data_dir = tempfile.mkdtemp(prefix="ocigate-keys-cli-")
    created = _ocigate(data_dir, "keys", "create", "ci", "--team", "platform", "--rpm", "100", "--budget", "5")
    secret = re.search(r"^secret: (ogk-\S+)$", created, re.MULTILINE)
    key_id = re.search(r"^id: (\S+)$", created, re.MULTILINE)
    assert secret and key_id
    listed = _ocigate(data_dir, "keys", "list")
    assert key_id[1] in listed and "platform" in listed and secret[1] not in listed

    server, _ = start_gateway(gateway_env(emulator, OCIGATE_DATA_DIR=data_dir))
    try:
        client = Admin(server.url).client(secret[1])
        chat(client)
        rotated = re.search(r"^secret: (ogk-\S+)$", _ocigate(data_dir, "keys", "rotate", key_id[1]), re.MULTILINE)
        assert rotated and rotated[1] != secret[1]
        chat(Admin(server.url).client(rotated[1]))
        assert "revoked" in _ocigate(data_dir, "keys", "revoke", key_id[1])
        time.sleep(1.1)  # the key cache reads the store again after a second
        with pytest.raises(openai.AuthenticationError):
            chat(Admin(server.url).client(rotated[1]))
    finally:
        server.stop()
    report = _ocigate(data_dir, "usage", "--by", "key,model")
    row = next(line for line in report.splitlines() if key_id[1] in line)
    assert "(ci)" in row and row.split()[3] == "2", report  # the two requests served; a 401 has no key
