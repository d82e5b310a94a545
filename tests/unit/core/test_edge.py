"""The edge: an exception nobody expected becomes a 500 in OpenAI's envelope with the request's id, its traceback
logged once, whether the handler fails before answering or in the middle of a stream; every answer is seen once by
``answered`` with its final status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
import pytest

from ocigate.core.asgi import Message, Request, Response, Router, StreamingResponse
from ocigate.core.errors import InvalidRequest
from ocigate.pipeline.run import stream_error


class Exchange:
    """One request driven through an ASGI app in-process: what it sent back."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def run(self, app: object, path: str = "/boom") -> Exchange:
        scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"{}", "more_body": False}
            await asyncio.sleep(3600)  # the client stays
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            self.messages.append(message)

        await app(scope, receive, send)  # type: ignore[operator]
        return self

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.messages[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


def _app(handler: object, answered: list[tuple[str, int]]) -> object:
    router = Router()
    router.add("POST", "/boom", handler)  # type: ignore[arg-type]
    return router.asgi(answered=lambda request, status: answered.append((request.id, status)))


async def test_an_unexpected_exception_is_a_500_in_the_envelope_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(request: Request) -> Response:
        raise KeyError("a bug")

    answered: list[tuple[str, int]] = []
    with caplog.at_level(logging.ERROR, logger="ocigate"):
        exchange = await Exchange().run(_app(handler, answered))
    assert exchange.status == 500
    error = orjson.loads(exchange.body)["error"]
    request_id = exchange.headers[b"x-request-id"].decode()
    assert error["type"] == "api_error" and error["code"] == "internal_error"
    assert request_id in error["message"]
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1 and request_id in tracebacks[0].getMessage()
    assert "KeyError: 'a bug'" in caplog.text
    assert answered == [(request_id, 500)]


async def test_a_gateway_error_keeps_its_status_and_carries_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: Request) -> Response:
        raise InvalidRequest("'messages' is wrong.", param="messages")

    answered: list[tuple[str, int]] = []
    with caplog.at_level(logging.ERROR, logger="ocigate"):
        exchange = await Exchange().run(_app(handler, answered))
    assert exchange.status == 400
    assert orjson.loads(exchange.body)["error"]["param"] == "messages"
    assert answered == [(exchange.headers[b"x-request-id"].decode(), 400)]
    assert not [r for r in caplog.records if r.exc_info is not None]


async def test_an_unexpected_exception_mid_stream_ends_the_stream_with_the_envelope(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'data: {"n": 1}\n\n'
            raise ZeroDivisionError("a bug mid-stream")

        return StreamingResponse(chunks(), on_error=stream_error(request.id))

    answered: list[tuple[str, int]] = []
    with caplog.at_level(logging.ERROR, logger="ocigate"):
        exchange = await Exchange().run(_app(handler, answered))
    assert exchange.status == 200  # the headers were sent before the failure
    events = [e for e in exchange.body.split(b"\n\n") if e]
    assert events[0] == b'data: {"n": 1}'
    error = orjson.loads(events[-1].removeprefix(b"data: "))["error"]
    request_id = answered[0][0]
    assert error["code"] == "internal_error" and request_id in error["message"]
    assert len([r for r in caplog.records if r.exc_info is not None]) == 1
    assert "ZeroDivisionError" in caplog.text


async def test_the_emulator_can_still_drop_a_connection() -> None:
    async def handler(request: Request) -> Response:
        raise ConnectionResetError("dropped on purpose")

    router = Router()
    router.add("POST", "/boom", handler)
    with pytest.raises(ConnectionResetError):
        await Exchange().run(router.asgi(catch_all=False))
