"""``request_rules:`` in the config file: per model family, what the gateway drops from or lets through in
Chat Completions requests, on top of its defaults (``translate/sanitize/profile.py``).

Oracle answers 400 to fields OpenAI would ignore, and which fields each family takes is partly undocumented;
an operator who learns otherwise changes it here, without code::

    request_rules:
      meta:
        drop: [seed]                 # never send these to Meta models
        allow: [top_k]               # send these although the defaults would drop them
        token_field: max_tokens      # the output-limit field to send (max_tokens or max_completion_tokens)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocigate.config.diagnostics import nearest_names

VENDORS = ("openai", "meta", "xai", "google", "cohere")
TOKEN_FIELDS = ("max_tokens", "max_completion_tokens")
RULE_FIELDS = ("drop", "allow", "token_field")


@dataclass(frozen=True, slots=True)
class RequestRule:
    vendor: str
    drop: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    token_field: str | None = None


def read_request_rules(block: Any) -> tuple[tuple[RequestRule, ...], list[str]]:
    """The rules, and the problems found (each a sentence that says what to fix; unknown keys are left to
    ``schema.py``)."""
    if block is None:
        return (), []
    if not isinstance(block, dict):
        return (), ["request_rules: must be a mapping of model family (openai, meta, xai, google, cohere) to rules."]
    rules: list[RequestRule] = []
    problems: list[str] = []
    for vendor, entry in block.items():
        where = f"request_rules.{vendor}"
        if vendor not in VENDORS:
            nearest = nearest_names(str(vendor), VENDORS, 1)
            hint = f"did you mean '{nearest[0]}'?" if nearest else f"use one of {', '.join(VENDORS)}."
            problems.append(f"{where}: '{vendor}' is not a model family; {hint}")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a mapping with drop:, allow: or token_field:.")
            continue
        lists = {}
        for key in ("drop", "allow"):
            value = entry.get(key) or []
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                problems.append(f"{where}.{key} must be a list of field names.")
                value = []
            lists[key] = frozenset(value)
        token_field = entry.get("token_field")
        if token_field is not None and token_field not in TOKEN_FIELDS:
            problems.append(f"{where}.token_field must be max_tokens or max_completion_tokens.")
            token_field = None
        rules.append(RequestRule(str(vendor), lists["drop"], lists["allow"], token_field))
    return tuple(rules), problems
