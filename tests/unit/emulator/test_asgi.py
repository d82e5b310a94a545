"""The app as an ASGI callable, without a server: message framing and connection-level faults."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ocigate.core.asgi import ASGIApp, Message
from ocigate.emulator import DEFAULT_KEY, EmulatorConfig, create_emulator_app
from ocigate.emulator.faults import ConnectionDropped, StreamCut
from tests.support.emulator import COMPAT


async def call(app: ASGIApp, method: str, path: str, body: object = None, key: str = DEFAULT_KEY) -> list[Message]:
    raw = b"" if body is None else orjson.dumps(body)
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json")],
    }
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


STREAM = {"model": "xai.grok-3", "messages": [{"role": "user", "content": "a b c"}], "stream": True}


async def test_each_stream_event_is_its_own_body_message() -> None:
    sent = await call(create_emulator_app(), "POST", COMPAT + "/chat/completions", STREAM)
    start, *bodies, end = sent
    assert start["status"] == 200
    assert len(dict(start["headers"])[b"opc-request-id"]) == 32
    assert end == {"type": "http.response.body", "body": b""}
    # role, 10 words ("Hello from xai.grok-3 in us-chicago-1. You said: a b c"), finish and [DONE]
    assert len(bodies) == 13
    assert all(b["body"].startswith(b"data: ") and b["body"].endswith(b"\n\n") for b in bodies)
    assert all(b["body"].count(b"\n\n") == 1 for b in bodies)
    assert bodies[-1]["body"] == b"data: [DONE]\n\n"


async def test_json_answers_carry_a_content_length() -> None:
    body = {"model": "xai.grok-3", "messages": [{"role": "user", "content": "a"}]}
    start, payload = await call(create_emulator_app(), "POST", COMPAT + "/chat/completions", body)
    headers = dict(start["headers"])
    assert int(headers[b"content-length"]) == len(payload["body"])
    assert orjson.loads(payload["body"])["object"] == "chat.completion"


async def test_without_a_reachable_transport_faults_raise() -> None:
    # Under a server whose receive() exposes no transport, the fault becomes an exception the server handles.
    app = create_emulator_app()
    await call(app, "POST", "/_emulator/faults", {"drop": True, "count": 1})
    with pytest.raises(ConnectionDropped):
        await call(app, "POST", COMPAT + "/chat/completions", {**STREAM, "stream": False})
    await call(app, "POST", "/_emulator/faults", {"cut_after": 2, "count": 1})
    sent: list[Message] = []
    with pytest.raises(StreamCut):
        sent = await call(app, "POST", COMPAT + "/chat/completions", STREAM)
    assert sent == []


async def test_lifespan_is_answered() -> None:
    app = create_emulator_app()
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_unknown_model_status_must_be_400_or_404() -> None:
    with pytest.raises(ValueError):
        create_emulator_app(EmulatorConfig(unknown_model_status=500))
