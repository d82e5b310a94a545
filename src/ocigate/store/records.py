"""Records the store keeps, importable without the database libraries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    created_at: int
    model: str
    previous_response_id: str | None
    input_items: list[JSON]
    response: JSON
    owner: str | None = None
