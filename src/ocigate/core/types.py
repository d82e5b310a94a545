"""Types shared by every layer."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
"""A JSON object as parsed (orjson): request and reply bodies, and the pieces that translation builds."""
