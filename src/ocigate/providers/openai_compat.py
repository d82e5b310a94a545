"""An OpenAI-compatible upstream: Oracle's ``/20231130/actions/v1`` and ``/openai/v1`` bases with a bearer API
key, or any other OpenAI-compatible server.

Oracle's flavour differs from a plain OpenAI-compatible upstream only in its headers (``OpenAI-Project`` on the
``/openai/v1`` base) and in how its errors are explained (``hints.py``), so one class serves both, as GoModel's
79-line Oracle provider wraps its OpenAI-compatible one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import orjson

from ocigate.config import ProviderConfig
from ocigate.errors import UpstreamError
from ocigate.hints import UpstreamContext, connection_error, oracle_error
from ocigate.providers.base import UpstreamReply
from ocigate.regions import uses_openai_base
from ocigate.sse import SSEFramer, encode_event

_CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError)
READ_SIZE = 64 * 1024


class OpenAICompatProvider:
    def __init__(
        self,
        config: ProviderConfig,
        session: aiohttp.ClientSession,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
        stream_timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        self.name = config.name
        self.type = config.type
        self.region = config.region
        self.base_url = config.base_url.rstrip("/")
        self._session = session
        self._timeout = timeout or aiohttp.ClientTimeout(total=600, connect=10)
        self._stream_timeout = stream_timeout or aiohttp.ClientTimeout(total=None, connect=10, sock_read=600)
        headers = {"Authorization": f"Bearer {config.api_key.strip()}", "Content-Type": "application/json"}
        if config.project and (uses_openai_base(self.base_url) or config.type == "openai"):
            headers["OpenAI-Project"] = config.project
        self._headers = headers
        self._stream_headers = {**headers, "Accept": "text/event-stream"}
        self._urls: dict[str, str] = {}

    def _url(self, path: str) -> str:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = f"{self.base_url}/{path}"
        return url

    def _context(self, model: str) -> UpstreamContext:
        return UpstreamContext(self.name, model, self.region, self.base_url, self.type)

    async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply:
        try:
            async with self._session.post(
                self._url(path), data=body, headers=self._headers, timeout=self._timeout
            ) as response:
                data = await response.read()
                request_id = response.headers.get("opc-request-id")
                if response.status >= 400:
                    raise self._error(response, data, model, request_id)
                return UpstreamReply(response.status, data, request_id)
        except UpstreamError:
            raise
        except TimeoutError as exc:
            raise connection_error(self._context(model), str(exc) or "no answer in time", timeout=True) from exc
        except _CONNECTION_ERRORS as exc:
            raise connection_error(self._context(model), _describe(exc)) from exc

    async def open_stream(self, path: str, body: bytes, *, model: str) -> _EventStream:
        try:
            response = await self._session.post(
                self._url(path), data=body, headers=self._stream_headers, timeout=self._stream_timeout
            )
        except TimeoutError as exc:
            raise connection_error(self._context(model), "no answer in time", timeout=True) from exc
        except _CONNECTION_ERRORS as exc:
            raise connection_error(self._context(model), _describe(exc)) from exc
        request_id = response.headers.get("opc-request-id")
        if response.status >= 400:
            try:
                data = await response.read()
            except _CONNECTION_ERRORS:
                data = b""
            finally:
                response.release()
            raise self._error(response, data, model, request_id)
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            # An upstream that ignored stream: true answered with one JSON body; replay it as one event.
            data = await response.read()
            response.release()
            return _EventStream(None, request_id, self._context(model), single=data)
        return _EventStream(response, request_id, self._context(model))

    async def list_models(self) -> list[str] | None:
        try:
            async with self._session.get(self._url("models"), headers=self._headers, timeout=self._timeout) as response:
                if response.status != 200:
                    return None
                data = orjson.loads(await response.read())
        except (TimeoutError, orjson.JSONDecodeError, *_CONNECTION_ERRORS):
            return None
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return None
        return [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")]

    def _error(
        self, response: aiohttp.ClientResponse, data: bytes, model: str, request_id: str | None
    ) -> UpstreamError:
        headers = {k.lower(): v for k, v in response.headers.items()}
        return oracle_error(response.status, data, headers, self._context(model), request_id)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _EventStream:
    """The upstream's SSE stream as blocks of whole events, each block as received in one read; closing it
    releases the connection."""

    def __init__(
        self,
        response: aiohttp.ClientResponse | None,
        request_id: str | None,
        ctx: UpstreamContext,
        *,
        single: bytes | None = None,
    ) -> None:
        self._response = response
        self.request_id = request_id
        self._ctx = ctx
        self._single = single
        self._finished = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[bytes]:
        if self._single is not None:
            # An upstream that ignored stream: true and answered one JSON body: one event.
            yield encode_event(self._single)
            return
        assert self._response is not None
        framer = SSEFramer()
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                block = framer.feed(chunk)
                if block:
                    yield block
        except TimeoutError as exc:
            raise connection_error(self._ctx, "the stream went idle", timeout=True) from exc
        except _CONNECTION_ERRORS as exc:
            raise connection_error(self._ctx, f"the stream broke off: {_describe(exc)}") from exc
        self._finished = True
        last = framer.close()
        if last:
            yield last

    async def aclose(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            if self._finished:
                response.release()  # back to the pool for the next request
            else:
                response.close()  # abandoned mid-stream: the connection cannot be reused
