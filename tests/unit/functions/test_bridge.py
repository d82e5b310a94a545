"""One invocation through the gateway's ASGI layer (ocigate.functions.bridge): the URL API Gateway passed, the
lifespan started once, a stream collected whole, errors with their status and OpenAI's envelope."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from ocigate.core.asgi import Request, Response, Router, StreamingResponse, json_response
from ocigate.core.errors import NotFound
from ocigate.functions.bridge import Answer, AsgiBridge, Invocation, split_url


@pytest.mark.parametrize(
    ("url", "prefix", "expected"),
    [
        ("/v1/models", "", ("/v1/models", b"/v1/models", b"")),
        (
            "/ocigate/v1/chat/completions?x=1&y=2",
            "/ocigate",
            ("/v1/chat/completions", b"/v1/chat/completions", b"x=1&y=2"),
        ),
        ("https://gw.example.com/ocigate/v1/models", "/ocigate", ("/v1/models", b"/v1/models", b"")),
        ("/ocigatex/v1/models", "/ocigate", ("/ocigatex/v1/models", b"/ocigatex/v1/models", b"")),
        ("/v1/models", "/ocigate", ("/v1/models", b"/v1/models", b"")),  # a gateway that passes the route's path
        ("/ocigate", "/ocigate", ("/", b"/", b"")),
        ("/v1/responses/resp%2F1", "", ("/v1/responses/resp/1", b"/v1/responses/resp%2F1", b"")),
        ("", "", ("/", b"/", b"")),
    ],
)
def test_split_url(url: str, prefix: str, expected: tuple[str, bytes, bytes]) -> None:
    assert split_url(url, prefix) == expected


def app_with(starts: list[str]) -> Router:
    router = Router()

    async def echo(request: Request) -> Response:
        body = orjson.loads(await request.body())
        return json_response(
            {"path": request.path, "query": request.query, "auth": request.headers.get("authorization"), **body}
        )

    async def events(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(5):
                await asyncio.sleep(0)  # the stream yields to the loop, as a relayed upstream does
                yield f"data: {n}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(chunks())

    async def missing(request: Request) -> Response:
        raise NotFound("no such thing", code="model_not_found")

    router.add("POST", "/v1/echo", echo)
    router.add("POST", "/v1/stream", events)
    router.add("GET", "/v1/missing", missing)
    return router


async def lifespan_and_calls() -> tuple[list[str], list[Answer]]:
    starts: list[str] = []
    router = app_with(starts)

    async def lifespan(phase: str) -> None:
        starts.append(phase)

    bridge = AsgiBridge(router.asgi(lifespan=lifespan), path_prefix="/fn")
    await bridge.start()
    await bridge.start()
    auth = [(b"authorization", b"Bearer k")]
    answers = [
        await bridge.call(Invocation("POST", "/fn/v1/echo?a=1", auth, b'{"n": 1}')),
        await bridge.call(Invocation("POST", "/fn/v1/stream", [], b"{}")),
        await bridge.call(Invocation("GET", "/fn/v1/missing", [], b"")),
        await bridge.call(Invocation("GET", "/fn/v1/echo", [], b"")),
    ]
    await bridge.close()
    return starts, answers


def test_calls_through_one_started_app() -> None:
    starts, (echo, stream, missing, wrong_method) = asyncio.run(lifespan_and_calls())
    assert starts == ["startup", "shutdown"]  # once per container, however many calls
    assert echo.status == 200
    assert orjson.loads(echo.body) == {"path": "/v1/echo", "query": {"a": ["1"]}, "auth": "Bearer k", "n": 1}
    assert "content-length" not in echo.header_map() and echo.header_map()["content-type"] == "application/json"
    # The whole stream, not cut short by a client that seemed gone.
    assert stream.status == 200 and stream.header_map()["content-type"].startswith("text/event-stream")
    assert bytes(stream.body) == b"".join(f"data: {n}\n\n".encode() for n in range(5)) + b"data: [DONE]\n\n"
    assert missing.status == 404 and orjson.loads(missing.body)["error"]["code"] == "model_not_found"
    assert wrong_method.status == 405 and orjson.loads(wrong_method.body)["error"]["message"]


def test_a_failed_startup_is_reported() -> None:
    async def broken(phase: str) -> None:
        raise ValueError("no master key")

    async def start() -> None:
        await AsgiBridge(Router().asgi(lifespan=broken)).start()

    with pytest.raises(RuntimeError, match="no master key"):
        asyncio.run(start())


def test_repeated_headers_are_joined() -> None:
    answer = Answer(200, [(b"Vary", b"a"), (b"vary", b"b"), (b"Content-Length", b"3"), (b"x-request-id", b"r")])
    assert answer.header_map() == {"vary": "a, b", "x-request-id": "r"}
