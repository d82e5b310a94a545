"""Team keys, limits, budgets, usage and audit, wired into the request path.

:class:`Governance` is opened at start-up when a master key is set (virtual keys need an administrator, who
needs the master key): the store, the key store and cache (with Redis pub/sub when ``OCIGATE_REDIS_URL`` is
set), the limiter (Redis or memory), the usage writer and the audit log. :meth:`Governance.close` stops them in
order: the limiter's settlements, the usage writer (flushed: after a graceful stop the records equal the
requests served), the audit log, the key cache, Redis, then the database.

:class:`GatewayAuth` accepts the master key or a virtual key on ``/v1`` (the record goes in
``request.state["key"]``) and the master key only on ``/admin``. :meth:`Governance.govern` wraps a
model-addressed route (chat, responses, embeddings): for a virtual key it checks the model (403) and admits
the request (429), and for every request it settles the limits and writes one usage record at the end,
errors and cancellations included.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson

from ocigate.asgi import AnyResponse, Handler, Request, Response, StreamingResponse
from ocigate.auth import presented_key
from ocigate.errors import AuthenticationFailed, GatewayError
from ocigate.keys import KeyCache, KeyHasher, KeyRecord, is_virtual_key, model_allowed, model_refused
from ocigate.limits import Limiter, MemoryBackend, RedisBackend, Ticket, connect_redis
from ocigate.limits.backend import LimitBackend
from ocigate.pricing import PriceTable, estimate_prompt_tokens
from ocigate.usage import BatchWriter, TokenCounts, UsageRecord, UsageWriter, tokens_from_usage, usage_in_event

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ocigate.audit import AuditLog
    from ocigate.config import Settings
    from ocigate.store.keys import KeyStore
    from ocigate.store.usage import UsageStore

log = logging.getLogger("ocigate.governance")
DEFAULT_MAX_OUTPUT = 1024
"""The output tokens reserved for a request that does not say how many it wants."""


class Governance:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        keys: KeyStore,
        cache: KeyCache,
        limiter: Limiter,
        backend: LimitBackend,
        usage_store: UsageStore,
        usage: UsageWriter,
        audit: AuditLog,
        redis: Redis | None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.keys = keys
        self.cache = cache
        self.limiter = limiter
        self._backend = backend
        self.usage_store = usage_store
        self.usage = usage
        self.audit = audit
        self.redis = redis
        self.prices = PriceTable(settings.prices)

    @classmethod
    async def open(cls, settings: Settings, engine: AsyncEngine) -> Governance:
        from ocigate.audit import AuditLog
        from ocigate.store.keys import KeyStore
        from ocigate.store.usage import AuditStore, UsageStore

        redis = await connect_redis(settings.redis_url) if settings.redis_url else None
        hasher = KeyHasher(settings.key_pepper)
        keys = KeyStore(engine, hasher)
        cache = KeyCache(keys, hasher, redis=redis)
        keys.listen(cache.invalidate)
        usage_store = UsageStore(engine)
        backend: LimitBackend = RedisBackend(redis) if redis is not None else MemoryBackend()
        limiter = Limiter(backend, spend=usage_store)
        usage: UsageWriter = BatchWriter(usage_store.insert, name="usage")
        audit = AuditLog(
            BatchWriter(AuditStore(engine).insert, name="audit") if settings.audit else None,
            bodies=settings.audit_bodies,
        )
        await cache.start()
        await limiter.start()
        await usage.start()
        await audit.start()
        return cls(settings, engine, keys, cache, limiter, backend, usage_store, usage, audit, redis)

    async def close(self) -> None:
        await self.limiter.close()
        await self._backend.close()
        await self.usage.close()
        await self.audit.close()
        await self.cache.close()
        if self.redis is not None:
            await self.redis.aclose()

    def govern(self, handler: Handler, endpoint: str) -> Handler:
        """``handler`` with the key's model check and limits, and one usage record per request."""

        async def governed(request: Request) -> AnyResponse:
            record: KeyRecord | None = request.state.get("key")
            created_at, started = time.time(), time.perf_counter()
            model, stream, strip_usage = "-", False, False
            ticket: Ticket | None = None
            try:
                body = await request.body()
                payload = orjson.loads(body) if body else None
            except (orjson.JSONDecodeError, GatewayError):
                payload = None
            if isinstance(payload, dict):
                raw_model = payload.get("model")
                model = raw_model if isinstance(raw_model, str) else "-"
                stream = payload.get("stream") is True
                if stream and endpoint == "chat":
                    options = payload.get("stream_options")
                    if not (isinstance(options, dict) and options.get("include_usage") is True):
                        strip_usage = True
                        payload["stream_options"] = {**(options or {}), "include_usage": True}
                        request._body = orjson.dumps(payload)
                if record is not None and model != "-":
                    if not model_allowed(record, model):
                        self._record(request, record, endpoint, model, stream, 403, None, created_at, started, None)
                        raise model_refused(record, model)
                    ticket = await self._admit(request, record, endpoint, model, payload, len(body))
            meter = _Meter(self, request, record, endpoint, model, stream, ticket, created_at, started)
            try:
                response = await handler(request)
            except GatewayError as err:
                meter.done(err.status, TokenCounts(), None)
                raise
            except asyncio.CancelledError:
                meter.done(499, TokenCounts(), None)
                raise
            except Exception:
                meter.done(500, TokenCounts(), None)
                raise
            if isinstance(response, StreamingResponse):
                response.chunks = meter.relay(response.chunks, strip_usage)
                return response
            tokens = TokenCounts()
            if response.status < 400 and b'"usage"' in response.body:
                try:
                    reply = orjson.loads(response.body)
                except orjson.JSONDecodeError:
                    reply = None
                if isinstance(reply, dict):
                    tokens = tokens_from_usage(reply.get("usage"))
            meter.done(response.status, tokens, _provider(response))
            return response

        return governed

    async def _admit(
        self, request: Request, record: KeyRecord, endpoint: str, model: str, payload: dict[str, Any], size: int
    ) -> Ticket | None:
        if not record.limited:
            return None
        prompt = estimate_prompt_tokens(size)
        wanted = payload.get("max_completion_tokens") or payload.get("max_output_tokens") or payload.get("max_tokens")
        output = wanted if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0 else 0
        output = output or DEFAULT_MAX_OUTPUT
        cost = self.prices.estimate(model, prompt_tokens=prompt, max_output_tokens=output)
        decision = await self.limiter.admit(record, tokens=prompt + output, cost_usd=cost)
        if not decision.allowed:
            self._record(
                request, record, endpoint, model, False, 429 if decision.limit else 503, None, time.time(), None, None
            )
            raise decision.error()
        return decision.ticket

    def _record(
        self,
        request: Request,
        record: KeyRecord | None,
        endpoint: str,
        model: str,
        stream: bool,
        status: int,
        provider: str | None,
        created_at: float,
        started: float | None,
        ttft_ms: float | None,
        tokens: TokenCounts | None = None,
    ) -> float:
        counts = tokens or TokenCounts()
        cost = (
            self.prices.cost(
                model,
                prompt_tokens=counts.prompt_tokens,
                completion_tokens=counts.completion_tokens,
                cached_tokens=counts.cached_tokens,
            )
            if counts.total
            else 0.0
        )
        latency = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        request_id = secrets.token_hex(8)
        self.usage.submit(
            UsageRecord(
                created_at=created_at,
                request_id=request_id,
                model=model,
                provider=provider or "-",
                endpoint=endpoint,
                status=status,
                key_id=record.id if record else None,
                team=record.team if record else None,
                user=record.user if record else None,
                stream=stream,
                latency_ms=latency,
                ttft_ms=ttft_ms,
                cost_usd=cost,
                prompt_tokens=counts.prompt_tokens,
                completion_tokens=counts.completion_tokens,
                reasoning_tokens=counts.reasoning_tokens,
                cached_tokens=counts.cached_tokens,
            )
        )
        if self.audit.enabled:
            self.audit.record(
                request_id=request_id,
                method=request.method,
                path=request.path,
                status=status,
                duration_ms=latency,
                key=record,
                model=model,
                client=request.client_host,
                request_body=request._body,
            )
        return cost


def _provider(response: Response | StreamingResponse) -> str | None:
    for name, value in response.headers:
        if name == b"x-ocigate-provider":
            return value.decode("latin-1")
    return None


class _Meter:
    """One request's accounting: settles its limits and writes its usage record, once."""

    def __init__(
        self,
        governance: Governance,
        request: Request,
        record: KeyRecord | None,
        endpoint: str,
        model: str,
        stream: bool,
        ticket: Ticket | None,
        created_at: float,
        started: float,
    ) -> None:
        self._gov = governance
        self._request = request
        self._record = record
        self._endpoint = endpoint
        self._model = model
        self._stream = stream
        self._ticket = ticket
        self._created_at = created_at
        self._started = started
        self._done = False

    def done(self, status: int, tokens: TokenCounts, provider: str | None, ttft_ms: float | None = None) -> None:
        if self._done:
            return
        self._done = True
        gov = self._gov
        cost = gov._record(
            self._request,
            self._record,
            self._endpoint,
            self._model,
            self._stream,
            status,
            provider,
            self._created_at,
            self._started,
            ttft_ms,
            tokens,
        )
        if self._ticket is not None:
            gov.limiter.finish_soon(self._ticket, tokens=tokens.total, cost_usd=cost)

    async def relay(self, chunks: AsyncIterator[bytes], strip_usage: bool) -> AsyncIterator[bytes]:
        status, tokens, ttft = 200, TokenCounts(), None
        try:
            async for chunk in chunks:
                if ttft is None:
                    ttft = (time.perf_counter() - self._started) * 1000
                if b'"usage"' in chunk:
                    found, chunk = _usage_of(chunk, strip_usage)
                    if found is not None:
                        tokens = found
                    if not chunk:
                        continue
                elif b'"error"' in chunk and b"event: error" in chunk:
                    status = 500
                yield chunk
        except GatewayError as err:
            status = err.status
            raise
        except (asyncio.CancelledError, GeneratorExit):
            status = 499
            raise
        except Exception:
            status = 500
            raise
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            self.done(status, tokens, None, ttft)


def _usage_of(chunk: bytes, strip: bool) -> tuple[TokenCounts | None, bytes]:
    """The usage a block of SSE events carries, and the block without the usage-only chunk when ``strip``."""
    found: TokenCounts | None = None
    kept: list[bytes] = []
    for event in chunk.split(b"\n\n"):
        if not event.strip():
            continue
        data = b"\n".join(line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:"))
        drop = False
        if b'"usage"' in data:
            try:
                parsed = orjson.loads(data)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                counts = usage_in_event(parsed)
                if counts is not None:
                    found = counts
                    drop = strip and parsed.get("choices") == []
                elif strip and "usage" in parsed:
                    parsed.pop("usage")
        if not drop:
            kept.append(event + b"\n\n")
    return found, b"".join(kept)


class GatewayAuth:
    """``/v1``: the master key or an active virtual key; ``/admin``: the master key only."""

    def __init__(self, master_key: str, governance: Callable[[], Governance | None]) -> None:
        self._expected = master_key.encode("utf-8")
        self._governance = governance

    async def __call__(self, request: Request) -> None:
        path = request.path
        admin = path.startswith("/admin")
        if not (admin or path.startswith("/v1")):
            return
        key = presented_key(request)
        if key is None:
            raise AuthenticationFailed(
                "No API key was presented. Send the gateway's key as 'Authorization: Bearer <key>' or 'x-api-key'."
            )
        if hmac.compare_digest(key.encode("utf-8"), self._expected):
            return
        governance = self._governance()
        if governance is None or not is_virtual_key(key):
            raise AuthenticationFailed("The API key presented to the gateway is not valid.")
        record = await governance.cache.authenticate(key)
        if admin:
            raise GatewayError(
                f"The key {record.display} is a team key; the admin API needs the gateway's master key.",
                status=403,
                type="permission_error",
                code="master_key_required",
            )
        request.state["key"] = record
