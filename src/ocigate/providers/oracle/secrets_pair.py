"""Both secrets of one Oracle Generative AI API key.

Oracle gives every API key two interchangeable secrets so that one can be regenerated while the other serves. A
provider holding both sends :meth:`SecretPair.current`; on a 401 it calls :meth:`SecretPair.report_unauthorized`
with the secret that request used, which moves traffic to the other secret and says whether a retry would now use
a different secret. The provider still makes one attempt: it marks its 401 ``retryable`` with that answer, and the
dispatcher retries at once, with no backoff and without counting it against the deployment's circuit. So a
rotation fails no request, and the failing secret is reported (``failing()``, ``on_unauthorized``) for logs,
metrics and ``ocigate doctor``, by label ("primary" or "secondary") and never by value.

A secret that failed is not switched back to for ``recheck_after_s``, so two bad secrets cannot flip-flop; after
that it gets another chance (a transient 401, or a secret put back after a regeneration). Dependency-free, so a
provider may import it.

Usage (inside a provider's ``send``)::

    secret = self._secrets.current()
    response = await self._post(url, body, {"Authorization": f"Bearer {secret}", ...})
    if response.status == 401:
        err = oracle_error(401, data, headers, ctx, request_id)
        err.retryable = self._secrets.report_unauthorized(secret)
        raise err
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

SecretLabel = Literal["primary", "secondary"]
_LABELS: tuple[SecretLabel, SecretLabel] = ("primary", "secondary")


def mask(secret: str) -> str:
    """Enough of a secret to tell which one it is: its last four characters."""
    return f"…{secret[-4:]}" if len(secret) > 8 else "…"


class SecretPair:
    def __init__(
        self,
        primary: str,
        secondary: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        recheck_after_s: float = 600.0,
        on_unauthorized: Callable[[SecretLabel], None] | None = None,
    ) -> None:
        if not primary:
            raise ValueError("the primary secret is empty")
        self._secrets: tuple[str, str | None] = (primary, secondary or None)
        self._active = 0
        self._failed_at: list[float | None] = [None, None]
        self._clock = clock
        self._recheck_after_s = recheck_after_s
        self._on_unauthorized = on_unauthorized

    def current(self) -> str:
        secret = self._secrets[self._active]
        assert secret is not None  # only a present secret is ever made active
        return secret

    @property
    def active(self) -> SecretLabel:
        return _LABELS[self._active]

    def report_unauthorized(self, secret: str) -> bool:
        """A request with ``secret`` got a 401. True when :meth:`current` is now another secret (this call
        switched, or an earlier one already had), so a retry is worth making; False when there is nothing else
        to try (no second secret, or it failed within ``recheck_after_s``), or ``secret`` is not one of these."""
        if secret not in self._secrets:
            return False
        which = self._secrets.index(secret)
        now = self._clock()
        newly = self._failed_at[which] is None
        self._failed_at[which] = now
        if newly and self._on_unauthorized is not None:
            self._on_unauthorized(_LABELS[which])
        if which != self._active:
            return True
        other = 1 - which
        if self._secrets[other] is None:
            return False
        failed = self._failed_at[other]
        if failed is not None and now - failed < self._recheck_after_s:
            return False
        self._active = other
        self._failed_at[other] = None  # given another chance; it is marked again if it fails
        return True

    def failing(self) -> list[SecretLabel]:
        """The labels of the secrets that got a 401 (and were not switched back to since)."""
        return [_LABELS[i] for i in (0, 1) if self._failed_at[i] is not None]

    def snapshot(self) -> dict[str, object]:
        """For ``ocigate doctor``, /readyz and the admin API: which secret serves, which fail, both masked."""
        primary, secondary = self._secrets
        return {
            "active": self.active,
            "failing": self.failing(),
            "primary": mask(primary),
            "secondary": None if secondary is None else mask(secondary),
        }

    def __repr__(self) -> str:
        return f"SecretPair(active={self.active}, failing={self.failing()})"
