"""What a model route tells the pipeline: how to read its request and how to write its reply.

A route is a small adapter. The pipeline (``run.py``) does every step they share (parse once, resolve the model's
route, admit the key, dispatch with retries and failover, meter the outcome, note the access line); the route
supplies only what differs between them, as an :class:`Endpoint` that checks its body and plans one request: a
:class:`Plan` that shapes the upstream body for each deployment (decided once per deployment), and turns the
upstream's answer into the client's.

Usage::

    class Embeddings:
        kind = name = "embeddings"
        path = "/v1/embeddings"
        streams = False

        def check(self, payload: JSON) -> None: ...
        async def plan(self, call: Call) -> Plan: return PassThrough(call)

    pipeline = Pipeline(routes, dispatcher, governance)
    router.add("POST", "/v1/embeddings", lambda request: pipeline.handle(request, Embeddings()))
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from ocigate.core.asgi import Request
from ocigate.core.types import JSON
from ocigate.governance.metering import Meter
from ocigate.routing.dispatch import DispatchedStream, PathFor, Sent
from ocigate.routing.router import Deployment


@dataclass(slots=True)
class Call:
    """One model request on its way: what the client sent, parsed once, and its meter."""

    request: Request
    payload: JSON
    body: bytes
    model: str
    meter: Meter

    @property
    def stream(self) -> bool:
        return self.meter.stream


class Plan(Protocol):
    """One request's way to the upstream and back."""

    @property
    def path(self) -> PathFor:
        """The upstream path, or a function of the deployment."""
        ...

    @property
    def closing(self) -> bytes | None:
        """The event a stream must end with (chat's ``[DONE]``), added when the upstream's stream left it out."""
        ...

    def body_for(self, deployment: Deployment) -> bytes:
        """The upstream body for a deployment; called once per deployment (its model name, its family's rules)."""
        ...

    async def reply(self, sent: Sent) -> tuple[int, bytes]:
        """The client's status and body for a non-streaming answer."""
        ...

    def relay(self, stream: DispatchedStream, served: Deployment) -> AsyncIterator[bytes]:
        """The client's stream from the upstream's: the upstream's itself when it passes through unchanged (one
        generator less per block), or translated."""
        ...


class Endpoint(Protocol):
    kind: str
    """The kind of model the route serves (``chat``, ``embeddings``, ``rerank``): a model of another kind is a 400."""
    name: str
    """The endpoint's name in usage records and limits (``chat``, ``responses``, ``embeddings``, ``rerank``)."""
    path: str
    """The public path, for messages."""
    streams: bool
    """Whether ``"stream": true`` opens a stream (embeddings and rerank answer in one piece whatever it says)."""

    def check(self, payload: JSON) -> None:
        """Raises :class:`~ocigate.core.errors.InvalidRequest` naming the field, before anything else happens."""
        ...

    async def plan(self, call: Call) -> Plan: ...

    # Optional: ``error_event(error, request_id) -> bytes``, the last event of a stream that fails after its first
    # byte, when the endpoint's clients expect their own (the Messages API's ``error`` event); OpenAI's otherwise.
