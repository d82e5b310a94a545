"""The emulator served on its own for its suites: uvicorn on loopback in a thread with its own event loop, the two
OpenAI-compatible bases, and the headers Oracle's API keys are sent with."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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


def auth(key: str = DEFAULT_KEY, project: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if project is not None:
        headers["OpenAI-Project"] = project
    return headers
