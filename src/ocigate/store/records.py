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
    owner: str = "master"
    """The id of the virtual key that created it, or ``MASTER`` (the master key, or a gateway without keys)."""


MASTER = "master"
"""The owner of what the master key (or a gateway with no keys at all) created; only the master key sees it."""
