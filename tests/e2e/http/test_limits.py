"""The HTTP limits, against a real ``ocigate serve`` (its embedded emulator) over raw sockets on loopback.

Timeouts are shortened through the environment (header and body 1 s, keep-alive 1 s), so each test waits a couple
of seconds at most; every flood is bounded in bytes and seconds.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
SHORT = {"OCIGATE_HEADER_TIMEOUT": "1", "OCIGATE_BODY_TIMEOUT": "1", "OCIGATE_KEEPALIVE_TIMEOUT": "1"}
CAP = 8
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"


@dataclass
class Gateway:
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode()

    def peak_rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        assert match
        return int(match.group(1)) * 1024

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection((HOST, self.port), timeout=timeout)


@contextmanager
def serving(extra: dict[str, str], *, fd_limit: int | None = None) -> Iterator[Gateway]:
    """``ocigate serve`` with ``extra`` environment; ``fd_limit`` is its soft and hard ``ulimit -n``."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCI_", "OCIGATE_"))}
    env.update({"OCIGATE_DATA_DIR": tempfile.mkdtemp(prefix="ocigate-limits-"), "OCIGATE_NO_ACCESS_LOG": "1", **extra})
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ocigate", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=output,
            preexec_fn=None
            if fd_limit is None
            else lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit)),
        )
        gateway = Gateway(port, process, output)
        try:
            deadline = time.monotonic() + 30
            while _status(gateway, b"GET /readyz HTTP/1.1\r\nHost: test\r\n\r\n") != 200:
                assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.05)
            yield gateway
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with serving(SHORT) as started:
        yield started


def _status(gateway: Gateway, request: bytes) -> int | None:
    try:
        with gateway.connect(timeout=2) as sock:
            sock.sendall(request)
            return _read_answer(sock)[0]
    except OSError:
        return None


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP answer: status, headers, body (by content-length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    """Everything the gateway still sends until it closes the connection, which must happen within ``seconds``."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _error_code(body: bytes) -> str:
    error = json.loads(body)["error"]
    assert error["message"] and error["type"]
    return str(error["code"])


def test_a_100_kb_header_gets_431_at_once_and_the_connection_closes(gateway: Gateway) -> None:
    started = time.monotonic()
    with gateway.connect() as sock:
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: " + b"a" * 100_000 + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway may close before the last bytes; its answer is still there to read
        status, headers, body = _read_answer(sock)
        assert status == 431 and headers["connection"] == "close"
        assert _error_code(body) == "request_header_fields_too_large"
        assert _closed_within(sock, 2) == b""
    assert time.monotonic() - started < 2


def test_an_endless_header_is_never_held_in_memory(gateway: Gateway) -> None:
    before = gateway.peak_rss_bytes()
    sent = 0
    with gateway.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: ")
        chunk = b"a" * (1 << 20)
        deadline = time.monotonic() + 3
        with pytest.raises(OSError):  # refused long before 64 MB or 3 s
            while sent < 64 << 20 and time.monotonic() < deadline:
                sent += sock.send(chunk)
            raise AssertionError(f"the gateway took {sent} bytes of one header in 3 s")
    assert gateway.peak_rss_bytes() - before < 8 << 20


def test_an_endless_trailer_after_a_chunked_body_gets_431(gateway: Gateway) -> None:
    sent = 0
    with gateway.connect() as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\nX-Trailer: "
        )
        chunk = b"a" * 65536
        deadline = time.monotonic() + 3
        try:
            while sent < 64 << 20 and time.monotonic() < deadline:
                sent += sock.send(chunk)
        except OSError:
            pass
        status, _, body = _read_answer(sock)
    assert status == 431 and _error_code(body) == "request_header_fields_too_large"
    assert sent < 16 << 20


def test_headers_and_a_large_body_in_one_read_are_not_mistaken_for_a_large_header(gateway: Gateway) -> None:
    body = json.dumps({"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "x" * 200_000}]})
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"X-Pad: {'a' * 60_000}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with gateway.connect(timeout=30) as sock:
        sock.sendall(head.encode() + body.encode())
        status, _, answer = _read_answer(sock)
    assert status == 200, answer


def test_half_a_header_then_silence_gets_408_after_the_header_timeout(gateway: Gateway) -> None:
    with gateway.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: te")
        started = time.monotonic()
        status, _, body = _read_answer(sock)
        waited = time.monotonic() - started
        assert status == 408 and _error_code(body) == "request_timeout"
        assert _closed_within(sock, 2) == b""
    assert 0.8 < waited < 3


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(gateway: Gateway) -> None:
    with gateway.connect() as sock:
        started = time.monotonic()
        assert _closed_within(sock, 4) == b""
    assert 0.8 < time.monotonic() - started < 3


def test_a_stalled_body_gets_408_after_the_body_timeout(gateway: Gateway) -> None:
    with gateway.connect() as sock:
        sock.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{"mod')
        started = time.monotonic()
        status, _, body = _read_answer(sock)
        waited = time.monotonic() - started
        assert status == 408 and _error_code(body) == "request_timeout"
        assert _closed_within(sock, 2) == b""  # and nothing after the 408, such as the app's own answer
    assert 0.8 < waited < 3


def test_a_slow_body_that_keeps_coming_is_served(gateway: Gateway) -> None:
    body = json.dumps({"model": "openai.gpt-oss-120b", "messages": [{"role": "user", "content": "hello"}]}).encode()
    with gateway.connect() as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n" % len(body))
        pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
        step = 2.0 / len(pieces)  # two body timeouts in all, never a quarter of one without progress
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(step)
        status, _, answer = _read_answer(sock)
    assert status == 200, answer


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(gateway: Gateway) -> None:
    with gateway.connect() as sock:
        sock.sendall(HEALTHZ)
        assert _read_answer(sock)[0] == 200
        started = time.monotonic()
        assert _closed_within(sock, 4) == b""
    assert time.monotonic() - started < 3  # uvicorn's own default is 5 s


def test_connections_over_the_cap_are_refused_while_open_ones_are_served() -> None:
    with serving({"OCIGATE_MAX_CONNECTIONS": str(CAP)}) as capped:
        time.sleep(0.2)  # the readiness probes' connections are gone
        held = [capped.connect() for _ in range(CAP)]
        try:
            for sock in held:
                sock.sendall(HEALTHZ)
                assert _read_answer(sock)[0] == 200
            with capped.connect() as extra:
                status, headers, body = _read_answer(extra)
                assert status == 503 and headers["retry-after"] == "1"
                assert _error_code(body) == "too_many_connections"
                assert _closed_within(extra, 2) == b""
            for sock in held:
                sock.sendall(HEALTHZ)
                assert _read_answer(sock)[0] == 200
            held.pop().close()
            time.sleep(0.2)
            assert _status(capped, HEALTHZ) == 200  # a slot freed is a slot given
        finally:
            for sock in held:
                sock.close()


def test_the_cap_fits_the_file_descriptor_limit() -> None:
    with serving({}, fd_limit=400) as gateway:
        time.sleep(0.2)  # the readiness probes' connections are gone
        refused = 0
        held = [gateway.connect() for _ in range(80)]
        try:
            for sock in held:
                sock.sendall(HEALTHZ)
                try:
                    refused += _read_answer(sock)[0] == 503
                except OSError:
                    refused += 1
        finally:
            for sock in held:
                sock.close()
        assert "capping connections at 72" in gateway.output()
    assert refused == 80 - 72


def _flood(gateway: Gateway, stop: threading.Event, tally: list[int]) -> None:
    """An endless header as fast as the gateway reads it, reconnecting whenever it is closed; at most 3 s, 2 GB."""
    chunk = b"a" * 65536
    deadline = time.monotonic() + 3
    while not stop.is_set() and time.monotonic() < deadline and sum(tally) < 2 << 30:
        with gateway.connect(timeout=0.2) as sock:
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nX-Pad: ")
                while not stop.is_set() and time.monotonic() < deadline:
                    tally.append(sock.send(chunk))
            except OSError:
                pass


def test_healthz_keeps_answering_while_a_client_floods_a_header(gateway: Gateway) -> None:
    stop, tally = threading.Event(), [0]
    flood = threading.Thread(target=_flood, args=(gateway, stop, tally))
    flood.start()
    latencies: list[float] = []
    try:
        time.sleep(0.2)
        while flood.is_alive() and len(latencies) < 100:
            started = time.monotonic()
            assert _status(gateway, HEALTHZ) == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.01)
    finally:
        stop.set()
        flood.join(timeout=10)
    assert sum(tally) > 1 << 20 and len(latencies) >= 20
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
