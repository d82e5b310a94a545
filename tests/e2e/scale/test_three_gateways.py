"""Governance holds across processes: three ``ocigate serve`` processes sharing one Postgres and one Redis, driven
at once through all three.

- a key's requests-per-minute limit is exact across the three: of 3×N simultaneous requests exactly N get through
  and the rest get an OpenAI-style 429 with ``Retry-After``;
- a total token budget stops every gateway at one total: the shared counter, reservations of requests in flight
  included, never passes the budget; once settled it equals the tokens the admitted requests really used, the
  usage report and what every gateway reports; and it stops only when the next request's reservation no longer
  fits (``spent + estimate > budget``: the guarantee ``limits/limiter.py`` gives, not "exactly the budget");
- a key revoked through one gateway's admin API is refused (401) by all three within a second;
- after a graceful stop (SIGTERM, exit 0) the ``usage`` table holds one row per answer the gateways recorded
  (200, and the 403/429 of admission; not the 401 of authentication), per key and status, with the same tokens.

The tests share one set of processes and one ledger of answers; the last one stops the gateways.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx
import redis.asyncio
from sqlalchemy import distinct, func, select

from ocigate.governance.pricing import estimate_prompt_tokens
from ocigate.store.database import open_engine
from ocigate.store.tables import usage
from tests.support.cluster import (
    MASTER,
    MODEL,
    REDIS_URL,
    STOP_TIMEOUT_S,
    Cluster,
    Process,
    counter_name,
    error_of,
    tokens_of,
)

MAX_TOKENS = 16
_MESSAGES = [{"role": "user", "content": "Say hello"}]
BODY = json.dumps({"model": MODEL, "messages": _MESSAGES, "max_tokens": MAX_TOKENS}, separators=(",", ":")).encode()
STREAM_BODY = json.dumps(
    {
        "model": MODEL,
        "messages": _MESSAGES,
        "max_tokens": MAX_TOKENS,
        "stream": True,
        "stream_options": {"include_usage": True},
    },
    separators=(",", ":"),
).encode()
STREAM_ESTIMATE = estimate_prompt_tokens(len(STREAM_BODY)) + MAX_TOKENS
"""What ``Governance.admit`` reserves for one streamed request: the prompt estimated from the body's size plus
the output asked for."""
RPM = 30
BUDGET = 600
"""Tokens, in total: about 50 requests (a dozen real tokens each, ``STREAM_ESTIMATE`` reserved while in flight)."""
WORKERS_PER_GATEWAY = 4
RECORDED = {200, 403, 429}
"""The answers that write a usage row: a route's outcome and the refusals of ``Governance.admit``."""
ANSWERED = RECORDED | {401}
POLL_PAUSE_S = 0.005
"""Between one poller's requests while waiting for a revocation: the resolution of the time measured."""
REQUEST_TIMEOUT_S = 15.0
SETTLE_TIMEOUT_S = 10.0


class Client:
    """HTTP to the three gateways; every ``/v1`` answer goes in the cluster's ledger."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(REQUEST_TIMEOUT_S), limits=limits)
        self.in_flight = 0

    async def __aenter__(self) -> Client:
        assert not self.cluster.stopped, "the gateways were stopped by an earlier test"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.http.aclose()

    async def chat(self, gateway: Process, secret: str, key_id: str | None, *, stream: bool = False) -> httpx.Response:
        self.in_flight += 1
        try:
            response = await self.http.post(
                f"{gateway.url}/v1/chat/completions",
                content=STREAM_BODY if stream else BODY,
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            self.cluster.ledger.unanswered += 1
            raise AssertionError(f"{gateway.name} gave no answer ({exc!r})\n{gateway.log_tail()}") from exc
        finally:
            self.in_flight -= 1
        self.cluster.ledger.record(key_id, response)
        return response

    async def models(self, gateway: Process, secret: str) -> httpx.Response:
        """``GET /v1/models``: authenticates the key (and caches it) without a usage record or a limit."""
        return await self.http.get(f"{gateway.url}/v1/models", headers={"Authorization": f"Bearer {secret}"})

    async def admin(self, gateway: Process, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.http.request(
            method, f"{gateway.url}{path}", json=body, headers={"Authorization": f"Bearer {MASTER}"}
        )

    async def create_key(self, gateway: Process, name: str, **fields: Any) -> tuple[str, str]:
        reply = await self.admin(gateway, "POST", "/admin/keys", {"name": name, **fields})
        assert reply.status_code == 201, reply.text
        created = reply.json()
        self.cluster.key_ids.append(created["id"])
        return created["id"], created["secret"]

    async def budget_spent(self, gateway: Process, key_id: str) -> float:
        """The key's budget counter as the gateway reads it from Redis (requests in flight: their reservation)."""
        reply = await self.admin(gateway, "GET", f"/admin/keys/{key_id}")
        assert reply.status_code == 200, reply.text
        spent: float = reply.json()["budget"]["spent"]
        return spent


def _check_statuses(responses: Sequence[httpx.Response], allowed: set[int]) -> Counter[int]:
    statuses = Counter(r.status_code for r in responses)
    odd = [r for r in responses if r.status_code not in allowed]
    assert not odd, f"unexpected answers: {[(r.status_code, r.text[:300]) for r in odd[:3]]}"
    return statuses


async def test_rpm_limit_is_exact_across_three_gateways(cluster: Cluster) -> None:
    gateways = cluster.gateways
    async with Client(cluster) as client:
        key_id, secret = await client.create_key(gateways[0], "scale-rpm", rpm=RPM)
        for gateway in gateways:  # the key in every gateway's cache (1 s), so that none starts late
            assert (await client.models(gateway, secret)).status_code == 200
        started = time.monotonic()
        responses = await asyncio.gather(*(client.chat(gateways[i % 3], secret, key_id) for i in range(3 * RPM)))
        elapsed = time.monotonic() - started
    statuses = _check_statuses(responses, {200, 429})
    assert statuses == Counter({200: RPM, 429: 2 * RPM}), (statuses, cluster.logs())
    for response in responses:
        if response.status_code == 200:
            assert response.json()["choices"][0]["message"]["content"]
            continue
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= 60, response.headers
        assert response.headers["x-ratelimit-limit-requests"] == str(RPM)
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
        error = error_of(response)
        assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded", error
        assert f"{RPM} requests per minute" in error["message"], error
    served_by = Counter(gateways[i % 3].name for i, r in enumerate(responses) if r.status_code == 200)
    print(
        f"\nrpm: {3 * RPM} requests at once over 3 gateways in {elapsed:.2f} s: {RPM} served "
        f"({dict(sorted(served_by.items()))}), {2 * RPM} refused"
    )


async def test_budget_stops_every_gateway_at_one_total(cluster: Cluster) -> None:
    gateways = cluster.gateways
    budget = {"amount": BUDGET, "unit": "tokens", "period": "total"}
    counter: redis.asyncio.Redis = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    async with Client(cluster) as client:
        key_id, secret = await client.create_key(gateways[0], "scale-budget", budget=budget)
        samples: list[int] = []
        burst_over = asyncio.Event()

        async def watch() -> None:
            """The shared counter while the burst runs: what was spent plus what requests in flight reserved."""
            while not burst_over.is_set():
                raw = await counter.get(counter_name(key_id, "budget:total"))
                if raw is not None:
                    samples.append(int(raw))
                await asyncio.sleep(0.001)

        async def worker(gateway: Process) -> list[httpx.Response]:
            """Streams until refused with nothing else in flight (a refusal while others run may only be their
            reservations: try again a little later)."""
            answers: list[httpx.Response] = []
            while True:
                response = await client.chat(gateway, secret, key_id, stream=True)
                answers.append(response)
                assert len(answers) <= 200, "a worker was never refused for good"
                if response.status_code == 200:
                    continue
                if client.in_flight == 0:
                    return answers
                await asyncio.sleep(0.1)

        async def settled() -> float:
            """Waits until the counter holds only real usage (every settlement done), and returns it."""
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while True:
                spent = await client.budget_spent(gateways[0], key_id)
                if spent == cluster.ledger.tokens[key_id]:
                    return spent
                assert time.monotonic() < deadline, (spent, cluster.ledger.tokens[key_id])
                await asyncio.sleep(0.01)

        started = time.monotonic()
        watcher = asyncio.create_task(watch())
        try:
            bursts = await asyncio.gather(*(worker(g) for g in gateways for _ in range(WORKERS_PER_GATEWAY)))
        finally:
            burst_over.set()
            await watcher
            await counter.aclose()
        burst = [r for answers in bursts for r in answers]
        burst_time = time.monotonic() - started
        # The last reservations may still be settling: sweep, settled, until every gateway refuses.
        sweep: list[httpx.Response] = []
        deadline = time.monotonic() + 30
        while True:
            await settled()
            round_ = [await client.chat(g, secret, key_id, stream=True) for g in gateways]
            sweep += round_
            if all(r.status_code == 429 for r in round_):
                break
            assert time.monotonic() < deadline, "the budget was never exhausted"
        spent = await settled()
        seen = [await client.budget_spent(g, key_id) for g in gateways]
        reports = []
        for gateway in gateways:  # each flushes its own usage writer before it reads the table
            reply = await client.admin(gateway, "GET", f"/admin/usage?by=key&key={key_id}")
            assert reply.status_code == 200, reply.text
            reports.append(reply.json()["data"])
    answers = [*burst, *sweep]
    statuses = _check_statuses(answers, {200, 429})
    served = [r for r in answers if r.status_code == 200]
    used = [tokens_of(r) for r in served]
    assert all(0 < u <= STREAM_ESTIMATE for u in used), used  # every reservation covered what was used
    for response in answers:
        if response.status_code == 429:
            error = error_of(response)
            assert error["type"] == "insufficient_quota" and error["code"] == "budget_exceeded", error
            assert f"{BUDGET:,} tokens total budget" in error["message"], error
            assert response.headers["x-should-retry"] == "false"
            assert "retry-after" not in response.headers  # a total budget does not come back by waiting
    # One total, whichever gateway is asked, equal to the tokens the admitted requests used.
    assert spent == sum(used) == cluster.ledger.tokens[key_id], (spent, sum(used))
    assert seen == [spent] * 3, seen
    # Reserving at admission: the counter never passed the budget, with requests in flight on three gateways.
    assert samples and max(samples) <= BUDGET, max(samples, default=None)
    assert spent <= BUDGET
    # And it stopped only when the next request's reservation no longer fitted.
    assert spent + STREAM_ESTIMATE > BUDGET, (spent, STREAM_ESTIMATE)
    final = reports[-1]
    assert len(final) == 1, final
    row = final[0]
    assert row["prompt_tokens"] + row["completion_tokens"] == spent, row
    assert row["requests"] == len(answers) and row["errors"] == statuses[429], (row, statuses)
    print(
        f"\nbudget: {BUDGET} tokens total, 3 gateways × {WORKERS_PER_GATEWAY} streaming workers, {burst_time:.2f} s: "
        f"{len(served)} served ({sum(1 for r in sweep if r.status_code == 200)} in the settled sweep), "
        f"{statuses[429]} refused; spent {spent:.0f} (reserved per request {STREAM_ESTIMATE}, used {used[0]}); "
        f"counter with reservations: highest {max(samples)} over {len(samples)} samples"
    )


async def test_revocation_reaches_every_gateway_within_a_second(cluster: Cluster) -> None:
    gateways = cluster.gateways
    async with Client(cluster) as client:
        key_id, secret = await client.create_key(gateways[0], "scale-revoke")
        for gateway in gateways:  # in use on all three: each has it in its key cache
            assert (await client.chat(gateway, secret, key_id)).status_code == 200
        revoked_at: float | None = None
        timelines: dict[str, list[tuple[float, float, int]]] = {g.name: [] for g in gateways}
        refusals: list[httpx.Response] = []

        async def poll(gateway: Process) -> None:
            timeline = timelines[gateway.name]
            while True:
                sent = time.monotonic()
                response = await client.chat(gateway, secret, key_id)
                timeline.append((sent, time.monotonic(), response.status_code))
                assert response.status_code in (200, 401), response.text
                if response.status_code == 401:
                    refusals.append(response)
                    if sum(1 for *_, status in timeline if status == 401) == 3:
                        return
                assert revoked_at is None or sent - revoked_at < 3.0, f"{gateway.name} still serves the key"
                await asyncio.sleep(POLL_PAUSE_S)

        pollers = [asyncio.create_task(poll(g)) for g in gateways]
        try:
            await asyncio.sleep(0.2)
            revoke_sent = time.monotonic()
            revoke = await client.admin(gateways[1], "POST", f"/admin/keys/{key_id}/revoke")
            revoked_at = time.monotonic()
            assert revoke.status_code == 200 and revoke.json()["status"] == "revoked", revoke.text
            await asyncio.wait_for(asyncio.gather(*pollers), 10)
        finally:
            for poller in pollers:
                poller.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
    lags: dict[str, float] = {}
    since_sent: dict[str, float] = {}
    for name, timeline in timelines.items():
        first_refusal = next(i for i, (*_, status) in enumerate(timeline) if status == 401)
        _, received_at, _ = timeline[first_refusal]
        assert all(status == 401 for *_, status in timeline[first_refusal:]), (name, timeline)
        assert sum(1 for *_, status in timeline[:first_refusal] if status == 200) >= 2, f"{name} was not in use"
        lags[name] = received_at - revoked_at
        since_sent[name] = received_at - revoke_sent
        assert lags[name] <= 1.0, f"{name} answered 401 only {lags[name]:.3f} s after the revocation"
        late = [sent for sent, _, status in timeline if status == 200 and sent > revoked_at]
        assert not late or max(late) - revoked_at <= 1.0, (name, late)
    for response in refusals:
        error = error_of(response)
        assert error["type"] == "authentication_error" and error["code"] == "key_revoked", error
    print(
        f"\nrevocation through gateway-2 (its answer took {(revoked_at - revoke_sent) * 1000:.1f} ms): first 401 "
        "received, after the revoke was sent / after its answer: "
        + ", ".join(f"{name} {since_sent[name] * 1000:.1f} / {lags[name] * 1000:.1f} ms" for name in lags)
    )


async def test_usage_rows_equal_requests_served(cluster: Cluster) -> None:
    """Runs last: stops the gateways. Adds traffic of its own (master key, a 403, a 401), so that it proves
    something when run alone too."""
    gateways = cluster.gateways
    async with Client(cluster) as client:
        key_id, secret = await client.create_key(gateways[2], "scale-models", allowed_models=["xai.*"])
        for gateway in gateways:
            assert (await client.chat(gateway, MASTER, None)).status_code == 200
            refused = await client.chat(gateway, secret, key_id)
            assert refused.status_code == 403 and error_of(refused)["code"] == "model_not_allowed"
            unknown = await client.chat(gateway, "ogk-" + "x" * 43, "ogk-unknown")
            assert unknown.status_code == 401
    started = time.monotonic()
    for gateway in gateways:
        gateway.terminate()
    cluster.stopped = True
    codes = {g.name: g.wait(STOP_TIMEOUT_S) for g in gateways}
    stopping = time.monotonic() - started
    assert codes == {g.name: 0 for g in gateways}, (codes, cluster.logs())

    ledger = cluster.ledger
    assert ledger.unanswered == 0
    assert {status for _, status in ledger.answers} <= ANSWERED, ledger.answers
    expected = Counter({(key, status): n for (key, status), n in ledger.answers.items() if status in RECORDED})

    engine = await open_engine(cluster.database_url)
    try:
        async with engine.connect() as conn:
            grouped = (
                await conn.execute(
                    select(
                        usage.c.key_id,
                        usage.c.status,
                        func.count(),
                        func.sum(usage.c.prompt_tokens + usage.c.completion_tokens),
                    ).group_by(usage.c.key_id, usage.c.status)
                )
            ).all()
            rows, ids = (await conn.execute(select(func.count(), func.count(distinct(usage.c.request_id))))).one()
    finally:
        await engine.dispose()
    found = Counter({(key, status): count for key, status, count, _ in grouped})
    tokens: Counter[str | None] = Counter()
    for key, status, _, used in grouped:
        if status == 200:
            tokens[key] += int(used)
    assert found == expected, (found, expected)
    assert rows == ids == sum(expected.values())
    assert tokens == +ledger.tokens, (tokens, ledger.tokens)
    print(
        f"\nusage: {rows} rows for {sum(expected.values())} recorded answers "
        f"({sum(n for (_, s), n in ledger.answers.items() if s == 401)} 401s not recorded); "
        f"graceful stop of 3 gateways in {stopping:.2f} s"
    )
