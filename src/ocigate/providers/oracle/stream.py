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
from ocigate.providers.oracle.hints import UpstreamContext
from ocigate.providers.transport import EventReader
from ocigate.translate.oracle.stream import OciStreamTranslator


def _events(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks)


class NativeChatStream(EventReader):
    """The translated stream; closing it releases the upstream connection (closing mid-stream stops the
    generation)."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request_id: str | None,
        ctx: UpstreamContext,
        translator: OciStreamTranslator,
    ) -> None:
        super().__init__(response, request_id, ctx)
        self._translator = translator

    async def _blocks(self) -> AsyncIterator[bytes]:
        parser = SSEParser()
        translator = self._translator
        while read := await self._read():
            chunks = [chunk for event in parser.feed(read) for chunk in translator.feed(event.data)]
            if chunks:
                yield _events(chunks)
        last = parser.close()
        chunks = translator.feed(last.data) if last is not None else []
        yield _events([*chunks, *translator.finish()]) + DONE_EVENT
