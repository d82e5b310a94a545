"""Virtual keys: ``ogk-<random>`` secrets the gateway hands to teams, each with its own limits and budget.

A key is shown once, when it is created or rotated, and stored only as a hash: HMAC-SHA256 keyed with the
server's pepper (``OCIGATE_KEY_PEPPER``) when one is set, plain SHA-256 otherwise. The pepper lives outside the
database, so a leaked database alone does not let anyone test guesses offline; without it the hash still never
reveals the key (the keys are 256 random bits, far beyond brute force). Changing the pepper invalidates every
key. Lists and logs show only the key's prefix: the 8 characters after ``ogk-``.

:class:`KeyCache` is what the request path calls: a hash lookup in memory, refreshed from the store at most once
a second per key, and dropped at once on every instance when a key changes (Redis pub/sub, when configured)::

    hasher = KeyHasher(settings.key_pepper)
    store = KeyStore(engine, hasher)                 # ocigate.store.keys
    cache = KeyCache(store, hasher, redis=redis)     # redis: a redis.asyncio.Redis, or None
    store.listen(cache.invalidate)                   # changes made here reach every instance
    await cache.start()
    record = await cache.authenticate(presented)    # KeyRecord, or AuthenticationFailed (401)
    if not model_allowed(record, model): raise model_refused(record, model)   # 403
    ...
    await cache.close()
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import enum
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from ocigate.core.bounded import Bounded
from ocigate.core.errors import AuthenticationFailed, GatewayError
from ocigate.core.types import JSON

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("ocigate.governance.keys")

KEY_SCHEME = "ogk-"
PREFIX_LENGTH = 8
CHANNEL = "ocigate:keys:changed"
"""The Redis pub/sub channel on which a changed key's id is announced (``*``: every key)."""

BudgetUnit = Literal["usd", "tokens"]
BudgetPeriod = Literal["day", "week", "month", "total"]
KeyStatus = Literal["active", "revoked", "expired"]
BUDGET_UNITS: tuple[BudgetUnit, ...] = ("usd", "tokens")
BUDGET_PERIODS: tuple[BudgetPeriod, ...] = ("day", "week", "month", "total")


def new_secret() -> str:
    """A fresh key: ``ogk-`` and 43 URL-safe characters (256 random bits)."""
    return KEY_SCHEME + secrets.token_urlsafe(32)


def visible_prefix(secret: str) -> str:
    """The part of a key that may be shown in lists and logs."""
    return secret[len(KEY_SCHEME) : len(KEY_SCHEME) + PREFIX_LENGTH]


def is_virtual_key(presented: str) -> bool:
    return presented.startswith(KEY_SCHEME)


class KeyHasher:
    """Hashes keys for storage and lookup: HMAC-SHA256 with the pepper, or SHA-256 without one."""

    def __init__(self, pepper: str | bytes | None = None) -> None:
        self._pepper = pepper.encode("utf-8") if isinstance(pepper, str) else pepper
        self.peppered = bool(self._pepper)

    def hash(self, secret: str) -> str:
        data = secret.encode("utf-8")
        if self._pepper:
            return hmac.new(self._pepper, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()

    def matches(self, secret: str, stored_hash: str) -> bool:
        """Constant-time comparison of a presented key with a stored hash."""
        return hmac.compare_digest(self.hash(secret), stored_hash)


NANO = 1_000_000_000
"""Budget counters in USD count nano-dollars: integers add exactly, and Redis' Lua numbers hold them exactly
up to 2**53 nano-dollars (about 9 million dollars a period)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """A spending cap: ``amount`` USD or tokens per calendar day, ISO week or month (UTC), or in total."""

    amount: float
    unit: BudgetUnit = "usd"
    period: BudgetPeriod = "month"
    units: int = field(init=False, repr=False, compare=False)
    """The amount in the budget counter's integer units (nano-dollars or tokens), worked out once: every
    admission of a key with a budget reads it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", round(self.amount * NANO) if self.unit == "usd" else int(self.amount))

    def describe(self) -> str:
        """``$10.00 monthly``, ``1,000,000 tokens daily``, ``$50.00 total``."""
        amount = f"${self.amount:,.2f}" if self.unit == "usd" else f"{int(self.amount):,} tokens"
        adjective = {"day": "daily", "week": "weekly", "month": "monthly", "total": "total"}[self.period]
        return f"{amount} {adjective}"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A virtual key as the gateway knows it; never holds the secret or its hash."""

    id: str
    prefix: str
    name: str
    team: str | None = None
    user: str | None = None
    allowed_models: tuple[str, ...] = ()
    """Model names or ``fnmatch`` patterns (``xai.*``); empty: every model."""
    rpm: int | None = None
    tpm: int | None = None
    max_concurrent: int | None = None
    budget: Budget | None = None
    expires_at: float | None = None
    revoked_at: float | None = None
    created_at: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    display: str = field(init=False, repr=False, compare=False)
    """How logs and lists name the key: ``ogk-AbCdEfGh…``."""
    limited: bool = field(init=False, repr=False, compare=False)
    """Whether any limit or budget applies. Both are read on every request of the key: worked out once here."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "display", f"{KEY_SCHEME}{self.prefix}…")
        object.__setattr__(self, "limited", bool(self.rpm or self.tpm or self.max_concurrent or self.budget))

    def status(self, now: float | None = None) -> KeyStatus:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at:
            return "expired"
        return "active"

    def to_json(self, now: float | None = None) -> JSON:
        """The admin API's view of a key (no secret, no hash)."""
        budget = self.budget
        return {
            "id": self.id,
            "object": "gateway.key",
            "prefix": self.prefix,
            "display": self.display,
            "name": self.name,
            "team": self.team,
            "user": self.user,
            "allowed_models": list(self.allowed_models),
            "rpm": self.rpm,
            "tpm": self.tpm,
            "max_concurrent": self.max_concurrent,
            "budget": None
            if budget is None
            else {"amount": budget.amount, "unit": budget.unit, "period": budget.period},
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "created_at": self.created_at,
            "status": self.status(now),
            "metadata": dict(self.metadata),
        }


def model_allowed(record: KeyRecord, model: str) -> bool:
    """Whether the key may use ``model``: a name or pattern of its ``allowed_models`` matches the name as sent,
    or its model part when it names a provider (``oracle/xai.grok-3`` is allowed by ``xai.*``)."""
    allowed = record.allowed_models
    if not allowed or model in allowed:
        return True
    bare = model.partition("/")[2]
    return any(fnmatchcase(model, pattern) or (bare and fnmatchcase(bare, pattern)) for pattern in allowed)


def visible_models(record: KeyRecord | None) -> Callable[[str], bool] | None:
    """The filter of what a key may see in listings and model errors; None: everything."""
    if record is None or not record.allowed_models:
        return None
    return lambda model: model_allowed(record, model)


def model_refused(record: KeyRecord, model: str) -> GatewayError:
    """The 403 for a model outside the key's ``allowed_models``."""
    return GatewayError(
        f"The key {record.display} ('{record.name}') may not use model '{model}'. It may use: "
        f"{', '.join(record.allowed_models)}.",
        status=403,
        type="permission_error",
        code="model_not_allowed",
        param="model",
    )


def period_start(period: BudgetPeriod, now: float) -> float:
    """When the budget period holding ``now`` began (UTC): midnight, Monday midnight, the 1st; 0 for total."""
    if period == "total":
        return 0.0
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    return day.timestamp()


def period_reset(period: BudgetPeriod, now: float) -> float | None:
    """When the budget period holding ``now`` ends and spending starts again from zero; None for total."""
    if period == "total":
        return None
    start = datetime.fromtimestamp(period_start(period, now), UTC)
    if period == "day":
        return (start + timedelta(days=1)).timestamp()
    if period == "week":
        return (start + timedelta(days=7)).timestamp()
    return (start + timedelta(days=calendar.monthrange(start.year, start.month)[1])).timestamp()


def period_label(period: BudgetPeriod, now: float) -> str:
    """A name for the period holding ``now``: ``d2025-01-31``, ``w2025-05`` (ISO week), ``m2025-01``, ``total``."""
    if period == "total":
        return "total"
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        return moment.strftime("d%Y-%m-%d")
    if period == "week":
        year, week, _ = moment.isocalendar()
        return f"w{year}-{week:02d}"
    return moment.strftime("m%Y-%m")


class _Missing(enum.Enum):
    """The cache's answer when it does not know a key hash (or knew it too long ago)."""

    MISSING = "missing"


MISSING: Final = _Missing.MISSING


def active(record: KeyRecord | None, now: float | None = None) -> KeyRecord:
    """``record`` when it is an active key; :class:`AuthenticationFailed` (401) for none, revoked, expired."""
    if record is None:
        raise AuthenticationFailed("The API key presented to the gateway is not valid.")
    if record.revoked_at is None and record.expires_at is None:
        return record
    status = record.status(now)
    if status != "active":
        raise AuthenticationFailed(
            f"The API key {record.display} ('{record.name}') is {status}; ask the gateway's administrator "
            "for a new one.",
            code=f"key_{status}",
        )
    return record


class KeyLookup(Protocol):
    async def get_by_hash(self, key_hash: str) -> KeyRecord | None: ...


REFRESH_AHEAD = 0.75
"""The part of its TTL after which a cache entry in use is read again in the background."""


def _refreshed(task: asyncio.Task[KeyRecord | None]) -> None:
    """A background read's outcome: the entry it wrote, or (the store failing) nothing: the entry lapses at its
    TTL, and the requests after that meet the failure themselves."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("reading a cached key again failed: %r", task.exception())


@dataclass(slots=True)
class _Entry:
    record: KeyRecord | None
    fetched: float


class KeyCache:
    """Secret → record, for the request path (filed under a keyed hash of the secret: :meth:`index`).

    An entry is used for ``ttl_s`` (1 s by default) and then read again from the store, so a key revoked
    through any instance stops working everywhere within ``ttl_s`` even without Redis. A key in use is read again
    ahead of that, once its entry is ``REFRESH_AHEAD`` of the TTL old, while its requests go on with the entry
    they have: a busy key's requests never all wait for the store together once a TTL. With Redis, every change
    is also announced on :data:`CHANNEL` and each instance drops the key at once; a (re)subscription clears
    the whole cache, since announcements may have been missed while the connection was down. Concurrent
    lookups of one key share one store read, and unknown keys are cached too (a flood of bad keys costs the
    database one read per key per ``ttl_s``).
    Bounded: expired entries go as others come; at most ``max_entries`` keys and ``max_unknown`` wrong secrets.
    """

    def __init__(
        self,
        lookup: KeyLookup,
        hasher: KeyHasher,
        *,
        redis: Redis | None = None,
        channel: str = CHANNEL,
        ttl_s: float = 1.0,
        max_entries: int = 100_000,
        max_unknown: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._hasher = hasher
        self._redis = redis
        self._channel = channel
        self._ttl = ttl_s
        self._clock = clock
        self._entries: Bounded[bytes, _Entry] = Bounded(max(1, max_entries))
        self._unknown: Bounded[bytes, _Entry] = Bounded(max_unknown)
        self._inflight: dict[bytes, asyncio.Future[KeyRecord | None]] = {}
        self._blank = hashlib.blake2s(key=secrets.token_bytes(32))
        self._refresh_after = ttl_s * REFRESH_AHEAD
        self._refreshing: dict[bytes, asyncio.Task[KeyRecord | None]] = {}
        """Reads ahead under way, by index: one per key, from the request that started it (before its task has
        run and registered its read in ``_inflight``)."""
        self._generation = 0
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        """Set while the Redis subscription is live (tests wait on it)."""

    async def start(self) -> None:
        """Subscribes to key changes when Redis is configured, and waits (up to 2 s) for the subscription."""
        if self._redis is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.subscribed.wait(), 2.0)

    async def close(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def authenticate(self, secret: str, now: float | None = None) -> KeyRecord:
        """The active key for ``secret``; :class:`AuthenticationFailed` (401) for unknown, revoked, expired."""
        found = self.cached(secret)
        return active(found if found is not MISSING else await self.read(secret), now)

    async def lookup(self, secret: str) -> KeyRecord | None:
        """The record for ``secret`` whatever its status; None when no key has that secret."""
        found = self.cached(secret)
        return found if found is not MISSING else await self.read(secret)

    def index(self, secret: str) -> bytes:
        """Where the cache files a secret: its BLAKE2s under a key drawn when the cache was made. The store's
        hash (SHA-256, or HMAC with the pepper: ``KeyHasher``) is worked out only to read the store; a hit costs
        a hash in Python's own BLAKE2s, a third of OpenSSL's SHA-256 on a request path whose caches are cold, and
        the cache never holds a digest that could be looked up anywhere else."""
        h = self._blank.copy()
        h.update(secret.encode("utf-8"))
        return h.digest()

    def cached(self, secret: str) -> KeyRecord | None | _Missing:
        """What the cache knows of a secret without waiting: its record, None for a wrong secret, or
        :data:`MISSING` when the store must be read (:meth:`read` does). Every request of a team key asks, so
        this is a hash, a dictionary read and a clock (and, once a TTL for a key in use, a background read)."""
        index = self.index(secret)
        entry = self._entries.get(index) or self._unknown.get(index)
        if entry is None:
            return MISSING
        age = self._clock() - entry.fetched
        if age >= self._refresh_after:
            if age >= self._ttl:
                return MISSING
            if entry.record is not None and index not in self._refreshing and index not in self._inflight:
                self._refresh(index, secret)  # a key in use: read again now, so that no request waits at the TTL
        return entry.record

    def _refresh(self, index: bytes, secret: str) -> None:
        task = asyncio.get_running_loop().create_task(self.read(secret))
        self._refreshing[index] = task
        task.add_done_callback(_refreshed)
        task.add_done_callback(lambda _: self._refreshing.pop(index, None))

    async def read(self, secret: str) -> KeyRecord | None:
        """The store's record of a secret (one read however many ask at once), cached for ``ttl_s``."""
        index = self.index(secret)
        pending = self._inflight.get(index)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyRecord | None] = asyncio.get_running_loop().create_future()
        self._inflight[index] = future
        generation = self._generation
        try:
            record = await self._lookup.get_by_hash(self._hasher.hash(secret))
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # marked retrieved: waiters re-raise it; nobody waiting must not warn
            else:
                future.cancel()
            raise
        finally:
            self._inflight.pop(index, None)
        if generation == self._generation:  # no change was announced while the store was read
            table, now = (self._unknown if record is None else self._entries), self._clock()
            (self._entries if record is None else self._unknown).pop(index, None)
            table.drop_oldest(lambda e: now - e.fetched >= self._ttl)  # only a TTL's worth of keys stays
            table[index] = _Entry(record, now)
        future.set_result(record)
        return record

    @property
    def size(self) -> tuple[int, int]:  # records of keys cached, and wrong secrets remembered
        return len(self._entries), len(self._unknown)

    async def invalidate(self, key_id: str | None = None) -> None:
        """Forgets ``key_id`` (None: every key) here and, through Redis, on every other instance."""
        self.forget(key_id)
        if self._redis is not None:
            try:
                await self._redis.publish(self._channel, key_id or "*")
            except Exception as exc:  # noqa: BLE001 - the TTL still bounds how long others keep it
                log.warning(
                    "could not announce a key change through Redis (%r); other instances see it within %.0f s",
                    exc,
                    self._ttl,
                )

    def forget(self, key_id: str | None = None) -> None:
        """Drops ``key_id`` (None: every key) from this instance's cache only."""
        self._generation += 1
        self._unknown.clear()  # unknown keys go in every case: a key just created may be one of them
        if key_id is None:
            self._entries.clear()
            return
        stale = [h for h, e in self._entries.items() if e.record is not None and e.record.id == key_id]
        for key_hash in stale:
            del self._entries[key_hash]

    async def _listen(self) -> None:
        assert self._redis is not None
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "subscribe":
                        # First subscription, or redis-py's silent reconnection: changes may have been missed.
                        self.forget(None)
                        self.subscribed.set()
                        delay = 0.1
                    elif kind == "message":
                        data = message.get("data")
                        key_id = data.decode() if isinstance(data, bytes) else str(data)
                        self.forget(None if key_id == "*" else key_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening; the TTL covers the gap
                if self.subscribed.is_set():
                    log.warning("key-change subscription lost (%r); relying on the %.0f s cache TTL", exc, self._ttl)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
