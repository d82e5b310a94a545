"""What a request's handler learnt for the request's one access line, beyond what the edge knows itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class AccessNote:
    model: str = "-"
    provider: str = "-"
    deployment: str | None = None
    """The deployment that served (``-`` for none) where the request went through dispatch, else None."""
    attempts: str | None = None
    key: str | None = None
    """The visible prefix of the virtual key that made the request; never the secret."""
    stream: bool = False
    status: int | None = None
    """A stream's real end (499: the client left; the upstream's error status) where it differs from the 200
    its headers carried."""
    opc_request_id: str | None = None
    upstream_code: str | None = None
