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

from collections.abc import Awaitable, Mapping

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
    ) -> aiohttp.ClientResponse:
        """The response, unread: the caller reads and releases it."""

        def send() -> Awaitable[aiohttp.ClientResponse]:
            # Signed at each call: the second signature carries the refreshed credentials.
            signed = self.signer.sign(method, url, headers, body)
            return self._session.request(
                method, url, data=body, headers=signed, timeout=timeout, **self._wire.options(url)
            )

        await self.signer.ensure_ready()
        response = await send()
        if response.status != 401:
            return response
        response.release()
        await self.signer.refresh_async()
        return await send()
