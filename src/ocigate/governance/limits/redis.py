"""The limit counters in Redis, shared by every gateway process that points at the same Redis.

Each admission is one Lua script run (one round trip), atomic in Redis, timed by Redis' own clock so that the
processes' clocks do not matter. All of a key's counters share a hash tag (``ocigate:{key_id}:…``), so the
scripts also run on Redis Cluster. The scripts go through :class:`ScriptPipeline` (``pipeline.py``) when the
client's connection allows, through redis-py otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from ocigate.governance.limits.backend import LimitName, Plan, Verdict
from ocigate.governance.limits.pipeline import ScriptPipeline

if TYPE_CHECKING:
    from redis.asyncio import Redis

# KEYS: requests log, token buckets, leases, budget counter.
# ARGV: token, rpm, tpm, tokens, max_concurrent, lease_ms, budget_limit, budget_cost, window_ms.
# Returns {allowed, limit, retry_ms, remaining_requests, remaining_tokens, budget_spent, budget_unknown};
# -1 stands for "not applicable".
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local token = ARGV[1]
local rpm, tpm, tokens = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local max_conc, lease_ms = tonumber(ARGV[5]), tonumber(ARGV[6])
local budget_limit, budget_cost = tonumber(ARGV[7]), tonumber(ARGV[8])
local window = tonumber(ARGV[9])

local spent = -1
if budget_limit > 0 then
  local raw = redis.call('GET', KEYS[4])
  if not raw then return {0, '', 0, -1, -1, -1, 1} end
  spent = tonumber(raw)
  if spent + budget_cost > budget_limit then return {0, 'budget', 0, -1, -1, spent, 0} end
end

local count = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, 'rpm', tonumber(oldest[2]) + window - now, 0, -1, spent, 0}
  end
end

local sec = tonumber(t[1])
local used = 0
if tpm > 0 then
  local first = sec - math.floor(window / 1000) + 1
  local all = redis.call('HGETALL', KEYS[2])
  local live = {}
  for i = 1, #all, 2 do
    local bucket = tonumber(all[i])
    if bucket < first then
      redis.call('HDEL', KEYS[2], all[i])
    else
      local value = tonumber(all[i + 1])
      used = used + value
      live[#live + 1] = {bucket, value}
    end
  end
  if used < 0 then used = 0 end
  if used > 0 and used + tokens > tpm then
    table.sort(live, function(a, b) return a[1] < b[1] end)
    local freed, retry = 0, window
    for _, entry in ipairs(live) do
      freed = freed + entry[2]
      if used - freed <= 0 or used - freed + tokens <= tpm then
        retry = entry[1] * 1000 + window - now
        break
      end
    end
    if retry < 0 then retry = 0 end
    return {0, 'tpm', retry, -1, 0, spent, 0}
  end
end

if max_conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= max_conc then return {0, 'concurrency', 1000, -1, -1, spent, 0} end
end

local remaining_requests, remaining_tokens = -1, -1
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, token)
  redis.call('PEXPIRE', KEYS[1], window)
  remaining_requests = rpm - count - 1
end
if tpm > 0 then
  if tokens > 0 then
    redis.call('HINCRBY', KEYS[2], sec, tokens)
    redis.call('PEXPIRE', KEYS[2], window + 1000)
  end
  remaining_tokens = math.max(0, tpm - used - tokens)
end
if max_conc > 0 then
  redis.call('ZADD', KEYS[3], now + lease_ms, token)
  redis.call('PEXPIRE', KEYS[3], lease_ms + 1000)
end
if budget_limit > 0 and budget_cost > 0 then
  spent = redis.call('INCRBY', KEYS[4], ARGV[8])
end
return {1, '', 0, remaining_requests, remaining_tokens, spent, 0}
"""

# KEYS: token buckets, leases, budget counter. ARGV: token, tokens_delta, spend_delta, window_ms.
FINISH = """
if ARGV[2] ~= '0' and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], redis.call('TIME')[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) + 1000)
end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] ~= '0' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('INCRBY', KEYS[3], ARGV[3])
end
return 1
"""

# KEYS: leases. ARGV: lease_ms, then the tokens of the leases to extend.
RENEW = """
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 1000)
return 1
"""


async def connect_redis(url: str) -> Redis:
    """A client for ``url`` (``redis://host:6379/0``, ``rediss://…`` for TLS), checked with a PING."""
    from redis.asyncio import Redis

    client = Redis.from_url(url, health_check_interval=15, socket_keepalive=True, socket_connect_timeout=5)
    await client.ping()
    return client


class RedisBackend:
    def __init__(
        self, redis: Redis, *, namespace: str = "ocigate:", pipeline: ScriptPipeline | Literal["auto"] | None = "auto"
    ) -> None:
        """``pipeline``: ``"auto"`` pipelines the scripts on a connection of their own to the client's server,
        None sends them through redis-py."""
        self._redis = redis
        self._namespace = namespace
        self._pipe = ScriptPipeline.for_client(redis) if pipeline == "auto" else pipeline
        self._scripts = {
            name: (hashlib.sha1(text.encode()).hexdigest(), text, redis.register_script(text))
            for name, text in (("admit", ADMIT), ("finish", FINISH), ("renew", RENEW))
        }

    async def _run(self, name: str, keys: list[str], args: Sequence[str | int]) -> Any:
        sha, text, script = self._scripts[name]
        if self._pipe is not None:
            return await self._pipe.evalsha(sha, text, keys, args)
        return await script(keys=keys, args=list(args))

    async def close(self) -> None:
        if self._pipe is not None:
            await self._pipe.close()

    def _key(self, key_id: str, what: str) -> str:
        return f"{self._namespace}{{{key_id}}}:{what}"

    async def admit(self, plan: Plan) -> Verdict:
        keys = [
            self._key(plan.key_id, "rpm"),
            self._key(plan.key_id, "tpm"),
            self._key(plan.key_id, "leases"),
            self._key(plan.key_id, f"budget:{plan.budget_period}"),
        ]
        args: list[str | int] = [
            plan.token,
            plan.rpm,
            plan.tpm,
            plan.tokens,
            plan.max_concurrent,
            int(plan.lease_s * 1000),
            plan.budget_limit,
            plan.budget_cost,
            int(plan.window_s * 1000),
        ]
        reply = cast(list[Any], await self._run("admit", keys, args))
        allowed, limit, retry_ms, requests, tokens, spent, unknown = reply
        name = limit.decode() if isinstance(limit, bytes) else str(limit)
        return Verdict(
            allowed=allowed == 1,
            limit=cast(LimitName, name) if name else None,
            retry_after_s=max(0, int(retry_ms)) / 1000,
            remaining_requests=None if requests < 0 else int(requests),
            remaining_tokens=None if tokens < 0 else int(tokens),
            budget_spent=None if spent < 0 else int(spent),
            budget_unknown=unknown == 1,
        )

    async def finish(self, plan: Plan, *, tokens_delta: int, spend_delta: int) -> None:
        keys = [
            self._key(plan.key_id, "tpm"),
            self._key(plan.key_id, "leases"),
            self._key(plan.key_id, f"budget:{plan.budget_period}"),
        ]
        tokens = tokens_delta if plan.tpm > 0 else 0
        spend = spend_delta if plan.budget_limit > 0 else 0
        await self._run("finish", keys, [plan.token, tokens, spend, int(plan.window_s * 1000)])

    async def renew(self, plans: Sequence[Plan]) -> None:
        by_key: dict[tuple[str, float], list[str | int]] = defaultdict(list)
        for plan in plans:
            by_key[(plan.key_id, plan.lease_s)].append(plan.token)
        await asyncio.gather(
            *(
                self._run("renew", [self._key(key_id, "leases")], [int(lease_s * 1000), *tokens])
                for (key_id, lease_s), tokens in by_key.items()
            )
        )

    async def seed_budget(self, key_id: str, period: str, spent: int, expires_at: float | None) -> None:
        key = self._key(key_id, f"budget:{period}")
        if expires_at is None:
            await self._redis.set(key, spent, nx=True)
        else:
            await self._redis.set(key, spent, nx=True, pxat=int(expires_at * 1000))

    async def budget_spent(self, key_id: str, period: str) -> int | None:
        raw = await self._redis.get(self._key(key_id, f"budget:{period}"))
        return None if raw is None else int(raw)

    async def reset(self, key_id: str) -> None:
        names = [self._key(key_id, what) for what in ("rpm", "tpm", "leases")]
        async for name in self._redis.scan_iter(match=self._key(key_id, "budget:*"), count=100):
            names.append(name.decode() if isinstance(name, bytes) else name)
        await self._redis.delete(*names)
