"""The checks every schema shares: a value at a path, refused with a message and ``param`` naming the path.

A :data:`Checker` takes a value that is not null and its path in OpenAI's notation (``messages[2].content``) and
raises :class:`InvalidRequest` when the value has the wrong type or an impossible value. :func:`check_fields` runs a
table of checkers over the fields an object actually holds, so a request costs one dictionary look-up per field it
sends, and unknown fields pass. A field that is null passes: OpenAI treats ``null`` as "not given" for its optional
fields; :func:`require` is for the fields that must be there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeGuard, TypeVar

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON

Checker = Callable[[object, str], None]
_T = TypeVar("_T")
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


def instance_of(kind: type, expected: str) -> Checker:
    """A checker of the value's JSON type, ``expected`` naming it in the refusal."""

    def check(value: object, param: str) -> None:
        if not isinstance(value, kind):
            raise refuse(param, expected, value)

    return check


string = instance_of(str, "a string")
boolean = instance_of(bool, "a boolean")
an_object = instance_of(dict, "an object")
an_array = instance_of(list, "an array")


def non_empty(value: object, param: str) -> None:
    if not isinstance(value, str) or not value:
        raise refuse(param, "a non-empty string", value)


def elements(value: object, param: str, array: str, kind: type[_T], element: str) -> Iterator[tuple[str, _T]]:
    """Each element of ``value`` with its path, checked as it is reached (so the first wrong field of the first
    wrong element is the one named): ``value`` must be an array (``array`` says of what), each element a ``kind``
    (``element`` says which)."""
    if not isinstance(value, list):
        raise refuse(param, array, value)
    for index, item in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(item, kind):
            raise refuse(where, element, item)
        yield where, item


def array_of(kind: type, array: str, element: str) -> Checker:
    """A checker of an array whose elements are all ``kind``, and no more is asked of them."""

    def check(value: object, param: str) -> None:
        for _ in elements(value, param, array, kind, element):
            pass  # each element is checked as it is reached

    return check


strings = array_of(str, "an array of strings", "a string")


def string_or_strings(value: object, param: str) -> None:
    """A string or an array of strings (``stop``)."""
    if not isinstance(value, str | list):
        raise refuse(param, "a string or an array of strings", value)
    if isinstance(value, list):
        strings(value, param)


def content_part(part: object, where: str, allowed: tuple[str, ...], user_parts: tuple[str, ...]) -> tuple[JSON, str]:
    """A content part and its ``type``, which must be one a message of its role may send (``allowed``); a type
    that only user messages may send (``user_parts``) is refused as such."""
    if not isinstance(part, dict):
        raise refuse(where, "a content part object with a 'type'", part)
    kind = part.get("type")
    if not one_of(kind, allowed):
        if one_of(kind, user_parts):
            raise InvalidRequest(f"'{where}.type' {kind!r} is only allowed in user messages.", param=f"{where}.type")
        raise refuse(f"{where}.type", f"one of {listed(allowed)}", kind)
    return part, kind


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
