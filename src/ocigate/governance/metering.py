"""One request's accounting: the :class:`Meter` a model-addressed route gets from ``Governance.admit``.

A route calls the meter where it already knows the outcome, so nothing is parsed twice on the hot path:

- non-streaming: ``meter.reply(status, body, deployment)`` reads the ``usage`` object of the body it returns;
- streaming: ``meter.block(block)`` for every block relayed (a substring test; only the block carrying usage
  is parsed), then ``meter.end(status, deployment)`` once the stream is over, whatever ended it;
- errors: ``meter.failed(status, deployment)``.

The first call of ``reply``/``end``/``failed`` writes the request's usage record and settles its key's limits;
later calls do nothing. A stream that ends without a usage event (the client left, the upstream died) is
recorded with what was delivered: completion tokens counted as the content deltas relayed, the prompt estimated
from the request's size.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import orjson

from ocigate.governance.pricing import estimate_prompt_tokens
from ocigate.governance.usage import TokenCounts, UsageRecord, tokens_from_usage, usage_in_event

if TYPE_CHECKING:
    from ocigate.core.asgi import Request
    from ocigate.governance.keys import KeyRecord
    from ocigate.governance.limits import Ticket
    from ocigate.routing.router import Deployment


class Accountant(Protocol):
    """What a meter reports to (``Governance``): prices the tokens, then takes the record."""

    def cost(self, model: str, tokens: TokenCounts) -> float: ...

    def settle(self, meter: Meter, record: UsageRecord) -> None: ...


class Meter:
    __slots__ = (
        "_to",
        "request",
        "key",
        "endpoint",
        "model",
        "stream",
        "ticket",
        "request_id",
        "strip_usage",
        "headers",
        "_created_at",
        "_started",
        "_size",
        "_tokens",
        "_ttft",
        "_deltas",
        "_done",
    )

    def __init__(
        self,
        to: Accountant,
        request: Request,
        key: KeyRecord | None,
        endpoint: str,
        model: str,
        stream: bool,
        size: int,
        ticket: Ticket | None = None,
    ) -> None:
        self._to = to
        self.request = request
        self.key = key
        self.endpoint = endpoint
        self.model = model
        self.stream = stream
        self.ticket = ticket
        self.request_id = request.id
        self.headers: list[tuple[bytes, bytes]] = []
        """Headers for the client's answer: the key's rate-limit headers (``x-ratelimit-*``)."""
        self.strip_usage = False
        """Set when the gateway asked the upstream for usage the client did not ask for: the usage-only chunk
        is then taken out of the stream the client gets."""
        self._created_at = time.time()
        self._started = time.perf_counter()
        self._size = size
        self._tokens: TokenCounts | None = None
        self._ttft: float | None = None
        self._deltas = 0
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def reply(self, status: int, body: bytes, served: Deployment | None) -> None:
        """A non-streaming answer: its usage, read from the body the client gets."""
        tokens = None
        if status < 400 and (b'"usage":{' in body or b'"usage": {' in body):
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                tokens = tokens_from_usage(parsed.get("usage"))
        self._finish(status, served, tokens or TokenCounts())

    def block(self, block: bytes) -> bytes:
        """One relayed block of SSE events; returns what to send (without the usage-only chunk when stripping)."""
        if self._ttft is None:
            self._ttft = (time.perf_counter() - self._started) * 1000
        if b'"usage":{' in block or b'"usage": {' in block:
            found, block = usage_of_block(block, self.strip_usage)
            if found is not None:
                self._tokens = found
        elif self._tokens is None:
            self._deltas += block.count(b'"delta"')
        return block

    def end(self, status: int, served: Deployment | None) -> None:
        """The stream is over (finished, failed, or the client went away)."""
        tokens = self._tokens
        if tokens is None:
            tokens = TokenCounts(estimate_prompt_tokens(self._size), self._deltas) if self._deltas else TokenCounts()
        self._finish(status, served, tokens)

    def failed(self, status: int, served: Deployment | None = None) -> None:
        self._finish(status, served, TokenCounts())

    def _finish(self, status: int, served: Deployment | None, tokens: TokenCounts) -> None:
        if self._done:
            return
        self._done = True
        key = self.key
        to = self._to
        to.settle(
            self,
            UsageRecord(
                created_at=self._created_at,
                request_id=self.request_id,
                model=self.model,
                provider=served.provider.name if served is not None else "-",
                endpoint=self.endpoint,
                status=status,
                key_id=key.id if key is not None else None,
                team=key.team if key is not None else None,
                user=key.user if key is not None else None,
                region=served.region if served is not None else None,
                stream=self.stream,
                prompt_tokens=tokens.prompt_tokens,
                completion_tokens=tokens.completion_tokens,
                reasoning_tokens=tokens.reasoning_tokens,
                cached_tokens=tokens.cached_tokens,
                latency_ms=(time.perf_counter() - self._started) * 1000,
                ttft_ms=self._ttft,
                cost_usd=to.cost(self.model, tokens) if tokens.prompt_tokens or tokens.completion_tokens else 0.0,
            ),
        )


def usage_of_block(block: bytes, strip: bool) -> tuple[TokenCounts | None, bytes]:
    """The usage a block of SSE events carries, and the block without the usage-only chunk when ``strip``."""
    found: TokenCounts | None = None
    kept: list[bytes] = []
    changed = False
    for event in block.split(b"\n\n"):
        if not event.strip():
            continue
        if b'"usage":{' in event or b'"usage": {' in event:
            data = b"\n".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
            try:
                parsed = orjson.loads(data)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                counts = usage_in_event(parsed)
                if counts is not None:
                    found = counts
                    if strip:
                        changed = True
                        if parsed.get("choices") == []:
                            continue  # the usage-only chunk the client did not ask for
                        parsed.pop("usage", None)
                        event = b"data: " + orjson.dumps(parsed)
        kept.append(event + b"\n\n")
    return found, (b"".join(kept) if changed else block)
