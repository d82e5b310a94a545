"""Tool and response schemas as Oracle accepts them: no ``$ref``/``$defs``, no ``anyOf``.

Oracle rejects JSON Schema references and unions in tool parameters (doc §3.4: LL and LCO inline them before
sending). Pydantic emits all of them for nested models and ``Optional`` fields, so every schema a client sends is
rewritten here:

- ``$ref`` to ``#/$defs/<name>`` (or ``#/definitions/<name>``) is replaced by a copy of the definition; the
  definitions themselves are dropped. Sibling keywords of the ``$ref`` (a ``description``) are kept.
- A recursive model (a tree whose nodes hold nodes) cannot be inlined completely: a reference that is already
  being expanded ``max_depth`` times on the current path becomes ``{"type": "object"}`` (its description kept), so
  the output is finite and still valid.
- ``anyOf``/``oneOf`` with ``{"type": "null"}`` (pydantic's ``Optional[X]``) flatten into ``X``; a union of
  several non-null types keeps only its first member (Oracle has no union type). ``type: ["string", "null"]``
  becomes ``"string"``. ``allOf`` merges its members (pydantic wraps a described ``$ref`` in ``allOf``).
- ``$schema``, ``$id`` and ``$comment`` are dropped.

Keywords that hold data (``enum``, ``const``, ``default``, ``examples``) and the names under ``properties`` are
copied untouched, so a property called ``anyOf`` survives.
"""

from __future__ import annotations

from typing import Any

from ocigate.core.types import JSON

DEFAULT_MAX_DEPTH = 2
# Bounds the output of pathological schemas (deep but not recursive) the same way.
_MAX_NESTING = 64
_DROPPED = frozenset({"$defs", "definitions", "$schema", "$id", "$comment"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SCHEMA_VALUES = frozenset(
    {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else", "unevaluatedItems"}
)
_SCHEMA_LISTS = frozenset({"prefixItems"})
_UNIONS = ("anyOf", "oneOf")


def inline_schema(schema: JSON, *, max_depth: int = DEFAULT_MAX_DEPTH) -> JSON:
    """A copy of ``schema`` with references inlined and unions flattened (see the module docstring)."""
    defs: JSON = {}
    for key in ("definitions", "$defs"):
        found = schema.get(key)
        if isinstance(found, dict):
            defs.update(found)
    return _Inliner(defs, max_depth).schema(schema, {}, 0)


class _Inliner:
    def __init__(self, defs: JSON, max_depth: int) -> None:
        self.defs = defs
        self.max_depth = max(0, max_depth)

    def schema(self, node: object, active: dict[str, int], nesting: int) -> JSON:
        if not isinstance(node, dict):
            return {} if node is True or node is None else {"not": {}}
        if nesting > _MAX_NESTING:
            return _stub(node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._ref(node, ref, active, nesting)
        out: JSON = {}
        for key, value in node.items():
            if key in _DROPPED:
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self.schema(sub, active, nesting + 1) for name, sub in value.items()}
            elif key in _SCHEMA_VALUES and isinstance(value, dict | bool):
                out[key] = value if isinstance(value, bool) else self.schema(value, active, nesting + 1)
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.schema(sub, active, nesting + 1) for sub in value]
            elif key == "allOf" and isinstance(value, list):
                continue  # merged below, after the node's own keys
            elif key in _UNIONS and isinstance(value, list):
                continue
            else:
                out[key] = value
        kind = out.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            out["type"] = non_null[0] if non_null else "null"
        for key in _UNIONS:
            options = node.get(key)
            if isinstance(options, list):
                out = _merge(out, self._union(options, active, nesting))
        members = node.get("allOf")
        if isinstance(members, list):
            for member in members:
                out = _merge(out, self.schema(member, active, nesting + 1))
        return out

    def _ref(self, node: JSON, ref: str, active: dict[str, int], nesting: int) -> JSON:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        name = _def_name(ref)
        target = self.defs.get(name) if name is not None else None
        if target is None or active.get(ref, 0) >= self.max_depth:
            # An unknown or a too-deeply recursive reference: an open object keeps the schema valid.
            return _merge(self.schema(siblings, active, nesting), _stub(target if isinstance(target, dict) else {}))
        active[ref] = active.get(ref, 0) + 1
        try:
            expanded = self.schema(target, active, nesting + 1)
        finally:
            active[ref] -= 1
        # The reference's own keywords (a description) win over the definition's.
        return _merge(self.schema(siblings, active, nesting), expanded)

    def _union(self, options: list[Any], active: dict[str, int], nesting: int) -> JSON:
        candidates = [self.schema(option, active, nesting + 1) for option in options]
        non_null = [c for c in candidates if c.get("type") != "null"]
        if non_null:
            return non_null[0]
        return candidates[0] if candidates else {}


def _def_name(ref: str) -> str | None:
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :].replace("~1", "/").replace("~0", "~")
    return None


def _stub(target: JSON) -> JSON:
    stub: JSON = {"type": "object"}
    description = target.get("description")
    if isinstance(description, str):
        stub["description"] = description
    return stub


def _merge(base: JSON, extra: JSON) -> JSON:
    """``base`` with ``extra``'s keys added; properties and required lists are combined, ``base`` wins otherwise."""
    merged = dict(extra)
    for key, value in base.items():
        if key == "properties" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**value, **{k: v for k, v in merged[key].items() if k not in value}}
        elif key == "required" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = list(dict.fromkeys([*value, *merged[key]]))
        else:
            merged[key] = value
    return merged
