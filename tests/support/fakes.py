"""In-memory stand-ins for the resilience tests: a clock whose sleep only moves time, providers that answer from a
script, and a recorder of dispatch events. Unit level, so no sockets."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ocigate.config.policies import BreakerPolicy, RetryPolicy
from ocigate.core.errors import GatewayError, UpstreamError
from ocigate.providers.base import ListedModel, UpstreamReply
from ocigate.providers.oracle.hints import UpstreamContext, connection_error, oracle_error
from ocigate.providers.oracle.secrets_pair import SecretPair
from ocigate.routing.breaker import BreakerBoard
from ocigate.routing.dispatch import Dispatcher
from ocigate.routing.events import Attempt, NullHooks
from ocigate.routing.router import Deployment, ModelRoute, Router


class FakeClock:
    """``clock()`` and ``sleep()``: sleeping records the delay and moves time on at once."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def oracle(status: int, *, retry_after: str | None = None, region: str = "us-chicago-1") -> UpstreamError:
    """The error a provider raises for an Oracle status, through the real mapping (hints.py)."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    body = b'{"code": "Oops", "message": "scripted"}'
    return oracle_error(status, body, headers, UpstreamContext("p", "m", region, "https://x"), None)


def unreachable() -> UpstreamError:
    return connection_error(UpstreamContext("p", "m", "r", "https://x"), "ConnectionRefusedError")


def timeout() -> UpstreamError:
    return connection_error(UpstreamContext("p", "m", "r", "https://x"), "read", timeout=True)


OK = UpstreamReply(200, b'{"ok": true}', "opc-1")


class FakeStream:
    def __init__(
        self, blocks: Sequence[bytes] = (b"data: 1\n\n", b"data: 2\n\n"), *, fail: GatewayError | None = None
    ) -> None:
        self.blocks = list(blocks)
        self.fail = fail
        self.request_id: str | None = "opc-stream"
        self.closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._blocks()

    async def _blocks(self) -> AsyncIterator[bytes]:
        for block in self.blocks:
            yield block
        if self.fail is not None:
            raise self.fail

    async def aclose(self) -> None:
        self.closed = True


Step = UpstreamReply | GatewayError | FakeStream | float
"""A scripted answer: a reply, an error to raise, a stream, or a number of (fake) seconds to take first."""


@dataclass
class FakeProvider:
    """A Provider that answers each call with the next step of its script (the last one repeats)."""

    name: str
    script: list[Step] = field(default_factory=lambda: [OK])
    region: str | None = "us-chicago-1"
    clock: FakeClock | None = None
    type: str = "oracle"
    base_url: str = "https://fake"
    calls: list[tuple[str, bytes, str]] = field(default_factory=list)
    hang: bool = False
    secrets: SecretPair | None = None
    used: list[str] = field(default_factory=list)

    def _next(self) -> Step:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    async def _answer(self, path: str, body: bytes, model: str) -> UpstreamReply | FakeStream:
        self.calls.append((path, body, model))
        if self.hang:
            await asyncio.Event().wait()
        step = self._next()
        while isinstance(step, float):
            assert self.clock is not None
            self.clock.now += step
            step = self._next()
        if self.secrets is not None:
            secret = self.secrets.current()
            self.used.append(secret)
            if isinstance(step, GatewayError) and step.upstream_status == 401:
                step.retryable = self.secrets.report_unauthorized(secret)
        if isinstance(step, GatewayError):
            raise step
        return step

    async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply:
        answer = await self._answer(path, body, model)
        assert isinstance(answer, UpstreamReply)
        return answer

    async def open_stream(self, path: str, body: bytes, *, model: str) -> FakeStream:
        answer = await self._answer(path, body, model)
        assert isinstance(answer, FakeStream)
        return answer

    async def list_models(self) -> list[ListedModel] | None:
        return None


class Recorder(NullHooks):
    """Every dispatch event, as a tuple."""

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def on_attempt(self, attempt: Attempt) -> None:
        self.events.append(("attempt", attempt.deployment, attempt.status, attempt.kind))

    def on_retry(self, model: str, deployment: str, delay_s: float) -> None:
        self.events.append(("retry", model, deployment, delay_s))

    def on_fallback(self, model: str, to_model: str) -> None:
        self.events.append(("fallback", model, to_model))

    def on_result(self, model: str, deployment: str | None, status: int, duration_s: float) -> None:
        self.events.append(("result", model, deployment, status))

    def on_first_token(self, model: str, seconds: float) -> None:
        self.events.append(("first_token", model, seconds))

    def on_usage(self, model: str, usage: Mapping[str, object]) -> None:
        self.events.append(("usage", model, dict(usage)))

    def named(self, kind: str) -> list[tuple[object, ...]]:
        return [event for event in self.events if event[0] == kind]


@dataclass
class Setup:
    dispatcher: Dispatcher
    router: Router
    breakers: BreakerBoard
    clock: FakeClock
    hooks: Recorder


def make(
    routes: Sequence[ModelRoute],
    *,
    policy: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    clock: FakeClock | None = None,
    seed: int = 7,
) -> Setup:
    """A dispatcher over ``routes`` with a fake clock, seeded random sources and a recorder of its events."""
    clock = clock or FakeClock()
    router = Router(routes, rng=random.Random(seed))
    breakers = BreakerBoard(breaker, clock=clock)
    hooks = Recorder()
    dispatcher = Dispatcher(
        router,
        breakers,
        hooks,
        policy or RetryPolicy(jitter=False),
        sleep=clock.sleep,
        clock=clock,
        wall_clock=lambda: 1_700_000_000.0,
        rng=random.Random(seed),
    )
    return Setup(dispatcher, router, breakers, clock, hooks)


def deployment(provider: FakeProvider, model: str = "m", **kwargs: Any) -> Deployment:
    return Deployment(f"{provider.name}/{model}", provider, model, **kwargs)


def body_for(d: Deployment) -> bytes:
    return d.upstream_model.encode()


def one(provider: FakeProvider, name: str = "gpt") -> ModelRoute:
    return ModelRoute(name, (deployment(provider),))


def two(first: FakeProvider, second: FakeProvider, name: str = "gpt") -> ModelRoute:
    """Two deployments tried in a fixed order (priority), as two regions of one model."""
    return ModelRoute(name, (deployment(first), deployment(second, priority=1)))


def real_time(routes: list[ModelRoute], policy: RetryPolicy) -> tuple[Dispatcher, BreakerBoard, Router]:
    router = Router(routes, rng=random.Random(1))
    breakers = BreakerBoard()
    return Dispatcher(router, breakers, Recorder(), policy, rng=random.Random(1)), breakers, router
