"""Oracle's native chat stream, relayed as OpenAI chunk events.

Each upstream read becomes one block of whole ``data: {...}\\n\\n`` events (possibly none, when the read completed
no event), translated by :class:`~ocigate.translate.oracle.stream.OciStreamTranslator`; the last block carries the
finish chunk, the usage chunk when the client asked for it, and ``data: [DONE]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from ocigate.core.sse import DONE_EVENT, SSEParser
from ocigate.providers.oracle.hints import UpstreamContext, connection_error
from ocigate.translate.oracle.stream import OciStreamTranslator

CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError)


def _events(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks)


class NativeChatStream:
    """The translated stream; closing it releases the upstream connection."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request_id: str | None,
        ctx: UpstreamContext,
        translator: OciStreamTranslator,
    ) -> None:
        self._response: aiohttp.ClientResponse | None = response
        self.request_id = request_id
        self._ctx = ctx
        self._translator = translator
        self._finished = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[bytes]:
        assert self._response is not None
        parser = SSEParser()
        translator = self._translator
        content = self._response.content
        try:
            while True:
                read = await content.readany()
                if not read:
                    break
                chunks = [chunk for event in parser.feed(read) for chunk in translator.feed(event.data)]
                if chunks:
                    yield _events(chunks)
        except TimeoutError as exc:
            raise connection_error(self._ctx, "the stream went idle", timeout=True) from exc
        except CONNECTION_ERRORS as exc:
            raise connection_error(self._ctx, f"the stream broke off: {type(exc).__name__}: {exc}") from exc
        self._finished = True
        last = parser.close()
        chunks = translator.feed(last.data) if last is not None else []
        yield _events([*chunks, *translator.finish()]) + DONE_EVENT

    async def aclose(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            if self._finished:
                response.release()
            else:
                response.close()  # abandoned mid-stream: closing stops the generation
