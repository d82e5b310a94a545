"""Streams through the dispatcher: failover until open (or until the first event), then the relay's."""

from __future__ import annotations

import pytest

from ocigate.config.policies import RetryPolicy, Timeouts
from ocigate.core.errors import UpstreamError
from ocigate.routing.router import ModelRoute
from tests.support.fakes import (
    FakeProvider,
    FakeStream,
    body_for,
    deployment,
    make,
    one,
    oracle,
    real_time,
    two,
    unreachable,
)


async def test_a_stream_slow_to_open_fails_over_at_its_first_byte_timeout() -> None:
    slow, quick = FakeProvider("a", hang=True), FakeProvider("b", [FakeStream()])
    route = ModelRoute("gpt", (deployment(slow, timeouts=Timeouts(first_byte_s=0.05)), deployment(quick, priority=1)))
    dispatcher, breakers, _ = real_time([route], RetryPolicy(max_attempts=1))
    opened = await dispatcher.open_stream(route, "chat/completions", body_for)
    assert opened.deployment.name == "b/m"
    assert [(a.deployment, a.kind) for a in opened.attempts] == [("a/m", "timeout"), ("b/m", None)]
    assert breakers.get("a/m").failures == 1
    await opened.stream.aclose()


async def test_a_stream_that_fails_before_opening_fails_over() -> None:
    stream = FakeStream()
    a, b = FakeProvider("a", [oracle(503)]), FakeProvider("b", [stream])
    s = make([two(a, b)])
    opened = await s.dispatcher.open_stream(s.router.routes["gpt"], "chat/completions", body_for)
    assert opened.deployment.name == "b/m" and opened.stream.upstream is stream
    assert opened.headers()["x-ocigate-attempt-log"] == "a/m 503 0ms, b/m 200 0ms"
    assert opened.stream.request_id == "opc-stream"
    assert [block async for block in opened.stream] == [b"data: 1\n\n", b"data: 2\n\n"]
    await opened.stream.aclose()
    assert stream.closed and s.router.stats("b/m").in_flight == 0
    assert s.hooks.named("result") == [("result", "gpt", "b/m", 200)]
    assert len(s.hooks.named("first_token")) == 1


async def test_an_opened_stream_is_returned_as_is_and_its_failure_is_the_relays() -> None:
    broken = unreachable()
    a, b = FakeProvider("a", [FakeStream([b"data: 1\n\n"], fail=broken)]), FakeProvider("b")
    s = make([two(a, b)])
    opened = await s.dispatcher.open_stream(s.router.routes["gpt"], "chat/completions", body_for)
    assert opened.deployment.name == "a/m"
    received = []
    with pytest.raises(UpstreamError) as raised:
        async for block in opened.stream:
            received.append(block)
    assert raised.value is broken and received == [b"data: 1\n\n"] and b.calls == []
    await opened.stream.aclose()
    assert s.hooks.named("result") == [("result", "gpt", "a/m", 502)]
    assert s.breakers.get("a/m").failures == 1  # a stream that broke off counts against its deployment


async def test_first_block_failover_survives_a_stream_dropped_after_its_headers() -> None:
    dropped, good = FakeStream([], fail=unreachable()), FakeStream()
    a, b = FakeProvider("a", [dropped]), FakeProvider("b", [good])
    s = make([two(a, b)], policy=RetryPolicy(stream_failover="first_block", max_attempts=1))
    opened = await s.dispatcher.open_stream(s.router.routes["gpt"], "chat/completions", body_for)
    assert opened.deployment.name == "b/m" and dropped.closed
    assert len(s.hooks.named("first_token")) == 1
    assert [block async for block in opened.stream] == [b"data: 1\n\n", b"data: 2\n\n"]
    assert len(s.hooks.named("first_token")) == 1  # the prefetched block was timed once
    await opened.stream.aclose()


async def test_first_block_failover_with_an_empty_stream() -> None:
    s = make([one(FakeProvider("a", [FakeStream([])]))], policy=RetryPolicy(stream_failover="first_block"))
    opened = await s.dispatcher.open_stream(s.router.routes["gpt"], "chat/completions", body_for)
    assert [block async for block in opened.stream] == []
    await opened.stream.aclose()
    assert s.hooks.named("result") == [("result", "gpt", "a/m", 200)]


async def test_a_stream_closed_before_its_end_is_reported_as_499() -> None:
    s = make([one(FakeProvider("a", [FakeStream()]))])
    opened = await s.dispatcher.open_stream(s.router.routes["gpt"], "chat/completions", body_for)
    assert s.router.stats("a/m").in_flight == 1
    assert await opened.stream.__anext__() == b"data: 1\n\n"
    await opened.stream.aclose()
    await opened.stream.aclose()
    assert s.router.stats("a/m").in_flight == 0
    assert s.hooks.named("result") == [("result", "gpt", "a/m", 499)]
