"""Injected failures: the errors, stalls and broken connections the gateway must survive.

A rule is posted as JSON to ``/_emulator/faults`` and applies to the requests it matches, in order: the first
matching rule whose random draw succeeds is applied, and only that one. Example::

    {"status": 429, "retry_after": 2, "count": 2, "model": "xai.grok-4", "path": "chat/completions"}
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from ocigate.emulator.errors import for_status, invalid

_FIELDS = {
    "status",
    "code",
    "message",
    "retry_after",
    "delay_ms",
    "cut_after",
    "drop",
    "probability",
    "count",
    "model",
    "path",
    "seed",
}


class ConnectionDropped(Exception):
    """Raised to close the connection without any response; the app's outer layer carries it out."""


class StreamCut(Exception):
    """Raised after a stream's first events, so that the server drops the connection mid-body."""


@dataclass(slots=True)
class FaultRule:
    id: int
    status: int | None
    code: str | None
    message: str | None
    retry_after: float | None
    delay_ms: float
    cut_after: int | None
    drop: bool
    probability: float
    count: int | None  # applications left; None is unlimited
    model: str | None
    path: str | None
    seed: int | None
    rng: random.Random
    applied: int = 0

    def matches(self, path: str, model: object, stream: bool) -> bool:
        if self.path is not None and self.path not in path:
            return False
        if self.model is not None and self.model != model:
            return False
        # A rule that only cuts streams has nothing to do to a plain JSON answer.
        if self.cut_after is not None and self.status is None and not self.drop and not stream:
            return False
        return self.probability >= 1.0 or self.rng.random() < self.probability

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
            "cut_after": self.cut_after,
            "drop": self.drop,
            "probability": self.probability,
            "count": self.count,
            "model": self.model,
            "path": self.path,
            "seed": self.seed,
            "applied": self.applied,
        }


def _float(body: dict[str, Any], name: str, minimum: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise invalid(f"Fault rule field '{name}' must be a number >= {minimum}, got {value!r}.")
    return float(value)


def _int(body: dict[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(f"Fault rule field '{name}' must be an integer >= {minimum}, got {value!r}.")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(f"Fault rule field '{name}' must be a string, got {value!r}.")
    return value


class FaultBook:
    """The active rules and the random source their probabilities draw from."""

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self._rng = random.Random(seed)
        self._next_id = 1

    def add(self, body: object) -> FaultRule:
        if not isinstance(body, dict):
            raise invalid("A fault rule is a JSON object.")
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            raise invalid(f"Unknown fault rule fields: {', '.join(unknown)}. Known: {', '.join(sorted(_FIELDS))}.")
        status = _int(body, "status", 100)
        if status is not None and status > 599:
            raise invalid(f"Fault rule field 'status' must be an HTTP status, got {status}.")
        drop = body.get("drop", False)
        if not isinstance(drop, bool):
            raise invalid("Fault rule field 'drop' must be true or false.")
        probability = _float(body, "probability", 0)
        if probability is not None and probability > 1:
            raise invalid("Fault rule field 'probability' must be between 0 and 1.")
        seed = _int(body, "seed", -(2**63))
        rule = FaultRule(
            id=self._next_id,
            status=status,
            code=_text(body, "code"),
            message=_text(body, "message"),
            retry_after=_float(body, "retry_after", 0),
            delay_ms=_float(body, "delay_ms", 0) or 0.0,
            cut_after=_int(body, "cut_after", 0),
            drop=drop,
            probability=1.0 if probability is None else probability,
            count=_int(body, "count", 1),
            model=_text(body, "model"),
            path=_text(body, "path"),
            seed=seed,
            rng=self._rng if seed is None else random.Random(seed),
        )
        if status is None and not drop and rule.cut_after is None and not rule.delay_ms:
            raise invalid("A fault rule needs at least one of status, delay_ms, cut_after or drop.")
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def clear(self) -> int:
        cleared = len(self.rules)
        self.rules.clear()
        return cleared

    def pick(self, path: str, model: object, stream: bool) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(path, model, stream):
                rule.applied += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self.rules.remove(rule)
                return rule
        return None


async def apply(rule: FaultRule) -> int | None:
    """Carry out the rule up to the first byte; returns after how many events a stream must be cut, if so."""
    if rule.delay_ms:
        await asyncio.sleep(rule.delay_ms / 1000)
    if rule.drop:
        raise ConnectionDropped()
    if rule.status is not None:
        error = for_status(rule.status, rule.code, rule.message)
        if rule.retry_after is not None:
            seconds = rule.retry_after
            error.headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        raise error
    return rule.cut_after


async def paced(events: Sequence[bytes], delay_s: float, cut_after: int | None) -> AsyncIterator[bytes]:
    """Yields the stream's events one by one, pausing ``delay_s`` between them and stopping dead after
    ``cut_after`` of them."""
    for index, event in enumerate(events):
        if cut_after is not None and index >= cut_after:
            raise StreamCut(f"stream cut by a fault rule after {cut_after} events")
        if delay_s and index:
            await asyncio.sleep(delay_s)
        yield event
