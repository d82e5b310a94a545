"""``POST /v1/embeddings`` (OpenAI's shape) and ``POST /v1/rerank`` (Cohere's shape: ``model``, ``query``,
``documents``, ``top_n``, ``return_documents``).

Served by the providers that can: Oracle's native API (``type: oci``) translates them to embedText and rerankText;
an OpenAI-compatible upstream gets them as they are. Oracle's OpenAI-compatible path has neither, and its 404 says
to configure a ``type: oci`` provider (``providers/oracle/hints.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import orjson

from ocigate.core.types import JSON
from ocigate.pipeline.endpoint import Call
from ocigate.routing.dispatch import DispatchedStream, Sent
from ocigate.routing.router import Deployment
from ocigate.schemas.embeddings import check_embeddings, check_rerank


class PassThroughEndpoint:
    """A route whose request and answer pass through as they are: embeddings and rerank (never streamed)."""

    streams = False

    def __init__(self, kind: str, path: str, check: Callable[[JSON], None]) -> None:
        self.kind = self.name = kind
        self.path = path
        self.check = check

    async def plan(self, call: Call) -> PassThrough:
        return PassThrough(self.name, call)


def embeddings_endpoint() -> PassThroughEndpoint:
    return PassThroughEndpoint("embeddings", "/v1/embeddings", check_embeddings)


def rerank_endpoint() -> PassThroughEndpoint:
    return PassThroughEndpoint("rerank", "/v1/rerank", check_rerank)


class PassThrough:
    """The request as received (renamed for a deployment that calls the model otherwise), the answer as given."""

    closing: bytes | None = None

    def __init__(self, path: str, call: Call) -> None:
        self.path = path
        self._call = call

    def body_for(self, deployment: Deployment) -> bytes:
        if deployment.upstream_model == self._call.model:
            return self._call.body
        return orjson.dumps({**self._call.payload, "model": deployment.upstream_model})

    async def reply(self, sent: Sent) -> tuple[int, bytes]:
        return sent.reply.status, sent.reply.body

    def relay(self, stream: DispatchedStream, served: Deployment) -> AsyncIterator[bytes]:
        raise AssertionError("embeddings and rerank never stream (their endpoints say streams = False)")
