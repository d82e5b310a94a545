"""The gateway as an OCI Function, run the way OCI Functions runs it, with a stand-in for API Gateway in front.

:class:`FunctionContainer` starts the FDK's own runtime in a subprocess, as the function image's
entrypoint does (``python -m ocigate.functions deploy/functions/func.py handler``: the FDK's launcher, see
``ocigate/functions/launch.py``), with the variables the Functions agent sets (``FN_FORMAT``, ``FN_LISTENER``...)
and the function's configuration; the FDK listens on that Unix socket.
:class:`ApiGatewayFront` is an ASGI app on loopback that does what API Gateway and the Functions agent do for a
function back end: each client request becomes ``POST /call`` on the socket, its method, path and headers sent as
``Fn-Http-Method``, ``Fn-Http-Request-Url`` and ``Fn-Http-H-*`` (``Fn-Intent: httprequest``), and the function's
``Fn-Http-Status`` and ``Fn-Http-H-*`` become the client's answer. The OpenAI SDK is the client.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx

from ocigate.core.asgi import Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
FUNC_PY = ROOT / "deploy" / "functions" / "func.py"
LAUNCH = [sys.executable, "-m", "ocigate.functions"]
"""The image's entrypoint (deploy/functions/Dockerfile), with this interpreter."""


class FunctionContainer:
    """One hot function container: the FDK runtime serving ``func.py``'s handler on a Unix socket."""

    def __init__(self, folder: Path, config: dict[str, str]) -> None:
        self.socket = folder / "iofs" / "lsnr.sock"
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.log = folder / "function.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_", "OCI_", "FN_"))}
        env.update(
            FN_FORMAT="http-stream",
            FN_LISTENER=f"unix:{self.socket}",
            FN_APP_ID="ocid1.fnapp.oc1..app",
            FN_FN_ID="ocid1.fnfunc.oc1..fn",
            FN_APP_NAME="gateway",
            FN_FN_NAME="ocigate",
            FN_MEMORY="512",
            **config,
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - the image's entrypoint, as the agent starts it
                [*LAUNCH, str(FUNC_PY), "handler"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the function did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def fn_headers(method: str, url: str, headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers of the agent's ``POST /call`` for one client request (Fn's http-stream contract)."""
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    out = {
        "Fn-Intent": "httprequest",
        "Fn-Http-Method": method,
        "Fn-Http-Request-Url": url,
        "Fn-Call-Id": uuid.uuid4().hex,
        "Fn-Deadline": deadline.isoformat(),
    }
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in ("host", "content-length", "connection", "transfer-encoding"):
            continue
        if name.lower() == "content-type":
            out["Content-Type"] = value
        out[f"Fn-Http-H-{name}"] = value
    return out


class ApiGatewayFront:
    """API Gateway and the Functions agent in one: client HTTP in, ``POST /call`` on the function's socket."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message: Message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = scope["raw_path"].decode("latin-1") + (
            f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
        )
        headers = fn_headers(scope["method"], url, scope["headers"])
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket))
        async with httpx.AsyncClient(transport=transport, timeout=120) as agent:
            reply = await agent.post("http://function/call", content=bytes(body), headers=headers)
        self.calls += 1
        status = int(reply.headers.get("fn-http-status", reply.status_code))
        out = [(b"content-type", reply.headers.get("content-type", "application/octet-stream").encode())]
        for name, value in reply.headers.multi_items():
            if name.lower().startswith("fn-http-h-"):
                out.append((name[len("fn-http-h-") :].lower().encode(), value.encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": reply.content})
