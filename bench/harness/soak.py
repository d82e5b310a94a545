"""The soak's traffic: a mix of requests at a steady rate against a running gateway, counted by kind and status.

The mix (weights in :data:`MIX`) is issue 15's: chat with the master key and with team keys, full streams,
streams the client leaves after two events, stored Responses chained with ``previous_response_id``, invalid JSON,
a wrong key (a new ``ogk-`` secret each time, so that every one is a key the gateway never saw), and a model name
the gateway does not serve (a new one each time: client-controlled text that must not become state).
Requests are started at ``rate`` a second (open loop) with at most ``concurrency`` in flight.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

CHAT_MODEL = "openai.gpt-oss-120b"
RESPONSES_MODEL = "meta.llama-3.3-70b-instruct"  # no /responses at Oracle: translated over chat and stored
CHAIN_LENGTH = 4
"""Responses chained with ``previous_response_id`` before a new conversation starts."""

MIX: dict[str, int] = {
    "chat-master": 3,
    "chat-team": 3,
    "stream": 2,
    "stream-left": 2,
    "responses-chained": 2,
    "invalid-json": 1,
    "wrong-key": 1,
    "unknown-model": 1,
}


@dataclass
class Counts:
    """What the soak sent and got back."""

    sent: int = 0
    done: int = 0
    by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)
    unexpected: list[str] = field(default_factory=list)

    def note(self, kind: str, status: int | str, expected: tuple[int, ...]) -> None:
        self.done += 1
        self.by_kind[kind] += 1
        self.by_status[str(status)] += 1
        if status not in expected and len(self.unexpected) < 20:
            self.unexpected.append(f"{kind}: {status}")


class Traffic:
    """One soak's client: ``run(requests, seconds)`` until either is reached."""

    def __init__(self, base: str, master: str, team: list[str], *, keys: str, rate: float, concurrency: int) -> None:
        self.base = base
        self.master = master
        self.team = team
        self.keys = keys  # "master", "team" or "both": which key the model requests send
        self.rate = rate
        self.concurrency = concurrency
        self.counts = Counts()
        self._chains: list[tuple[str, str | None, int]] = [(master, None, 0)] * 8
        self._rng = random.Random(15)
        kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
        if keys == "master":
            kinds = [k if k != "chat-team" else "chat-master" for k in kinds]
        elif keys == "team":
            kinds = [k if k != "chat-master" else "chat-team" for k in kinds]
        self._kinds = kinds

    def _key(self) -> str:
        if self.keys == "master" or (self.keys == "both" and self._rng.random() < 0.5):
            return self.master
        return self._rng.choice(self.team)

    async def run(self, requests: int, seconds: float, on_tick: Callable[[], Awaitable[None]] | None = None) -> None:
        """Sends until ``requests`` were sent or ``seconds`` passed, calling ``on_tick`` every 0.5 s meanwhile (even
        while every request slot is taken), then waits for the requests in flight."""
        sampler = asyncio.create_task(self._ticks(on_tick)) if on_tick is not None else None
        try:
            await self._send(requests, seconds)
        finally:
            if sampler is not None:
                sampler.cancel()

    async def _ticks(self, on_tick: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(0.5)
            await on_tick()

    async def _send(self, requests: int, seconds: float) -> None:
        limit = asyncio.Semaphore(self.concurrency)
        connector = aiohttp.TCPConnector(limit=self.concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            start = time.monotonic()
            tasks: set[asyncio.Task[None]] = set()
            while self.counts.sent < requests and time.monotonic() - start < seconds:
                due = int((time.monotonic() - start) * self.rate) + 1
                while self.counts.sent < min(due, requests):
                    await limit.acquire()
                    kind = self._kinds[self.counts.sent % len(self._kinds)]
                    self.counts.sent += 1
                    task = asyncio.create_task(self._one(http, kind, limit))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(max(0.0, (due / self.rate) - (time.monotonic() - start)))
            if tasks:
                await asyncio.wait(tasks)

    async def _one(self, http: aiohttp.ClientSession, kind: str, limit: asyncio.Semaphore) -> None:
        try:
            await getattr(self, "_" + kind.replace("-", "_"))(http, kind)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.counts.note(kind, type(exc).__name__, ())
        finally:
            limit.release()

    async def _post(
        self, http: aiohttp.ClientSession, kind: str, path: str, body: object, key: str, expected: tuple[int, ...]
    ) -> bytes:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        async with http.post(self.base + path, data=data, headers=headers) as resp:
            payload = await resp.read()
            self.counts.note(kind, resp.status, expected)
            return payload

    def _chat_body(self, model: str = CHAT_MODEL, **extra: object) -> dict[str, object]:
        words = " ".join(secrets.token_hex(3) for _ in range(self._rng.randint(3, 12)))
        messages = [{"role": "user", "content": f"Say hello {words}"}]
        return {"model": model, "messages": messages, "max_tokens": 48, **extra}

    async def _chat_master(self, http: aiohttp.ClientSession, kind: str) -> None:
        await self._post(http, kind, "/v1/chat/completions", self._chat_body(), self.master, (200,))

    async def _chat_team(self, http: aiohttp.ClientSession, kind: str) -> None:
        await self._post(http, kind, "/v1/chat/completions", self._chat_body(), self._rng.choice(self.team), (200,))

    async def _stream(self, http: aiohttp.ClientSession, kind: str) -> None:
        await self._post(http, kind, "/v1/chat/completions", self._chat_body(stream=True), self._key(), (200,))

    async def _stream_left(self, http: aiohttp.ClientSession, kind: str) -> None:
        headers = {"Authorization": f"Bearer {self._key()}", "Content-Type": "application/json"}
        body = json.dumps(self._chat_body(stream=True)).encode()
        resp = await http.post(self.base + "/v1/chat/completions", data=body, headers=headers)
        try:
            events = 0
            async for line in resp.content:
                if line.startswith(b"data:"):
                    events += 1
                    if events >= 2:
                        break
            self.counts.note(kind, resp.status, (200,))
        finally:
            resp.close()  # the connection is dropped, not returned: the client left mid-stream

    async def _responses_chained(self, http: aiohttp.ClientSession, kind: str) -> None:
        slot = self._rng.randrange(len(self._chains))
        key, previous, length = self._chains[slot]
        if previous is None or length >= CHAIN_LENGTH:
            key, previous, length = self._key(), None, 0  # a new conversation, by one key (a key sees only its own)
        self._chains[slot] = (key, None, 0)  # taken: another request of this slot starts a new conversation
        body: dict[str, object] = {"model": RESPONSES_MODEL, "input": "And then?", "max_output_tokens": 32}
        if previous is not None:
            body["previous_response_id"] = previous
        data = await self._post(http, kind, "/v1/responses", body, key, (200,))
        try:
            answer = json.loads(data)
        except ValueError:
            return
        if isinstance(answer, dict) and isinstance(answer.get("id"), str):
            self._chains[slot] = (key, answer["id"], length + 1)

    async def _invalid_json(self, http: aiohttp.ClientSession, kind: str) -> None:
        await self._post(http, kind, "/v1/chat/completions", b'{"model": "x", "messages": [', self._key(), (400,))

    async def _wrong_key(self, http: aiohttp.ClientSession, kind: str) -> None:
        secret = "ogk-" + secrets.token_urlsafe(32)
        await self._post(http, kind, "/v1/chat/completions", self._chat_body(), secret, (401,))

    async def _unknown_model(self, http: aiohttp.ClientSession, kind: str) -> None:
        body = self._chat_body(model=f"no-such-model-{secrets.token_hex(6)}")
        await self._post(http, kind, "/v1/chat/completions", body, self._key(), (404,))
