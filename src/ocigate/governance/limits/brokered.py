"""A worker's side of the limit broker (``broker.py``): the :class:`LimitBackend` that ``ocigate serve --workers N``
uses without Redis, and the key-change announcements between workers.

Calls made while others are in flight are written together and their answers matched by id, on one Unix
socket to the parent process; a settlement asks for no answer (:meth:`BrokerBackend.finish_now` writes it and
returns), so an admitted request costs one round trip. The broker is the parent: if its socket closes, the
parent is gone and this worker can no longer keep the limits exact, so it says so and stops (``on_lost``).

Usage::

    backend = await BrokerBackend.connect(path, on_key_change=cache.forget, on_lost=stop_serving)
    limiter = Limiter(backend, spend=usage_store)
    store.listen(backend.key_changed)      # this worker's key changes reach every other worker's cache
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import orjson

from ocigate.governance.limits.backend import Plan, Verdict
from ocigate.governance.limits.broker import plan_to_wire, verdict_from_wire

log = logging.getLogger("ocigate.governance.limits.brokered")


class _Connection(asyncio.Protocol):
    def __init__(self, on_push: Callable[[list[Any]], None], on_lost: Callable[[Exception | None], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiters: dict[int, asyncio.Future[Any]] = {}
        self.out: list[bytes] = []
        self.flushing = False
        self.lost = False
        self._buffer = bytearray()
        self._on_push = on_push
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def write(self, message: list[Any]) -> None:
        self.out.append(orjson.dumps(message) + b"\n")
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self.flushing = False
        out, self.out = self.out, []
        if self.transport is not None and not self.lost:
            self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        end = buffer.rfind(b"\n")
        if end < 0:
            return
        lines = bytes(buffer[:end]).split(b"\n")
        del buffer[: end + 1]
        for line in lines:
            request_id, *rest = orjson.loads(line)
            if request_id == 0:
                self._on_push(rest)
                continue
            waiter = self.waiters.pop(request_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(rest[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("the limit broker (the gateway's parent process) is gone"))
        self.waiters.clear()
        self._on_lost(exc)


class BrokerBackend:
    """The broker's counters, as :class:`~ocigate.governance.limits.backend.LimitBackend`."""

    def __init__(
        self,
        connection: _Connection,
        on_key_change: Callable[[str | None], None] | None = None,
    ) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        self.on_key_change = on_key_change

    @classmethod
    async def connect(
        cls,
        path: str,
        *,
        on_key_change: Callable[[str | None], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> BrokerBackend:
        """Connects to the broker at ``path``; ``on_key_change(key_id)`` is called when another worker changed a
        key (None: every key), ``on_lost`` when the broker goes away."""
        backend: BrokerBackend | None = None
        closing = False

        def push(message: list[Any]) -> None:
            if backend is not None:
                backend._pushed(message)

        def lost(exc: Exception | None) -> None:
            if not closing and backend is not None and not backend.closed:
                log.error("the limit broker (the gateway's parent process) is gone (%r): this worker stops", exc)
                if on_lost is not None:
                    on_lost()

        loop = asyncio.get_running_loop()
        _, connection = await loop.create_unix_connection(lambda: _Connection(push, lost), path)
        backend = cls(connection, on_key_change)
        return backend

    closed = False

    def _call(self, op: str, *args: Any) -> asyncio.Future[Any]:
        connection = self._connection
        if connection.lost:
            raise ConnectionError("the limit broker (the gateway's parent process) is gone")
        request_id = next(self._ids)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        connection.waiters[request_id] = waiter
        connection.write([request_id, op, *args])
        return waiter

    def _pushed(self, message: list[Any]) -> None:
        kind, seq, *args = message
        if kind == "forget":
            if self.on_key_change is not None:
                try:
                    self.on_key_change(args[0])
                finally:
                    self._connection.write([0, "ack", seq])
            else:
                self._connection.write([0, "ack", seq])

    async def admit(self, plan: Plan) -> Verdict:
        return verdict_from_wire(await self._call("admit", plan_to_wire(plan)))

    async def finish(self, plan: Plan, *, tokens_delta: int, spend_delta: int) -> None:
        self.finish_now(plan, tokens_delta, spend_delta)

    def finish_now(self, plan: Plan, tokens_delta: int, spend_delta: int) -> None:
        """:meth:`finish` without waiting: written, never answered (the broker reads its calls in order)."""
        if self._connection.lost:
            return  # this worker is stopping (on_lost); its leases went with its connection
        self._connection.write([0, "finish", plan_to_wire(plan), tokens_delta, spend_delta])

    async def renew(self, plans: Sequence[Plan]) -> None:
        await self._call("renew", [plan_to_wire(plan) for plan in plans])

    async def seed_budget(self, key_id: str, period: str, spent: int, expires_at: float | None) -> None:
        await self._call("seed", key_id, period, spent, expires_at)

    async def budget_spent(self, key_id: str, period: str) -> int | None:
        spent = await self._call("spent", key_id, period)
        return None if spent is None else int(spent)

    async def reset(self, key_id: str) -> None:
        await self._call("reset", key_id)

    async def key_changed(self, key_id: str | None) -> None:
        """Tells every other worker to forget ``key_id``; returns once they all have (a store listener)."""
        try:
            await asyncio.wait_for(self._call("changed", key_id), 5.0)
        except (ConnectionError, TimeoutError) as exc:
            log.warning("could not announce a key change to the other workers (%r); they see it within 1 s", exc)

    async def close(self) -> None:
        self.closed = True
        if self._connection.out:
            self._connection._flush()  # settlements written this tick still reach the broker
        transport = self._connection.transport
        if transport is not None:
            transport.close()
