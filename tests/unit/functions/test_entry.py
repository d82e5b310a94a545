"""What the FDK hands the entrypoint (ocigate.functions.entry): the client's request, rebuilt from the context
the FDK's own code makes of an API Gateway call's ``Fn-*`` headers; and the image's entrypoint, as deployed."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import yaml

from ocigate.functions.entry import invocation
from ocigate.functions.fdk_api import constants, context
from tests.support.functions import FUNC_PY, LAUNCH, fn_headers

DEPLOY = Path(FUNC_PY).parent


def fdk_context(headers: dict[str, str], body: bytes) -> tuple[context.InvokeContext, io.BytesIO]:
    """The context exactly as the FDK's runner makes it from the agent's headers (lower-cased by its parser)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    ctx, data = context.context_from_format(constants.HTTPSTREAM, headers=lowered, data=io.BytesIO(body))
    return ctx, data


def test_an_api_gateway_call_becomes_the_clients_request() -> None:
    client_headers = [(b"Authorization", b"Bearer sk-team"), (b"Content-Type", b"application/json"), (b"X-Trace", b"t")]
    headers = fn_headers("POST", "/ocigate/v1/chat/completions?q=1", client_headers)
    ctx, data = fdk_context(headers, b'{"model": "m"}')
    request = invocation(ctx, data)
    assert request.method == "POST" and request.url == "/ocigate/v1/chat/completions?q=1"
    assert request.body == b'{"model": "m"}'
    found = dict(request.headers)
    assert found[b"authorization"] == b"Bearer sk-team" and found[b"x-trace"] == b"t"
    assert not any(name.startswith(b"fn-") for name in found)  # the agent's own headers are not the client's


def test_header_values_keep_their_bytes() -> None:
    """The FDK's parser decodes header bytes as UTF-8; the application gets the bytes the client sent."""
    parsed = {"Fn-Intent": "httprequest", "Fn-Http-Method": "GET", "Fn-Http-Request-Url": "/"}
    parsed["Fn-Http-H-X-User"] = "Zoë"
    ctx, data = fdk_context(parsed, b"")
    assert dict(invocation(ctx, data).headers)[b"x-user"] == "Zoë".encode()


def test_a_direct_invoke_is_a_post_to_the_root() -> None:
    """``fn invoke`` (no API Gateway): no method or URL; the gateway answers 404 for "/" with its hint."""
    ctx, data = fdk_context({"Fn-Call-Id": "1", "Content-Type": "application/json"}, b"{}")
    request = invocation(ctx, data)
    assert (request.method, request.url) == ("POST", "/")
    assert dict(request.headers) == {b"content-type": b"application/json"}


def test_the_image_runs_what_the_tests_run() -> None:
    spec = yaml.safe_load((DEPLOY / "func.yaml").read_text())
    assert spec["schema_version"] == 20180708 and spec["runtime"] == "docker" and spec["memory"] >= 256
    assert spec["config"]["OCI_AUTH"] == "resource_principal"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (entrypoint,) = re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M)
    assert yaml.safe_load(entrypoint) == ["python3", *LAUNCH[1:], "/function/func.py", "handler"]
    assert "COPY func.py /function/" in dockerfile and "[functions]" in dockerfile


def process_after(statement: str) -> list[str]:
    code = (
        f"import asyncio, logging\n{statement}\nroot = logging.getLogger()\n"
        "print(root.level, len(root.handlers), type(asyncio.get_event_loop_policy()).__module__)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return run.stdout.split()


def test_the_fdk_leaves_logging_and_asyncio_as_they_were() -> None:
    """Importing the FDK turns the root logger to DEBUG with a handler of its own, and makes uvloop's event loop
    policy the process's (which cannot start a subprocess from a standard loop); the entrypoint undoes both."""
    assert process_after("import fdk") == ["10", "1", "uvloop"]  # why fdk_api exists
    assert process_after("import ocigate.functions.entry") == ["30", "0", "asyncio.unix_events"]
