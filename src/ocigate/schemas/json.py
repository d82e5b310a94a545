"""Request bodies parsed once, as JSON objects."""

from __future__ import annotations

import orjson

from ocigate.core.errors import InvalidRequest
from ocigate.core.types import JSON


def parse_object(body: bytes, *, max_depth: int = 64) -> JSON:
    if not body:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return payload
