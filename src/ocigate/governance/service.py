"""Team keys, limits, budgets, usage and audit, wired into the request path.

:class:`Governance` is started with the gateway and costs nothing until it is used: the database (SQLAlchemy,
the usage and key tables) is opened by the first usage batch, key lookup or admin call, so start-up and the
memory of a gateway that has served nothing stay as they were. With ``OCIGATE_REDIS_URL`` the limits, the
concurrency leases, the budgets in flight and key-change announcements live in Redis (shared by every gateway
process); without it, in memory.

A model-addressed route (chat, Responses, embeddings, rerank) calls :meth:`Governance.admit` once it has parsed
the request: for a virtual key it checks the model (403) and admits the request against the key's limits
(429 with ``Retry-After``); for every request it returns a :class:`~ocigate.governance.metering.Meter`, which writes one
usage record (and one audit row when the audit log is on) and settles the limits when the route reports the
outcome. :meth:`Governance.close` flushes the usage and audit writers before the database closes, so after a
graceful stop the records equal the requests served.

:class:`~ocigate.governance.auth.GatewayAuth` accepts the master key or a virtual key on ``/v1`` and the master key
only on ``/admin``; what it refuses, :meth:`Governance.audit_refusal` records.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ocigate.catalog.models import ModelInfo, find_model
from ocigate.core.errors import GatewayError
from ocigate.governance.keys import (
    BudgetUnit,
    KeyCache,
    KeyHasher,
    KeyRecord,
    model_allowed,
    model_refused,
)
from ocigate.governance.limits import Limiter, MemoryBackend, admitted_headers
from ocigate.governance.limits.backend import LimitBackend
from ocigate.governance.limits.brokered import BrokerBackend
from ocigate.governance.metering import Meter
from ocigate.governance.pricing import PriceTable, estimate_prompt_tokens
from ocigate.governance.storage import KeyReads, OpenStores, Stores, UsageWriter
from ocigate.governance.usage import BatchWriter, TokenCounts, UsageRecord

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ocigate.config.settings import Settings
    from ocigate.core.asgi import Request
    from ocigate.governance.audit import AuditRecord

log = logging.getLogger("ocigate.governance.service")
KEYS_RECHECK_S = 5.0
DEFAULT_MAX_OUTPUT = 1024
"""The output tokens reserved for a request that does not say how many it wants."""


class Governance:
    def __init__(
        self,
        settings: Settings,
        stores: OpenStores,
        *,
        usage_writer: UsageWriter | None = None,
        key_reads: KeyReads | None = None,
        on_usage: Callable[[UsageRecord], None] | None = None,
        has_keys: Callable[[], Awaitable[bool]] | None = None,
        limits_broker: str | None = None,
        on_broker_lost: Callable[[], None] | None = None,
    ) -> None:
        """``stores``: opens the key, usage and audit tables (``app`` builds them on the gateway's database), called
        once, on first need. ``usage_writer``: where usage records go instead of the usage table (the embedded
        SQLite default's writer). ``key_reads``: where the request path looks keys up and a budget's spend starts
        from instead of those tables (the SQLite default's reader). ``on_usage``: sees every settled usage record
        (the token metrics). ``has_keys``: whether any team key exists (asked only by a gateway without a master
        key). ``limits_broker``: the Unix socket of the parent's limit broker (a worker of ``serve --workers N``
        without Redis), ``on_broker_lost`` what to do when it goes. Nothing is connected until :meth:`start`."""
        self.settings = settings
        self._open_stores = stores
        self.on_usage = on_usage
        self.redis: Redis | None = None
        self._stores: Stores | None = None
        self._lock = asyncio.Lock()
        self.hasher = KeyHasher(settings.key_pepper)
        self.cache = self._key_cache(None)
        self._backend: LimitBackend = MemoryBackend()
        self.limiter = Limiter(self._backend, spend=self, fail_open=not settings.limits_fail_closed)
        self.prices = PriceTable(settings.prices)
        self.recording = settings.usage
        self.usage: BatchWriter[UsageRecord] = BatchWriter(
            self._insert_usage, name="usage", interval_s=0.5, batch_size=2000
        )
        self._usage_writer = usage_writer
        self._key_reads = key_reads
        self.audit: BatchWriter[AuditRecord] | None = (
            BatchWriter(self._insert_audit, name="audit") if settings.audit else None
        )
        self._audit_bodies = settings.audit_bodies
        self._has_keys = has_keys
        self._keys_exist = False
        self._keys_checked = -math.inf
        self._broker = limits_broker
        self._on_broker_lost = on_broker_lost

    def _key_cache(self, redis: Redis | None) -> KeyCache:
        bounds = self.settings.memory
        return KeyCache(self, self.hasher, redis=redis, max_entries=bounds.key_cache, max_unknown=bounds.unknown_keys)

    async def keys_required(self) -> bool:
        """For a gateway without a master key: whether team keys exist, so that every request must present one.
        Once true it stays true; false is asked again every ``KEYS_RECHECK_S`` (a key created meanwhile with
        ``ocigate keys create`` is enforced within that)."""
        if self._keys_exist or self._has_keys is None:
            return self._keys_exist
        now = time.monotonic()
        if now - self._keys_checked < KEYS_RECHECK_S:
            return False
        self._keys_checked = now
        self._keys_exist = await self._has_keys()
        if self._keys_exist:
            log.warning(
                "team keys exist but OCIGATE_MASTER_KEY is not set: every request must present an active team key; "
                "set OCIGATE_MASTER_KEY to administer the keys"
            )
        return self._keys_exist

    async def start(self) -> None:
        """Connects Redis when configured (limits, leases and key announcements shared by every instance), and
        starts the writers."""
        if self.settings.redis_url:
            from ocigate.governance.limits.redis import RedisBackend, connect_redis

            try:
                self.redis = await connect_redis(self.settings.redis_url)
            except Exception as exc:  # noqa: BLE001 - serve anyway; the limiter's policy covers the outage
                from redis.asyncio import Redis

                log.error(
                    "Redis (%s) cannot be reached (%r): limited keys are %s until it can",
                    _where(self.settings.redis_url),
                    exc,
                    "refused" if self.settings.limits_fail_closed else "not limited",
                )
                self.redis = Redis.from_url(self.settings.redis_url, socket_connect_timeout=2)
            self.cache = self._key_cache(self.redis)
            self._backend = RedisBackend(self.redis)
            self.limiter = Limiter(self._backend, spend=self, fail_open=not self.settings.limits_fail_closed)
        elif self._broker is not None:
            self._backend = await BrokerBackend.connect(
                self._broker, on_key_change=lambda key_id: self.cache.forget(key_id), on_lost=self._on_broker_lost
            )
            self.limiter = Limiter(self._backend, spend=self, fail_open=not self.settings.limits_fail_closed)
        await self.cache.start()
        await self.limiter.start()
        await self.usage.start()
        if self.audit is not None:
            await self.audit.start()

    async def close(self) -> None:
        await self.limiter.close()
        await self._backend.close()
        await self.usage.close()
        if self._usage_writer is not None:
            await self._usage_writer.close()
        if self._key_reads is not None:
            await self._key_reads.close()
        if self.audit is not None:
            await self.audit.close()
        await self.cache.close()
        if self.redis is not None:
            await self.redis.aclose()

    async def stores(self) -> Stores:
        """The key, usage and audit tables, opened on first use."""
        if self._stores is None:
            async with self._lock:
                if self._stores is None:
                    stores = await self._open_stores(self.hasher)
                    stores.keys.listen(self.cache.invalidate)
                    if isinstance(self._backend, BrokerBackend):  # and every other worker's, before the answer
                        stores.keys.listen(self._backend.key_changed)
                    self._stores = stores
        return self._stores

    async def flush(self) -> None:
        """Writes the usage (and audit) records waiting now: before a report reads them."""
        await self.usage.flush()
        if self.audit is not None:
            await self.audit.flush()

    # The key cache's lookup and the limiter's spend source: the fast reader where there is one, else the store,
    # opened when first asked.
    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        if self._key_reads is not None:
            return await self._key_reads.get_by_hash(key_hash)
        return await (await self.stores()).keys.get_by_hash(key_hash)

    async def spent_since(self, key_id: str, since: float, unit: BudgetUnit) -> float:
        if self._key_reads is not None:
            return await self._key_reads.spent_since(key_id, since, unit)
        return await (await self.stores()).usage.spent_since(key_id, since, unit)

    async def _insert_usage(self, records: Sequence[UsageRecord]) -> None:
        if self._usage_writer is not None:
            await self._usage_writer.insert(records)
        else:
            await (await self.stores()).usage.insert(records)

    async def _insert_audit(self, records: Sequence[AuditRecord]) -> None:
        await (await self.stores()).audit.insert(records)

    async def admit(self, request: Request, endpoint: str, model: str, payload: dict[str, Any], size: int) -> Meter:
        """The request's meter; for a virtual key, 403 for a model it may not use and 429 over a limit."""
        key: KeyRecord | None = request.state.get("key")
        stream = payload.get("stream") is True
        if key is None:
            return Meter(self, request, None, endpoint, model, stream, size)
        meter = Meter(self, request, key, endpoint, model, stream, size)
        if not model_allowed(key, model):
            meter.failed(403)
            raise model_refused(key, model)
        if key.limited:
            prompt = estimate_prompt_tokens(size)
            output = 0 if endpoint in ("embeddings", "rerank") else output_cap(payload, find_model(model))
            cost = self.prices.estimate(model, prompt_tokens=prompt, max_output_tokens=output)
            limiter = self.limiter
            plan = limiter.admit_now(key, prompt + output, cost)  # in memory and admitted: no coroutine, no Decision
            if plan is not None:
                meter.ticket = plan
                meter.headers = admitted_headers(plan)
                return meter
            decision = await limiter.admit(key, tokens=prompt + output, cost_usd=cost)
            if not decision.allowed:
                meter.failed(429 if decision.limit else 503)
                raise decision.error()
            meter.ticket = decision.ticket
            meter.headers = decision.header_pairs()
        return meter

    def cost(self, model: str, tokens: TokenCounts) -> float:
        return self.prices.cost(
            model,
            prompt_tokens=tokens.prompt_tokens,
            completion_tokens=tokens.completion_tokens,
            cached_tokens=tokens.cached_tokens,
        )

    def settle(self, meter: Meter, record: UsageRecord) -> None:
        """A meter's outcome: the usage record, the limits settled, the audit row."""
        total = record.prompt_tokens + record.completion_tokens
        if self.recording:
            self.usage.submit(record)
        if meter.ticket is not None:
            self.limiter.finish_soon(meter.ticket, tokens=total, cost_usd=record.cost_usd)
        if self.audit is not None:
            self._audit(meter, record)
        if self.on_usage is not None:
            self.on_usage(record)

    def _audit(self, meter: Meter, record: UsageRecord) -> None:
        from ocigate.governance.audit import audit_row, redact_body

        assert self.audit is not None
        body = meter.request.raw_body if self._audit_bodies else None
        self.audit.submit(
            audit_row(
                meter.request,
                record.status,
                record.latency_ms,
                meter.key,
                created_at=record.created_at,
                request_id=record.request_id,
                model=record.model,
                request_body=redact_body(body) if body is not None else None,
            )
        )

    def audit_admin(self, request: Request, status: int, duration_ms: float, subject: str | None) -> None:
        """One audit row for an administrator's action (a key created, changed, rotated or revoked)."""
        if self.audit is not None:
            from ocigate.governance.audit import audit_row

            self.audit.submit(audit_row(request, status, duration_ms, None, model=subject))

    def audit_refusal(
        self, request: Request, error: GatewayError, duration_ms: float, key: KeyRecord | None, key_prefix: str | None
    ) -> None:
        """One audit row for a request refused at authentication: a 401 (no key, a wrong key, a revoked or expired
        one) or a 403 on ``/admin`` for a team key. A virtual key is named by its record, or by its visible prefix
        when no key has that secret; any other key presented is not named at all. The row keeps the error the
        client got as its response body: the gateway's own words, which say why it refused."""
        if self.audit is not None:
            from ocigate.governance.audit import audit_row, redact_body

            row = audit_row(
                request,
                error.status,
                duration_ms,
                key,
                key_prefix=key_prefix,
                response_body=redact_body(error.to_json()),
            )
            self.audit.submit(row)

    def audit_access(self, request: Request, status: int, subject: str) -> None:
        """One audit row for a read or delete of something stored (a stored response), with the key that asked."""
        if self.audit is not None:
            from ocigate.governance.audit import audit_row

            duration_ms = (time.perf_counter() - request.started) * 1000
            self.audit.submit(audit_row(request, status, duration_ms, request.state.get("key"), model=subject))


OUTPUT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def output_cap(payload: dict[str, Any], model: ModelInfo | None) -> int:
    """The most output tokens the upstream can be asked for, whichever of the limit fields the gateway's own
    mapping keeps for the model's family (sanitizing keeps one and renames it; the Responses API maps
    ``max_output_tokens``): the largest of them, at most the model's maximum; ``DEFAULT_MAX_OUTPUT`` when none is
    sent. Reading only one field let a client reserve 1 token while the upstream was asked for 2,500."""
    cap = 0
    for name in OUTPUT_FIELDS:  # a loop, not a comprehension: every request of a limited key runs it
        value = payload.get(name)
        if type(value) is int and value > cap:  # not bool, a subclass of int
            cap = value
    cap = cap or DEFAULT_MAX_OUTPUT
    return cap if model is None or cap <= model.max_output_tokens else model.max_output_tokens


def _where(url: str) -> str:
    """A Redis URL without its credentials, for logs."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
