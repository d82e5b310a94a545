"""The one attempt loop: retries, failover across deployments, fallbacks to other models, a time budget.

Providers make one attempt and raise :class:`~ocigate.core.errors.GatewayError` with ``.retryable``; this module alone
decides what happens next. For one request:

1. The route's deployments in :meth:`Router.order` order (priorities, strategy, open circuits left out), each tried
   at once: a retryable failure (429, 5xx, connection error, timeout) moves on to the next deployment (another
   region) before any is tried again.
2. A deployment is tried again (``max_attempts`` in all) once its own delay has passed: exponential backoff with
   full jitter, or the upstream's ``Retry-After`` when longer. A delay that would end past the budget drops the
   deployment instead, so the client sees the upstream's error and its ``Retry-After``. A 401 made retryable by a
   secret switch (``secrets_pair.py``) is tried again at once, once, without counting against ``max_attempts``.
3. Then the route's fallbacks (other public models), in order, the same way; a pinned request has none.
4. A non-retryable error (400, 404...) is raised at once: it is the request's fault, not the deployment's.
5. The budget bounds it all: no sleep or attempt starts after it, and an attempt in flight is cut at it. When all
   failed, the last upstream error is raised with a message naming every attempt ("tried a/m (503), b/m (429)").

A stream is open once the upstream answered 200 with its headers (with ``stream_failover="first_block"``, once its
first event arrived, still unseen by the client): failover happens only up to there, within ``first_byte_s``.
After that the relay owns errors; :class:`DispatchedStream` passes blocks and errors through unchanged, timing the
first block and reporting how the stream ended. Attempts go to the hooks and into the ``x-ocigate-*`` headers of
``Sent.headers()``, ``Opened.headers()`` and raised errors. Clock, sleep and random source are injectable.

Usage::

    dispatcher = Dispatcher(router, breakers, metrics, RetryPolicy(max_attempts=3, budget_s=120))
    resolved = router.resolve(payload["model"])
    body_for = lambda d: orjson.dumps({**payload, "model": d.upstream_model})   # called once per deployment
    reply, deployment, attempts = await dispatcher.send(resolved.route, "chat/completions", body_for, pin=resolved.pin)
    async for block in (await dispatcher.open_stream(resolved.route, "chat/completions", body_for)).stream: ...
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ocigate.config.policies import RetryPolicy
from ocigate.core.errors import GatewayError
from ocigate.providers.base import UpstreamReply, UpstreamStream
from ocigate.routing.breaker import BreakerBoard, counts_as_failure
from ocigate.routing.events import Attempt, AttemptTracer, DispatchHooks, NullHooks, attempt_headers, failure_kind
from ocigate.routing.retry import given_up, retry_after_s, timed_out
from ocigate.routing.router import Deployment, ModelRoute, Router

PathFor = str | Callable[[Deployment], str]
"""The upstream path, or a function of the deployment (the Responses API goes to ``responses`` or
``chat/completions`` depending on the upstream)."""
BodyFor = Callable[[Deployment], bytes]
"""The request body for a deployment (its upstream model name, its family's clean-up); called once per deployment
per request."""


class Sent(NamedTuple):
    reply: UpstreamReply
    deployment: Deployment
    attempts: list[Attempt]

    def headers(self) -> dict[str, str]:
        return attempt_headers(self.attempts, self.deployment)


class Opened(NamedTuple):
    stream: DispatchedStream
    deployment: Deployment
    attempts: list[Attempt]

    def headers(self) -> dict[str, str]:
        return attempt_headers(self.attempts, self.deployment)


@dataclass(slots=True)
class _Opening:
    stream: UpstreamStream
    iterator: AsyncIterator[bytes] | None = None
    first: bytes | None = None


@dataclass(slots=True)
class _Run:
    """One request's way through its routes."""

    route: ModelRoute
    path: PathFor
    body_for: BodyFor
    pin: str | None
    stream: bool
    started: float
    deadline: float
    attempts: list[Attempt] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    last: GatewayError | None = None
    skipped: list[str] = field(default_factory=list)
    out_of_budget: bool = False

    def body(self, deployment: Deployment) -> bytes:
        body = self.bodies.get(deployment.name)
        if body is None:
            body = self.bodies[deployment.name] = self.body_for(deployment)
        return body


class Dispatcher:
    def __init__(
        self,
        router: Router,
        breakers: BreakerBoard,
        hooks: DispatchHooks | None = None,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.router = router
        self.breakers = breakers
        self.hooks: DispatchHooks = hooks or NullHooks()
        self.tracer: AttemptTracer | None = None  # set when tracing is on (observe/tracing.py)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()

    async def send(
        self,
        route: ModelRoute,
        path: PathFor,
        body_for: BodyFor,
        *,
        pin: str | None = None,
        budget_s: float | None = None,
    ) -> Sent:
        """One non-streaming request: the reply of the first attempt that succeeded, which deployment gave it, and
        every attempt made. Raises the error a client should see."""
        run = _Run(route, path, body_for, pin, False, *self._window(budget_s))
        reply, deployment = await self._dispatch(run)
        assert isinstance(reply, UpstreamReply)
        self.hooks.on_result(route.public_name, deployment.name, reply.status, self._clock() - run.started)
        return Sent(reply, deployment, run.attempts)

    async def open_stream(
        self,
        route: ModelRoute,
        path: PathFor,
        body_for: BodyFor,
        *,
        pin: str | None = None,
        budget_s: float | None = None,
    ) -> Opened:
        """One streaming request, opened (see the module docstring); the caller iterates and closes the stream."""
        run = _Run(route, path, body_for, pin, True, *self._window(budget_s))
        opening, deployment = await self._dispatch(run)
        assert isinstance(opening, _Opening)
        if opening.first is not None:
            self.hooks.on_first_token(route.public_name, self._clock() - run.started)

        def first() -> None:
            self.hooks.on_first_token(route.public_name, self._clock() - run.started)

        def ended(status: int, err: GatewayError | None) -> None:
            self.router.finished(deployment)
            if err is not None and counts_as_failure(err):
                self.breakers.get(deployment.name).failure()
            self.hooks.on_result(route.public_name, deployment.name, status, self._clock() - run.started)

        stream = DispatchedStream(opening.stream, first, ended, iterator=opening.iterator, first=opening.first)
        return Opened(stream, deployment, run.attempts)

    def _window(self, budget_s: float | None) -> tuple[float, float]:
        now = self._clock()
        return now, now + (self.policy.budget_s if budget_s is None else budget_s)

    async def _open_once(self, deployment: Deployment, path: str, body: bytes) -> _Opening:
        stream = await deployment.provider.open_stream(path, body, model=deployment.upstream_model)
        if self.policy.stream_failover == "headers":
            return _Opening(stream)
        iterator = stream.__aiter__()
        try:
            return _Opening(stream, iterator, await iterator.__anext__())
        except StopAsyncIteration:
            return _Opening(stream, iterator)
        except BaseException:
            await stream.aclose()
            raise

    async def _dispatch(self, run: _Run) -> tuple[UpstreamReply | _Opening, Deployment]:
        try:
            chain = [run.route]
            if run.pin is None and run.route.fallbacks:
                chain += [r for r in map(self.router.route, run.route.fallbacks) if r is not None]
            for hop, route in enumerate(chain):
                if hop:
                    self.hooks.on_fallback(run.route.public_name, route.public_name)
                won = await self._through(run, route)
                if won is not None:
                    return won
                if self._clock() >= run.deadline:
                    run.out_of_budget = True
                    break
            raise self._exhausted(run) from run.last
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            status = exc.status if isinstance(exc, GatewayError) else 499 if cancelled else 500
            self.hooks.on_result(run.route.public_name, None, status, self._clock() - run.started)
            raise

    async def _through(self, run: _Run, route: ModelRoute) -> tuple[UpstreamReply | _Opening, Deployment] | None:
        """One route's deployments, with retries; None when none of them succeeded."""
        live = self.router.order(route, self.breakers, pin=run.pin, stream=run.stream)
        if len(live) < len(route.deployments):
            kept = {d.name for d in live}
            run.skipped += [
                d.name
                for d in route.deployments
                if d.name not in kept and (run.pin is None or run.pin in (d.name, d.key))
            ]
        tries: dict[str, int] = {}
        ready: dict[str, float] = {}
        rekeyed: set[str] = set()
        retrying = False
        while live:
            # the untried first, in order; then whichever may be tried again soonest
            deployment = live[0] if len(live) == 1 else min(live, key=lambda d: ready.get(d.name, -math.inf))
            wait = ready[deployment.name] - self._clock() if deployment.name in ready else 0.0
            if wait > 0:
                await self._sleep(wait)
            if self._clock() >= run.deadline:
                run.out_of_budget = True
                return None
            body = run.body(deployment)
            if not self.breakers.acquire(deployment.name):
                run.skipped.append(deployment.name)
                live.remove(deployment)
                continue
            if retrying:
                self.hooks.on_retry(route.public_name, deployment.name, max(0.0, wait))
            retrying = True
            call = self._attempt(run, route, deployment, body)
            if self.tracer is not None:  # the attempt in a span, its trace context sent upstream
                call = self.tracer.attempt(route.public_name, deployment, run.attempts, call)
            result = await call
            if not isinstance(result, GatewayError):
                return result, deployment
            if not result.retryable:
                raise self._annotated(result, run.attempts)
            if result.upstream_status == 401 and deployment.name not in rekeyed:
                rekeyed.add(deployment.name)  # the provider moved to its other secret: again at once, not counted
                continue
            count = tries[deployment.name] = tries.get(deployment.name, 0) + 1
            delay = self._delay(count, result)
            if count >= self.policy.max_attempts:
                live.remove(deployment)
            elif self._clock() + delay >= run.deadline:
                run.out_of_budget = True  # not slept: the client gets the upstream's error and its Retry-After
                live.remove(deployment)
            else:
                ready[deployment.name] = self._clock() + delay
        return None

    def _delay(self, retry: int, err: GatewayError) -> float:
        delay = self.policy.backoff(retry, self._rng)
        if self.policy.honour_retry_after:
            after = retry_after_s(err.headers, self._wall_clock())
            if after is not None:
                delay = max(delay, after)
        return delay

    async def _attempt(
        self, run: _Run, route: ModelRoute, deployment: Deployment, body: bytes
    ) -> UpstreamReply | _Opening | GatewayError:
        begun = self._clock()
        remaining = run.deadline - begun
        timeouts = deployment.timeouts
        # A stream's opening is always timed (first_byte_s); a reply only when the budget ends (a second or more)
        # before the provider's own reply_s would, which keeps a timer off the healthy path.
        by_budget = remaining <= timeouts.first_byte_s if run.stream else remaining < timeouts.reply_s - 1.0
        limit = remaining if by_budget else timeouts.first_byte_s if run.stream else None
        path = run.path if isinstance(run.path, str) else run.path(deployment)
        self.router.started(deployment)
        err: GatewayError
        try:
            call = (
                self._open_once(deployment, path, body)
                if run.stream
                else deployment.provider.send(path, body, model=deployment.upstream_model)
            )
            if limit is None:
                result = await call
            else:
                async with asyncio.timeout(limit):
                    result = await call
        except TimeoutError:
            err = timed_out(deployment.name, limit or timeouts.reply_s, by_budget)
        except GatewayError as exc:
            err = exc
        except BaseException:
            self.router.finished(deployment)
            self.breakers.release(deployment.name)
            raise
        else:
            elapsed = self._clock() - begun
            self.breakers.record(deployment.name, None)
            self.router.observe(deployment, elapsed, stream=run.stream)
            if not run.stream:
                self.router.finished(deployment)
            status = result.status if isinstance(result, UpstreamReply) else 200
            self._record(run, Attempt(route.public_name, deployment.name, status, elapsed))
            return result
        self.router.finished(deployment)
        if err.code == "budget_exhausted":
            self.breakers.release(deployment.name)  # the budget ran out, which says nothing of the deployment
        else:
            self.breakers.record(deployment.name, err)
        status = err.upstream_status or err.status
        self._record(run, Attempt(route.public_name, deployment.name, status, self._clock() - begun, failure_kind(err)))
        run.last = err
        return err

    def _record(self, run: _Run, attempt: Attempt) -> None:
        run.attempts.append(attempt)
        self.hooks.on_attempt(attempt)

    def _annotated(self, err: GatewayError, attempts: list[Attempt]) -> GatewayError:
        err.headers = {**err.headers, **attempt_headers(attempts, None)}
        return err

    def _exhausted(self, run: _Run) -> GatewayError:
        tried = {a.deployment for a in run.attempts}
        skipped = list(dict.fromkeys(name for name in run.skipped if name not in tried))
        probe_in = min((self.breakers.get(name).retry_in() for name in skipped), default=0.0)
        err = given_up(
            run.route.public_name, run.attempts, run.last, skipped, out_of_budget=run.out_of_budget, probe_in_s=probe_in
        )
        return self._annotated(err, run.attempts)


class DispatchedStream:
    """An opened upstream stream as the dispatcher hands it over: the provider's blocks and errors, unchanged (no
    failover from here on), with the first block timed and the end reported (status 200 when it ran out, the
    error's status when it failed, 499 when closed before its end). The caller must ``aclose()`` it."""

    __slots__ = ("upstream", "request_id", "_iterator", "_first", "_seen", "_on_first", "_on_end", "_ended")

    def __init__(
        self,
        upstream: UpstreamStream,
        on_first: Callable[[], None],
        on_end: Callable[[int, GatewayError | None], None],
        *,
        iterator: AsyncIterator[bytes] | None = None,
        first: bytes | None = None,
    ) -> None:
        self.upstream = upstream
        self.request_id = upstream.request_id
        self._iterator = iterator
        self._first = first
        self._seen = first is not None
        self._on_first = on_first
        self._on_end = on_end
        self._ended = False

    def __aiter__(self) -> DispatchedStream:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            block, self._first = self._first, None
            return block
        if self._iterator is None:
            self._iterator = self.upstream.__aiter__()
        try:
            block = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._end(200, None)
            raise
        except GatewayError as err:
            self._end(err.status, err)
            raise
        if not self._seen:
            self._seen = True
            self._on_first()
        return block

    async def aclose(self) -> None:
        try:
            await self.upstream.aclose()
        finally:
            self._end(499, None)

    def _end(self, status: int, err: GatewayError | None) -> None:
        if not self._ended:
            self._ended = True
            self._on_end(status, err)
