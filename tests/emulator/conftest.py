"""Runs real emulators with uvicorn on loopback, each in a thread with its own event loop.

The fixtures are named ``emu_*`` so that they never shadow the gateway suite's fixtures in tests/conftest.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest
import uvicorn

from ocigate.emulator import DEFAULT_KEY, EmulatorConfig, create_emulator_app

COMPAT = "/20231130/actions/v1"
OPENAI = "/openai/v1"
PROJECT = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaexample"
SEED = 20231130


@contextmanager
def serve(config: EmulatorConfig) -> Iterator[str]:
    """The emulator's base URL, served until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_emulator_app(config), lifespan="off", http="httptools", log_level="critical")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def emu_url() -> Iterator[str]:
    with serve(EmulatorConfig(seed=SEED)) as url:
        yield url


@pytest.fixture(scope="session")
def emu_http(emu_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def emu_client(emu_url: str) -> openai.OpenAI:
    """The OpenAI SDK on the older base, which needs no project."""
    return openai.OpenAI(base_url=emu_url + COMPAT, api_key=DEFAULT_KEY, max_retries=0, timeout=10)


@pytest.fixture(scope="session")
def emu_project_client(emu_url: str) -> openai.OpenAI:
    """The OpenAI SDK on the current base, with a project OCID."""
    return openai.OpenAI(base_url=emu_url + OPENAI, api_key=DEFAULT_KEY, project=PROJECT, max_retries=0, timeout=10)


@pytest.fixture
def emu_aclient(emu_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=emu_url + OPENAI, api_key=DEFAULT_KEY, project=PROJECT, max_retries=0)


def auth(key: str = DEFAULT_KEY, project: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if project is not None:
        headers["OpenAI-Project"] = project
    return headers
