"""A port already taken: one line that names it and the settings that change it, and a non-zero exit, with no
"serving" line before it and no traceback."""

from __future__ import annotations

import socket

import pytest

from .helpers import clean_env, ocigate

pytestmark = pytest.mark.e2e


def test_a_busy_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        by_flag = ocigate("serve", "--port", str(port))
        by_env = ocigate("serve", env=clean_env(OCIGATE_PORT=str(port)))
    for result in (by_flag, by_env):
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.splitlines() == [
            f"ocigate serve: port {port} on 127.0.0.1 is already in use (another ocigate, or another program): stop "
            "it, or choose another port with --port or OCIGATE_PORT."
        ]


def test_an_address_of_another_machine_is_one_line() -> None:
    result = ocigate("serve", "--host", "192.0.2.1", "--port", "8080", env=clean_env(OCIGATE_MASTER_KEY="k"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ocigate serve: cannot listen on 192.0.2.1: it is not an address of this machine; check --host or OCIGATE_HOST."
    ]
