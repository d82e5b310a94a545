"""Records the store keeps, importable without the database libraries."""

from __future__ import annotations

from dataclasses import dataclass

from ocigate.core.types import JSON


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    created_at: int
    model: str
    previous_response_id: str | None
    input_items: list[JSON]
    response: JSON
    owner: str | None = None
