"""The expiry of a JWT-shaped token, read without a JWT library, since nothing here verifies one: OCI security tokens
(session, instance and resource principals) are JWTs that Oracle verifies, and the emulator keeps its own registry.
Here, below both, because ``ocigate doctor`` (providers) and the emulator's signature check read it."""

from __future__ import annotations

import base64
import binascii
import json


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT-shaped token, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
