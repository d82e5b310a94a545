"""The ``prices:`` block of the config file: USD per million tokens, per model name or pattern.

The price table that applies them (and Oracle's list prices, its defaults) is ``governance.pricing``; the value
type and its reading live here, below governance, because the settings hold them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Price:
    input: float = 0.0
    output: float = 0.0
    cached_input: float | None = None


def parse_prices(raw: Any) -> tuple[dict[str, Price], list[str]]:
    """A ``prices:`` block from the config file, and a message for each entry it had to skip."""
    prices: dict[str, Price] = {}
    problems: list[str] = []
    if raw is None:
        return prices, problems
    if not isinstance(raw, dict):
        return prices, ["prices: must be a mapping of model name (or pattern) to {input, output, cached_input}."]
    for model, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) - {"input", "output", "cached_input"}:
            problems.append(f"prices.{model} must be a mapping with input, output and cached_input (USD per 1M).")
            continue
        values = {k: entry.get(k) for k in ("input", "output", "cached_input")}
        bad = [
            k
            for k, v in values.items()
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v < 0)
        ]
        if bad:
            problems.append(f"prices.{model}.{bad[0]} must be a number of USD per million tokens, 0 or more.")
            continue
        cached = values["cached_input"]
        prices[str(model)] = Price(
            float(values["input"] or 0), float(values["output"] or 0), None if cached is None else float(cached)
        )
    return prices, problems
