"""``retention:`` in the config file and the ``OCIGATE_RETENTION_*`` variables: how long usage records, audit rows
and stored responses are kept before the gateway prunes them (``store/prune.py``).

::

    retention:
      usage_days: 400          # usage records (reports, budgets)
      audit_days: 400          # audit rows
      responses_days: 30       # stored Responses (previous_response_id, GET /v1/responses/{id})
      interval_minutes: 60     # how often the gateway prunes; 0: only `ocigate prune` does

A number of days (fractions allowed), or ``forever`` (YAML ``null`` too) to keep that table whole. The
environment (``OCIGATE_RETENTION_USAGE_DAYS``, ``_AUDIT_DAYS``, ``_RESPONSES_DAYS``, ``_INTERVAL_MINUTES``) wins
over the file.

Why these defaults: usage and audit rows are kept 400 days, a year and a month, so that a year's reports and an
annual audit still find every month of the year they cover (budgets need far less: the current day, week or
month; the rows of keys with a ``total`` budget are never pruned, see ``store/prune.py``). Stored responses hold
the conversations themselves, the most sensitive data the gateway keeps, and are kept 30 days, as OpenAI keeps
Response objects: a ``previous_response_id`` older than that answers 404 there too.

Pure, like ``routing.py``: the document and the environment arrive as arguments, and a bad value becomes a
sentence for a Diagnostic while the default is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETENTION_FIELDS = ("usage_days", "audit_days", "responses_days", "interval_minutes")
FOREVER = "forever"
_DAYS = 86400.0


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    usage_days: float | None = 400.0
    """None: kept forever."""
    audit_days: float | None = 400.0
    responses_days: float | None = 30.0
    interval_minutes: float = 60.0
    """How often the running gateway prunes; 0 turns the background pruning off."""

    @property
    def prunes(self) -> bool:
        """Whether any table is kept for a limited time."""
        return any(days is not None for days in (self.usage_days, self.audit_days, self.responses_days))

    def cutoffs(self, now: float) -> dict[str, float | None]:
        """Per table, the ``created_at`` before which rows go (None: none go)."""
        days = {"usage": self.usage_days, "audit": self.audit_days, "responses": self.responses_days}
        return {table: None if kept is None else now - kept * _DAYS for table, kept in days.items()}


def read_retention(document: Mapping[str, Any], env: Mapping[str, str]) -> tuple[RetentionSettings, list[str]]:
    """The ``retention:`` block with the environment's overrides, and the problems found."""
    problems: list[str] = []
    block = document.get("retention")
    if block is not None and not isinstance(block, dict):
        problems.append(f"retention: must be a mapping with {', '.join(RETENTION_FIELDS)}.")
        block = None
    block = block or {}
    defaults = RetentionSettings()
    values: dict[str, float | None] = {}
    for name in RETENTION_FIELDS:
        value = getattr(defaults, name)
        if name in block:
            value = _value(name, block[name], value, f"retention.{name}", problems)
        variable = f"OCIGATE_RETENTION_{name.upper()}"
        if env.get(variable):
            value = _value(name, env[variable], value, variable, problems)
        values[name] = value
    interval = values["interval_minutes"]
    assert interval is not None  # only the days may be "forever"
    settings = RetentionSettings(values["usage_days"], values["audit_days"], values["responses_days"], interval)
    return settings, problems


def _value(name: str, raw: Any, current: float | None, where: str, problems: list[str]) -> float | None:
    days = name.endswith("_days")
    if days and (raw is None or (isinstance(raw, str) and raw.strip().lower() == FOREVER)):
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    # Zero days would delete every row at the next pass: never what a typo should do. Zero minutes turns the
    # background pruning off.
    if not math.isfinite(value) or value < 0 or (days and value == 0):
        wanted = "a positive number of days, or forever" if days else "a number of minutes (0: off)"
        problems.append(f"{where}={raw!r} is not {wanted}; using {FOREVER if current is None else current}.")
        return current
    return value
