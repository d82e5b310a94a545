"""Real servers on loopback for the tests: uvicorn in a background thread, on a free port; and the keys the
emulator accepts and the models the shared gateway serves (tests/e2e/conftest.py starts them)."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from typing import Literal

import uvicorn

from ocigate.app.runtime import Gateway, create_app
from ocigate.config.settings import load_settings
from ocigate.core.asgi import ASGIApp
from ocigate.emulator import EmulatorConfig, create_emulator_app

CHICAGO_KEY = "sk-emulator-chicago"
ASHBURN_KEY = "sk-emulator-ashburn"
NOPOLICY_KEY = "sk-emulator-nopolicy"
MODELS = (
    "openai.gpt-oss-120b,openai.gpt-oss-20b,xai.grok-3,xai.grok-4,meta.llama-3.3-70b-instruct,google.gemini-2.5-flash"
)


class ServerThread:
    def __init__(
        self, app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "on", tls: tuple[str, str] | None = None
    ) -> None:
        """``tls``: the certificate chain's and the private key's PEM files, to serve HTTPS."""
        self.scheme = "https" if tls else "http"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            lifespan=lifespan,
            log_level="warning",
            access_log=False,
            log_config=None,
            loop="asyncio",
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_emulator(config: EmulatorConfig | None = None, *, tls: tuple[str, str] | None = None) -> ServerThread:
    return ServerThread(create_emulator_app(config), lifespan="off", tls=tls).start()


def start_gateway(env: Mapping[str, str], *, config_file: str | None = None) -> tuple[ServerThread, Gateway]:
    """A gateway with its own data directory, unless the environment names one."""
    env = {"OCIGATE_DATA_DIR": tempfile.mkdtemp(prefix="ocigate-data-"), **env}
    app = create_app(load_settings(env, config_file=config_file))
    server = ServerThread(app).start()
    deadline = time.monotonic() + 10
    while not app.runtime.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    return server, app


GatewayFactory = Callable[..., tuple[ServerThread, Gateway]]
"""The ``gateway_factory`` fixture: ``factory(env, config_file=None)`` starts a gateway, stopped at the session's
end."""


def access_lines(app: Gateway, needle: str, count: int = 1, timeout: float = 5.0) -> list[str]:
    """The gateway's access lines containing ``needle``, once at least ``count`` of them were written (a line is
    written when its answer has been sent, which the client may see first), or what there is after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        app.runtime.access_log.flush()
        lines = [line for line in app.runtime.access_log.recent if needle in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)
