"""Three ``python -m ocigate serve`` processes in front of one ``ocigate emulator`` process, sharing this machine's
Postgres (a fresh database) and Redis (database 13), and a ledger of every answer the tests got from them: the
processes and how they are started, waited for and cleaned up after (the ``cluster`` fixture of
tests/e2e/scale/conftest.py runs them)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

MASTER = "gw-scale-master"
MODEL = "meta.llama-3.3-70b-instruct"
OTHER_MODEL = "xai.grok-4"
REDIS_URL = "redis://127.0.0.1:6379/13"
"""A database index of its own; only the counters of the keys these tests create are deleted afterwards."""
EMULATOR_KEY = "sk-emulator-chicago"
STREAM_DELAY_S = 0.01
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now (held open together, so none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Process:
    name: str
    url: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


@dataclass
class Ledger:
    """Every answer a gateway's ``/v1`` gave the tests, by the key it was sent with (None: the master key)."""

    answers: Counter[tuple[str | None, int]] = field(default_factory=Counter)
    unanswered: int = 0
    """Requests that got no HTTP answer (a timeout, a dropped connection): the gateway may have recorded them."""
    tokens: Counter[str | None] = field(default_factory=Counter)
    """Prompt plus completion tokens of the successful answers, from their ``usage`` objects."""

    def record(self, key_id: str | None, response: httpx.Response) -> None:
        self.answers[(key_id, response.status_code)] += 1
        if response.status_code == 200:
            self.tokens[key_id] += tokens_of(response)


def tokens_of(response: httpx.Response) -> int:
    """Prompt plus completion tokens of a successful answer: its ``usage``, or a stream's usage chunk."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        usage = None
        for line in response.text.splitlines():
            if line.startswith("data: {"):
                usage = json.loads(line[len("data: ") :]).get("usage") or usage
        assert response.text.rstrip().endswith("data: [DONE]"), response.text[-200:]
    else:
        usage = response.json().get("usage")
    assert isinstance(usage, dict), response.text[-500:]
    return int(usage["prompt_tokens"]) + int(usage["completion_tokens"])


@dataclass
class Cluster:
    emulator: Process
    gateways: list[Process]
    database_url: str
    ledger: Ledger = field(default_factory=Ledger)
    key_ids: list[str] = field(default_factory=list)
    """Every key created, so that their Redis counters can be deleted afterwards."""
    stopped: bool = False

    def logs(self) -> str:
        return "\n".join(p.log_tail() for p in (*self.gateways, self.emulator))


def spawn(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ocigate", *args], env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )


def wait_for(process: Process, path: str, ok: tuple[int, ...], deadline: float) -> None:
    while True:
        try:
            if httpx.get(f"{process.url}{path}", timeout=2).status_code in ok:
                return
        except httpx.TransportError:
            pass
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}\n{process.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not become ready\n{process.log_tail()}")
        time.sleep(0.05)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCI_", "OCIGATE_"))}


def counter_name(key_id: str, what: str) -> str:
    """A key's counter in Redis, named as ``RedisBackend`` names it (``ocigate:{key_id}:rpm``, ``…:budget:total``)."""
    return f"ocigate:{{{key_id}}}:{what}"


def delete_counters(key_ids: list[str]) -> None:
    client: redis.Redis = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        for key_id in key_ids:
            names = list(client.scan_iter(match=counter_name(key_id, "*"), count=100))
            if names:
                client.delete(*names)
    finally:
        client.close()


def warm_up(cluster: Cluster) -> None:
    """One request of a limited key through each gateway, so that each has opened what it opens on first need
    (the database, the Redis script connection, the upstream connection) before the tests race them."""
    headers = {"Authorization": f"Bearer {MASTER}"}
    created = httpx.post(
        f"{cluster.gateways[0].url}/admin/keys",
        json={"name": "scale-warm-up", "rpm": 1000},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    key_id, secret = created.json()["id"], created.json()["secret"]
    cluster.key_ids.append(key_id)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16}
    for gateway in cluster.gateways:
        try:
            reply = httpx.post(
                f"{gateway.url}/v1/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            cluster.ledger.unanswered += 1
            raise AssertionError(f"{gateway.name} gave no answer ({exc!r})\n{gateway.log_tail()}") from exc
        cluster.ledger.record(key_id, reply)
        assert reply.status_code == 200, reply.text


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The OpenAI-style error object of an answer, checked for its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"], error
    return error
