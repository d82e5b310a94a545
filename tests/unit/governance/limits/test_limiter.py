"""The limiter without a store behind it: unlimited keys touch no counter, and an unreachable store fails open or
closed as configured. tests/e2e/governance/test_limits.py runs the limits against memory and Redis."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from ocigate.governance.keys import KeyRecord
from ocigate.governance.limits import Decision, Limiter, MemoryBackend, Plan, Verdict


def _key(**limits: object) -> KeyRecord:
    return KeyRecord(f"key_{secrets.token_hex(6)}", "abcdefgh", "team-a", **limits)  # type: ignore[arg-type]


class Broken:
    """A backend whose store cannot be reached."""

    async def admit(self, plan: Plan) -> Verdict:
        raise ConnectionError("Redis is down")

    async def finish(self, plan: Plan, *, tokens_delta: int, spend_delta: int) -> None:
        raise ConnectionError("Redis is down")

    async def renew(self, plans: Sequence[Plan]) -> None:
        raise ConnectionError("Redis is down")

    async def seed_budget(self, key_id: str, period: str, spent: int, expires_at: float | None) -> None:
        raise ConnectionError("Redis is down")

    async def budget_spent(self, key_id: str, period: str) -> int | None:
        raise ConnectionError("Redis is down")

    async def reset(self, key_id: str) -> None:
        raise ConnectionError("Redis is down")

    async def close(self) -> None:
        pass


async def test_unlimited_keys_skip_the_counters_and_outages_fail_open_or_closed() -> None:
    unlimited = await Limiter(Broken()).admit(_key())
    assert unlimited.allowed and unlimited.enforced and unlimited.ticket is None
    await Limiter(Broken()).finish(None, tokens=1, cost_usd=1.0)
    record = _key(rpm=1)
    opened = await Limiter(Broken()).admit(record)
    assert opened.allowed and not opened.enforced
    closed: Decision = await Limiter(Broken(), fail_open=False).admit(record)
    assert not closed.allowed and closed.error().status == 503 and closed.error().headers["retry-after"] == "1"


async def test_counters_that_fail_at_once_leave_the_policy_to_the_awaited_admission() -> None:
    class Failing(MemoryBackend):
        def admit_now(self, plan: Plan) -> Verdict | None:
            raise RuntimeError("counters broken")

    record = _key(rpm=1)
    assert Limiter(Failing()).admit_now(record, 0, 0.0) is None  # not admitted, nothing counted: ask admit()
    assert not (await Limiter(Failing()).admit(record)).enforced  # fail-open by default
    closed = await Limiter(Failing(), fail_open=False).admit(record)
    assert not closed.allowed and closed.error().status == 503
