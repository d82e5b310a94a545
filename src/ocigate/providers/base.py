"""What every provider offers the gateway.

A provider makes exactly one attempt per call and raises :class:`~ocigate.core.errors.UpstreamError` (with the hint
already in its message) when the upstream fails; retries and fallbacks belong to the caller.

Usage::

    reply = await provider.send("chat/completions", body, model="openai.gpt-oss-120b")   # also "embeddings", "rerank"
    stream = await provider.open_stream("chat/completions", body, model="openai.gpt-oss-120b")
    async for block in stream:       # bytes of whole SSE events in OpenAI's format, however the upstream split them
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from ocigate.catalog.metadata import ModelKind


@dataclass(frozen=True, slots=True)
class ListedModel:
    """A model an upstream lists: its id, what it is for, and its OCID where Oracle gave one."""

    id: str
    kind: ModelKind = "chat"
    ocid: str | None = None


@dataclass(slots=True)
class UpstreamReply:
    status: int
    body: bytes
    request_id: str | None


class UpstreamStream(Protocol):
    request_id: str | None

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class Provider(Protocol):
    name: str
    type: str
    region: str | None
    base_url: str

    async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply: ...

    async def open_stream(self, path: str, body: bytes, *, model: str) -> UpstreamStream: ...

    async def list_models(self) -> list[ListedModel] | None:
        """The upstream's own model listing, or None where it has none (Oracle's API-key path). May raise
        :class:`~ocigate.core.errors.UpstreamError`; the registry then keeps the last good listing."""
        ...
