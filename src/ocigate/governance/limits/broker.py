"""The limit broker: one process's :class:`MemoryBackend` served over a Unix socket to the gateway's workers.

``ocigate serve --workers N`` without Redis runs N worker processes; their limits must stay exact across all of
them, so none of them keeps counters of its own. The parent process holds the only counters (a
:class:`MemoryBackend`, the same code a single process uses) and answers each worker's calls, one after the
other, on one event loop: an admission is as atomic as it is in one process, and the clock is the broker's.
Workers talk to it through :class:`~ocigate.governance.limits.brokered.BrokerBackend`.

The wire (``WIRE``): one JSON array a line, both ways. A worker sends ``[id, op, *args]`` and gets
``[id, result]``; id 0 asks for no answer (settlements). The broker pushes ``[0, "forget", seq, key_id]`` when a
key changed in another worker (revoked, edited, rotated) and the worker answers ``[0, "ack", seq]`` once its
key cache dropped the key; the worker that announced the change is answered only when every other worker has
acknowledged it (or left, or ``ACK_TIMEOUT_S`` passed), so a revoked key is refused by every worker the moment
the admin call returns.

A worker that dies holding concurrency leases gives them back at once: the broker knows which leases each
connection took.

Usage::

    broker = LimitBroker(path)          # path: a Unix socket in a directory only this user can enter
    await broker.start()
    ...                                 # workers connect with BrokerBackend.connect(path, on_key_change=...)
    await broker.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import orjson

from ocigate.governance.limits.backend import Plan, Verdict
from ocigate.governance.limits.memory import MemoryBackend

log = logging.getLogger("ocigate.governance.limits.broker")
ACK_TIMEOUT_S = 2.0
"""How long a key change waits for a worker that does not acknowledge it (the key cache's TTL covers the rest)."""
MAX_LINE = 1 << 20
"""A longer line is not a worker speaking: the connection is dropped."""
T = TypeVar("T")


def plan_to_wire(plan: Plan) -> list[Any]:
    return [
        plan.key_id,
        plan.token,
        plan.rpm,
        plan.tpm,
        plan.tokens,
        plan.max_concurrent,
        plan.budget_period,
        plan.budget_limit,
        plan.budget_cost,
        plan.window_s,
        plan.lease_s,
    ]


def plan_from_wire(fields: list[Any]) -> Plan:
    return Plan(*fields)


def verdict_to_wire(verdict: Verdict) -> list[Any]:
    return [
        verdict.allowed,
        verdict.limit,
        verdict.retry_after_s,
        verdict.remaining_requests,
        verdict.remaining_tokens,
        verdict.budget_spent,
        verdict.budget_unknown,
    ]


def verdict_from_wire(fields: list[Any]) -> Verdict:
    return Verdict(*fields)


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits (every :class:`MemoryBackend` method), run to its end here:
    what makes each call atomic on the broker's loop. A coroutine that would wait is an error, never a race."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a memory backend call waited; the broker's calls must not")


@dataclass(eq=False)
class _Worker(asyncio.Protocol):
    """One worker's connection."""

    broker: LimitBroker
    transport: asyncio.Transport | None = None
    buffer: bytearray = field(default_factory=bytearray)
    leases: dict[str | int, Plan] = field(default_factory=dict)
    """The concurrency leases this worker holds: given back if it goes."""
    out: list[bytes] = field(default_factory=list)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.broker.workers.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.broker.left(self)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        end = buffer.rfind(b"\n")
        if end < 0:
            if len(buffer) > MAX_LINE:
                self.drop("a line longer than 1 MiB")
            return
        lines = bytes(buffer[:end]).split(b"\n")
        del buffer[: end + 1]
        for line in lines:
            try:
                message = orjson.loads(line)
                self.broker.handle(self, message)
            except Exception as exc:  # noqa: BLE001 - a broken worker must not take the broker down
                self.drop(f"an unreadable call ({exc!r})")
                return
        self.flush()

    def send(self, message: list[Any]) -> None:
        self.out.append(orjson.dumps(message) + b"\n")

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.out))
        self.out.clear()

    def drop(self, why: str) -> None:
        log.error("limit broker: dropping a worker's connection: %s", why)
        if self.transport is not None:
            self.transport.abort()


@dataclass
class _Change:
    """A key change waiting for the other workers' acknowledgements."""

    origin: _Worker
    request_id: int
    waiting: set[_Worker]
    timer: asyncio.TimerHandle | None = None


class LimitBroker:
    def __init__(self, path: str, backend: MemoryBackend | None = None) -> None:
        self.path = path
        self.backend = backend or MemoryBackend()
        self.workers: set[_Worker] = set()
        self._server: asyncio.AbstractServer | None = None
        self._changes: dict[int, _Change] = {}
        self._seq = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _Worker(self), self.path)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for worker in list(self.workers):
                if worker.transport is not None:
                    worker.transport.close()
            await self._server.wait_closed()
            self._server = None
        for change in list(self._changes.values()):
            self._answer(change)

    def handle(self, worker: _Worker, message: list[Any]) -> None:
        request_id, op, *args = message
        backend = self.backend
        if op == "admit":
            plan = plan_from_wire(args[0])
            verdict = run_now(backend.admit(plan))
            if verdict.allowed and plan.max_concurrent > 0:
                worker.leases[plan.token] = plan
            worker.send([request_id, verdict_to_wire(verdict)])
            return
        if op == "finish":
            plan = plan_from_wire(args[0])
            worker.leases.pop(plan.token, None)
            backend.finish_now(plan, int(args[1]), int(args[2]))
            result: Any = None
        elif op == "ack":
            self._acknowledged(worker, int(args[0]))
            return
        elif op == "renew":
            result = run_now(backend.renew([plan_from_wire(fields) for fields in args[0]]))
        elif op == "seed":
            result = run_now(backend.seed_budget(args[0], args[1], int(args[2]), args[3]))
        elif op == "spent":
            result = run_now(backend.budget_spent(args[0], args[1]))
        elif op == "reset":
            result = run_now(backend.reset(args[0]))
        elif op == "changed":
            self._announce(worker, request_id, args[0])
            return
        else:
            raise ValueError(f"unknown call {op!r}")
        if request_id:
            worker.send([request_id, result])

    def _announce(self, origin: _Worker, request_id: int, key_id: str | None) -> None:
        """Tells every other worker to forget ``key_id``; ``origin`` is answered when they all have."""
        self._seq += 1
        seq = self._seq
        others = {w for w in self.workers if w is not origin}
        change = _Change(origin, request_id, others)
        self._changes[seq] = change
        for other in others:
            other.send([0, "forget", seq, key_id])
            other.flush()
        if not others:
            self._finish_change(seq)
            return
        change.timer = asyncio.get_running_loop().call_later(ACK_TIMEOUT_S, self._finish_change, seq)

    def _acknowledged(self, worker: _Worker, seq: int) -> None:
        change = self._changes.get(seq)
        if change is not None:
            change.waiting.discard(worker)
            if not change.waiting:
                self._finish_change(seq)

    def _finish_change(self, seq: int) -> None:
        change = self._changes.pop(seq, None)
        if change is None:
            return
        if change.waiting:
            log.warning(
                "limit broker: %d worker(s) did not acknowledge a key change within %.0f s; they see it within "
                "the key cache's TTL",
                len(change.waiting),
                ACK_TIMEOUT_S,
            )
        self._answer(change)

    def _answer(self, change: _Change) -> None:
        if change.timer is not None:
            change.timer.cancel()
        change.origin.send([change.request_id, None])
        change.origin.flush()

    def left(self, worker: _Worker) -> None:
        """A worker's connection closed: its leases are given back, and no change waits for it any more."""
        self.workers.discard(worker)
        for plan in worker.leases.values():
            self.backend.finish_now(plan, 0, 0)
        worker.leases.clear()
        for seq, change in list(self._changes.items()):
            if change.origin is worker:
                self._changes.pop(seq, None)
                if change.timer is not None:
                    change.timer.cancel()
            elif worker in change.waiting:
                self._acknowledged(worker, seq)
