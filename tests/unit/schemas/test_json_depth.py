"""parse_object: one parse, a 400 for every body that is not a JSON object nested at most 64 levels."""

from __future__ import annotations

import orjson
import pytest

from ocigate.core.errors import InvalidRequest
from ocigate.schemas.json import MAX_DEPTH, depth_exceeds, parse_object


def nested(levels: int) -> bytes:
    """An object holding arrays, ``levels`` containers deep in all."""
    return b'{"a":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def test_an_object_comes_back_parsed() -> None:
    assert parse_object(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')["model"] == "m"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty"),
        (b"{", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"NaN", "not valid JSON"),
    ],
)
def test_what_is_not_an_object_is_a_400(body: bytes, words: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_object(body)
    assert raised.value.status == 400 and words in raised.value.message


def test_64_levels_pass_and_65_are_refused() -> None:
    assert MAX_DEPTH == 64
    assert parse_object(nested(64))
    with pytest.raises(InvalidRequest) as raised:
        parse_object(nested(65))
    assert raised.value.message == "The request body is nested deeper than 64 levels."


@pytest.mark.parametrize("levels", [255, 600, 1024])
def test_what_orjson_parses_but_cannot_write_again_is_a_400(levels: int) -> None:
    body = nested(levels)
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(orjson.loads(body))  # the 500 of finding 7: parsed, then not serialisable
    with pytest.raises(InvalidRequest):
        parse_object(body)


def test_the_limit_can_be_given() -> None:
    assert parse_object(nested(3), max_depth=3)
    with pytest.raises(InvalidRequest, match="deeper than 2 levels"):
        parse_object(nested(3), max_depth=2)


def test_depth_is_measured_in_every_branch_and_in_objects_too() -> None:
    wide = {"a": [1, "x", {"b": {}}], "c": {"d": [[{}]]}}  # deepest: c → d → [ → [ → {}: 5 levels
    assert not depth_exceeds(wide, 5) and depth_exceeds(wide, 4)
    assert not depth_exceeds("scalar", 0) and not depth_exceeds({}, 1) and depth_exceeds({"a": {}}, 1)
    deep: object = {}
    for _ in range(1000):
        deep = {"k": deep}
    assert depth_exceeds(deep, 64)  # no recursion: no RecursionError at any depth
