"""``OCIGATE_FUNCTION_PATH_PREFIX``: the API Gateway deployment's path prefix (config/functions.py)."""

from __future__ import annotations

import pytest

from ocigate.config.functions import function_path_prefix


@pytest.mark.parametrize(
    ("value", "expected"), [("", ""), ("/", ""), ("/ocigate", "/ocigate"), (" /ai/gw/ ", "/ai/gw")]
)
def test_prefixes(value: str, expected: str) -> None:
    assert function_path_prefix({"OCIGATE_FUNCTION_PATH_PREFIX": value}) == (expected, [])


@pytest.mark.parametrize("value", ["ocigate", "/a?b", "/{path*}"])
def test_not_a_prefix(value: str) -> None:
    prefix, problems = function_path_prefix({"OCIGATE_FUNCTION_PATH_PREFIX": value})
    assert prefix == "" and "OCIGATE_FUNCTION_PATH_PREFIX" in problems[0] and "/ocigate" in problems[0]
