"""Types shared by every layer."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
"""A JSON object as parsed (request bodies, upstream payloads): the one place ``Any`` is allowed."""
