"""HTTP to Oracle under IAM: every request signed, and signed again once, after a refresh, when Oracle answers 401.

Usage::

    http = SignedHttp(session, signer)
    response = await http.request("POST", url, body, {"content-type": "application/json"}, timeout)
    async with response:
        data = await response.read()

The one re-sign is not a retry policy (providers make one attempt): a 401 under IAM usually means a token that
expired between two refreshes, or a key rotated on disk, and the request was never executed.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from ocigate.providers.egress import Wire
from ocigate.providers.oracle.signing import OciRequestSigner


class SignedHttp:
    def __init__(self, session: aiohttp.ClientSession, signer: OciRequestSigner, wire: Wire | None = None) -> None:
        self._session = session
        self.signer = signer
        self._wire = wire or Wire()

    async def request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: aiohttp.ClientTimeout,
        *,
        ready: bool = False,
    ) -> aiohttp.ClientResponse:
        """The response, unread: the caller reads and releases it. ``ready``: the caller has just awaited the
        signer's ``ensure_ready`` (it is not awaited twice)."""
        signer = self.signer
        if not ready:
            await signer.ensure_ready()
        options = self._wire.options(url)
        # Signed at each attempt: the second signature carries the refreshed credentials.
        signed = signer.sign(method, url, headers, body)
        response = await self._session.request(method, url, data=body, headers=signed, timeout=timeout, **options)
        if response.status != 401:
            return response
        response.release()
        await signer.refresh_async()
        signed = signer.sign(method, url, headers, body)
        return await self._session.request(method, url, data=body, headers=signed, timeout=timeout, **options)
