"""The checks every schema shares: a value at a path, refused with a message and ``param`` naming the path.

A :data:`Checker` takes a value that is not null and its path in OpenAI's notation (``messages[2].content``) and
raises :class:`InvalidRequest` when the value has the wrong type or an impossible value. :func:`check_fields` runs a
table of checkers over the fields an object actually holds, so a request costs one dictionary look-up per field it
sends, and unknown fields pass. A field that is null passes: OpenAI treats ``null`` as "not given" for its optional
fields; :func:`require` is for the fields that must be there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from ocigate.core.errors import InvalidRequest

Checker = Callable[[object, str], None]
_SHOWN = 60  # characters of a wrong value quoted in a message


def shorten(text: str) -> str:
    """``text`` cut to what a message may quote of a client's value."""
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"


def describe(value: object) -> str:
    """A value as a message quotes it: its JSON type for containers, itself (shortened) for scalars."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return shorten(repr(value))


def refuse(param: str, expected: str, value: object) -> InvalidRequest:
    """``'<param>' must be <expected>, got <value>.`` with ``param`` set."""
    return InvalidRequest(f"'{param}' must be {expected}, got {describe(value)}.", param=param)


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """An integer or a finite float; never a boolean (``True`` is an ``int`` in Python)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def one_of(value: object, allowed: tuple[str, ...]) -> TypeGuard[str]:
    """Membership that never raises: ``in`` on a set fails on an unhashable value (a list, an object)."""
    return isinstance(value, str) and value in allowed


def listed(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed)


def check_fields(obj: Mapping[str, Any], checkers: Mapping[str, Checker], prefix: str = "") -> None:
    """Each field of ``obj`` that has a checker and is not null, checked at ``prefix + field``."""
    for key, value in obj.items():
        if value is not None:
            check = checkers.get(key)
            if check is not None:
                check(value, prefix + key)


def require(obj: Mapping[str, Any], key: str, check: Checker, prefix: str = "") -> Any:
    """``obj[key]``, which must be there and pass ``check`` (every checker refuses null)."""
    value = obj.get(key)
    check(value, prefix + key)
    return value


def check_model(payload: Mapping[str, Any]) -> None:
    model = payload.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("'model' is required: the name of a model this gateway serves.", param="model")


def string(value: object, param: str) -> None:
    if not isinstance(value, str):
        raise refuse(param, "a string", value)


def non_empty(value: object, param: str) -> None:
    if not isinstance(value, str) or not value:
        raise refuse(param, "a non-empty string", value)


def boolean(value: object, param: str) -> None:
    if not isinstance(value, bool):
        raise refuse(param, "a boolean", value)


def an_object(value: object, param: str) -> None:
    if not isinstance(value, dict):
        raise refuse(param, "an object", value)


def an_array(value: object, param: str) -> None:
    if not isinstance(value, list):
        raise refuse(param, "an array", value)


def strings(value: object, param: str) -> None:
    """An array of strings."""
    if not isinstance(value, list):
        raise refuse(param, "an array of strings", value)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise refuse(f"{param}[{index}]", "a string", item)


def string_or_strings(value: object, param: str) -> None:
    """A string or an array of strings (``stop``)."""
    if not isinstance(value, str | list):
        raise refuse(param, "a string or an array of strings", value)
    if isinstance(value, list):
        strings(value, param)


def number(low: float, high: float) -> Checker:
    def check(value: object, param: str) -> None:
        if not is_number(value) or not low <= value <= high:
            raise refuse(param, f"a number from {low:g} to {high:g}", value)

    return check


def integer(low: int, high: int | None = None) -> Checker:
    if high is not None:
        expected = f"an integer from {low} to {high}"
    else:
        expected = "a positive integer" if low == 1 else f"an integer of at least {low}"

    def check(value: object, param: str) -> None:
        if not is_int(value) or value < low or (high is not None and value > high):
            raise refuse(param, expected, value)

    return check


def choice(*allowed: str) -> Checker:
    def check(value: object, param: str) -> None:
        if not one_of(value, allowed):
            raise refuse(param, f"one of {listed(allowed)}", value)

    return check
