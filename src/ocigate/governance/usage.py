"""Usage: one :class:`UsageRecord` per request served, written to the database in batches off the request path.

:class:`BatchWriter` is the batching pattern (usage and audit both use it): ``submit`` is a synchronous append,
a background task writes up to ``batch_size`` items in one multi-row insert every ``interval_s`` (sooner when a
batch fills), a failed batch is put back and retried with backoff (never dropped), and ``close`` writes
everything left. Memory is bounded by ``max_pending``: past it, while the database stays down, new items are
counted as dropped and logged, since the alternative is running out of memory; a graceful stop with the
database up loses nothing, so the records equal the requests served. Usage::

    writer = UsageWriter(usage_store.insert)        # ocigate.store.usage.UsageStore
    await writer.start()
    writer.submit(UsageRecord(created_at=time.time(), request_id=rid, model=m, provider=p, endpoint="chat",
                              status=200, key_id=record.id, team=record.team, cost_usd=cost, **counts.fields()))
    await writer.close()                            # at shutdown: flushes, then stops
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

log = logging.getLogger("ocigate.governance.usage")

T = TypeVar("T")
GroupBy = Literal["key", "team", "user", "model", "provider", "day"]
"""What a usage report can total by."""


@dataclass(slots=True)  # not frozen: built on every request, and a frozen __init__ costs 5x
class TokenCounts:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    """Part of ``completion_tokens`` (OpenAI counts reasoning as completion)."""
    cached_tokens: int = 0
    """Part of ``prompt_tokens``."""

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def fields(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
        }


@dataclass(slots=True)  # not frozen: built on every request, and a frozen __init__ costs 5x
class UsageRecord:
    created_at: float
    """Unix time the request arrived."""
    request_id: str
    model: str
    """The model name the client asked for."""
    provider: str
    endpoint: str
    """``chat``, ``responses``, ``embeddings``, ``rerank``."""
    status: int
    """The status the client got (499: the client went away)."""
    key_id: str | None = None
    """The virtual key; None for the master key (or a gateway without keys)."""
    team: str | None = None
    user: str | None = None
    region: str | None = None
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    """Time to the first streamed byte; None when not streamed."""
    cost_usd: float = 0.0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def tokens_from_usage(usage: object) -> TokenCounts:
    """Token counts from a ``usage`` object: Chat Completions (``prompt_tokens``…), Responses (``input_tokens``…),
    embeddings, or Anthropic's Messages API (``cache_read_input_tokens``…); missing or malformed fields count as
    zero. Parsed JSON: objects are dicts (``isinstance(x, Mapping)`` is an ABC check, on every request)."""
    if not isinstance(usage, dict):
        return TokenCounts()
    if "cache_read_input_tokens" in usage:  # Anthropic's Messages API: input_tokens are the uncached ones
        cached = _int(usage.get("cache_read_input_tokens"))
        prompt = _int(usage.get("input_tokens")) + cached + _int(usage.get("cache_creation_input_tokens"))
        return TokenCounts(prompt, _int(usage.get("output_tokens")), 0, cached)
    if "input_tokens" in usage or "output_tokens" in usage:
        prompt, completion = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
        prompt_details, completion_details = usage.get("input_tokens_details"), usage.get("output_tokens_details")
    else:
        prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
        prompt_details, completion_details = usage.get("prompt_tokens_details"), usage.get("completion_tokens_details")
    reasoning = _int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
    cached = _int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else 0
    return TokenCounts(prompt, completion, reasoning, cached)


def usage_in_event(event: Mapping[str, Any]) -> TokenCounts | None:
    """The usage a streamed event carries, if any: a Chat Completions chunk with ``usage`` (the last one, when
    ``stream_options.include_usage`` is set) or a Responses ``response.completed`` event."""
    usage = event.get("usage")
    if isinstance(usage, dict):
        return tokens_from_usage(usage)
    response = event.get("response")
    if isinstance(response, dict) and isinstance(response.get("usage"), dict):
        return tokens_from_usage(response["usage"])
    return None


class BatchWriter(Generic[T]):
    def __init__(
        self,
        sink: Callable[[Sequence[T]], Awaitable[None]],
        *,
        name: str = "usage",
        interval_s: float = 0.2,
        batch_size: int = 500,
        max_pending: int = 200_000,
        retry_max_s: float = 5.0,
    ) -> None:
        self._sink = sink
        self._name = name
        self._interval = interval_s
        self._batch = batch_size
        self._max = max_pending
        self._retry_max = retry_max_s
        self._pending: deque[T] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._failing_since: float | None = None
        self._last_report = 0.0
        self._backoff = 0.1
        self.written = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def failing(self) -> bool:
        """True while writes fail (the database is down): for health checks and metrics."""
        return self._failing_since is not None

    def submit(self, item: T) -> bool:
        """Queues one item; False (and counted in ``dropped``) when ``max_pending`` items are already waiting."""
        if len(self._pending) >= self._max:
            self.dropped += 1
            if self.dropped == 1 or time.monotonic() - self._last_report >= 30:
                self._last_report = time.monotonic()
                log.error(
                    "%s: %d records are waiting for the database, the most kept in memory; %d dropped so far",
                    self._name,
                    len(self._pending),
                    self.dropped,
                )
            return False
        self._pending.append(item)
        if len(self._pending) >= self._batch:
            self._wake.set()
        return True

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run())

    async def flush(self) -> bool:
        """Writes everything waiting now; False if the database refused (the items stay queued)."""
        return await self._drain()

    async def close(self, timeout_s: float = 30.0) -> None:
        """Writes everything waiting, retrying for up to ``timeout_s`` if the database is down, then stops."""
        self._closing = True
        task, self._task = self._task, None
        if task is None:
            task = asyncio.create_task(self._run())
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.error("%s: %d records could not be written before shutdown and are lost", self._name, self.pending)

    async def _run(self) -> None:
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                self._wake.clear()
            await self._drain()
            if self._closing and not self._pending:
                return

    async def _drain(self) -> bool:
        async with self._lock:
            while self._pending:
                count = min(len(self._pending), self._batch)
                batch = [self._pending.popleft() for _ in range(count)]
                try:
                    await self._sink(batch)
                except Exception as exc:  # noqa: BLE001 - kept and retried, whatever the database said
                    self._pending.extendleft(reversed(batch))
                    self._failed(exc)
                    await asyncio.sleep(self._backoff)
                    self._backoff = min(self._backoff * 2, self._retry_max)
                    return False
                self.written += count
                if self._failing_since is not None:
                    log.warning(
                        "%s: writing again after %.0f s; %d dropped in all",
                        self._name,
                        time.monotonic() - self._failing_since,
                        self.dropped,
                    )
                    self._failing_since = None
                self._backoff = 0.1
            return True

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        elif now - self._last_report < 30:
            return
        self._last_report = now
        log.error(
            "%s: cannot write to the database (%r); %d records kept in memory (at most %d), retrying",
            self._name,
            exc,
            len(self._pending),
            self._max,
        )


UsageWriter = BatchWriter[UsageRecord]
