"""The admin API's inputs: a key's fields (``POST /admin/keys``, ``PATCH /admin/keys/{id}``) and the query
parameters of ``GET /admin/keys`` and ``GET /admin/usage``.

Everything the store would choke on is refused here with a 400 naming the field: integers beyond the database's
32-bit columns, NUL and other control characters (Postgres refuses NUL in text), times that are not finite or
beyond the year 9999, lists and metadata without bounds. Metadata is free-form but at most
:data:`MAX_METADATA_DEPTH` levels deep and :data:`MAX_METADATA_BYTES` once serialised, so that a key's listing
always serialises. The conversion to the store's types stays in ``store.keys.parse_key_fields``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.fields import is_int, is_number, listed, one_of, refuse, shorten
from ocigate.schemas.json import depth_exceeds

KEY_FIELDS = ("name", "team", "user", "allowed_models", "rpm", "tpm", "max_concurrent", "budget", "expires_at")
MAX_TEXT = 200  # the store's column width for names, teams, users and model names
MAX_MODELS = 500
MAX_LIMIT = 2**31 - 1  # rpm, tpm and max_concurrent are 32-bit integer columns
MAX_BUDGET = 1e15
LATEST_TIME = 253_402_300_799.0  # 9999-12-31T23:59:59Z, the last moment ISO 8601 and Python's datetime can write
MAX_METADATA_DEPTH = 8
MAX_METADATA_BYTES = 16_384
BUDGET_UNITS = ("usd", "tokens")
BUDGET_PERIODS = ("day", "week", "month", "total")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")  # the store's ids are "key_" and 16 hex digits, in a 40-wide column


def check_text(value: object, param: str, *, nullable: bool = True) -> None:
    """A label the store keeps in a column: a string of at most :data:`MAX_TEXT` characters, no control
    characters; ``nullable``: null or ``""`` (which the store keeps as null) too."""
    if nullable and (value is None or value == ""):
        return
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or _CONTROL.search(value):
        expected = f"a non-empty string of at most {MAX_TEXT} characters without control characters"
        raise refuse(param, f"{expected}{', or null' if nullable else ''}", value)


def plausible_key_id(key_id: str) -> bool:
    """Whether ``key_id`` could name a key: anything else is answered 404 without asking the store (which may
    refuse a NUL or an over-long id with an error of its own)."""
    return _KEY_ID.fullmatch(key_id) is not None


def check_key_fields(payload: Mapping[str, Any], *, partial: bool = False) -> None:
    """A key's fields for create (``partial=False``: ``name`` required) or update (only those present)."""
    unknown = sorted(set(payload) - {*KEY_FIELDS, "metadata"})
    if unknown:
        raise InvalidRequest(
            f"Unknown key field(s): {', '.join(unknown)}; the fields are {listed(KEY_FIELDS)}, metadata.",
            param=unknown[0],
        )
    if "name" in payload or not partial:
        check_text(payload.get("name"), "name", nullable=False)
    for field in ("team", "user"):
        check_text(payload.get(field), field)
    models = payload.get("allowed_models")
    if models is not None:
        if not isinstance(models, list) or len(models) > MAX_MODELS:
            expected = f"an array of at most {MAX_MODELS} model names or patterns such as 'xai.*'"
            raise refuse("allowed_models", expected, models)
        for index, model in enumerate(models):
            check_text(model, f"allowed_models[{index}]", nullable=False)
    for limit in ("rpm", "tpm", "max_concurrent"):
        value = payload.get(limit)
        if value is not None and (not is_int(value) or not 1 <= value <= MAX_LIMIT):
            raise refuse(limit, f"an integer from 1 to {MAX_LIMIT}, or null for no limit", value)
    _budget(payload.get("budget"))
    expires = payload.get("expires_at")
    if expires is not None and not isinstance(expires, str) and not _is_time(expires):
        expected = "a Unix time in seconds, an ISO 8601 time (2026-01-31T00:00:00Z), or null"
        raise refuse("expires_at", expected, expires)
    if isinstance(expires, str) and len(expires) > 64:
        raise refuse("expires_at", "an ISO 8601 time such as 2026-01-31T00:00:00Z", expires)
    _metadata(payload.get("metadata"), "metadata" in payload)


def _is_time(value: object) -> bool:
    return is_number(value) and 0 <= value <= LATEST_TIME


def _budget(budget: object) -> None:
    if budget is None:
        return
    if not isinstance(budget, dict):
        raise refuse("budget", "null or an object: {'amount', 'unit', 'period'}", budget)
    extra = sorted(set(budget) - {"amount", "unit", "period"})
    if extra:
        raise InvalidRequest(f"Unknown budget field '{extra[0]}': the fields are amount, unit, period.", param="budget")
    amount = budget.get("amount")
    if not is_number(amount) or not 0 < amount <= MAX_BUDGET:
        raise refuse("budget.amount", f"a positive number of at most {MAX_BUDGET:g}", amount)
    for key, allowed in (("unit", BUDGET_UNITS), ("period", BUDGET_PERIODS)):
        value = budget.get(key)
        if value is not None and not one_of(value, allowed):
            raise refuse(f"budget.{key}", f"one of {listed(allowed)}", value)


def _metadata(metadata: object, given: bool) -> None:
    if not given:
        return
    if not isinstance(metadata, dict):
        raise refuse("metadata", "a JSON object", metadata)
    if depth_exceeds(metadata, MAX_METADATA_DEPTH):
        raise InvalidRequest(f"'metadata' is nested deeper than {MAX_METADATA_DEPTH} levels.", param="metadata")
    try:
        size = len(orjson.dumps(metadata))
    except orjson.JSONEncodeError as exc:  # only a payload not parsed by orjson: an integer beyond 64 bits
        raise InvalidRequest(f"'metadata' cannot be stored as JSON: {exc}.", param="metadata") from exc
    if size > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"'metadata' takes {size} bytes as JSON; at most {MAX_METADATA_BYTES} are kept with a key.",
            param="metadata",
        )


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """``GET /admin/usage``'s parameters, checked."""

    by: tuple[str, ...]
    since: float
    until: float
    key: str | None
    team: str | None
    model: str | None


def check_query(query: Mapping[str, list[str]], known: tuple[str, ...]) -> dict[str, str]:
    """The query's parameters, each given at most once (``by`` may repeat) and among ``known``."""
    single: dict[str, str] = {}
    for name, values in query.items():
        if name not in known:
            raise InvalidRequest(
                f"Unknown query parameter '{shorten(name)}'; this endpoint takes {listed(known) or 'none'}.",
                param=name,
            )
        if name != "by":
            if len(values) > 1:
                raise InvalidRequest(f"'{name}' is given {len(values)} times; give it once.", param=name)
            single[name] = values[0]
    for name in ("key", "team", "model"):
        if name in single:
            check_text(single[name], name, nullable=False)
    return single


def usage_query(query: Mapping[str, list[str]], groups: tuple[str, ...], now: float) -> UsageQuery:
    """``by`` (comma-separated and/or repeated; at most once each, among ``groups``), ``since`` and ``until``
    (Unix times, ``since`` first; the last 30 days by default), and the ``key``, ``team`` and ``model`` filters."""
    single = check_query(query, ("by", "since", "until", "key", "team", "model"))
    by: list[str] = []
    for group in (g.strip() for part in query.get("by", ["key"]) for g in part.split(",")):
        if not group:
            continue
        if group not in groups:
            raise InvalidRequest(f"Cannot group usage by '{shorten(group)}'; choose from {listed(groups)}.", param="by")
        if group in by:
            raise InvalidRequest(f"'by' names '{group}' twice; name each group once.", param="by")
        by.append(group)
    since = _time(single, "since", now - 30 * 86400)
    until = _time(single, "until", now + 1)
    if since >= until:
        raise InvalidRequest(f"'since' ({since:g}) must be before 'until' ({until:g}).", param="since")
    return UsageQuery(tuple(by), since, until, single.get("key"), single.get("team"), single.get("model"))


def _time(single: Mapping[str, str], name: str, default: float) -> float:
    raw = single.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not _is_time(value):
        raise refuse(name, f"a Unix time in seconds, from 0 to {LATEST_TIME:.0f}", raw)
    return value
