"""What both kinds of provider share on the wire: who they are, how a POST goes out (signed under IAM, else with
the caller's headers), how a failed answer and a broken connection become errors, how Oracle's catalogue is listed,
and how a streamed answer is read and released.

:class:`HttpProvider` is the base of :class:`~ocigate.providers.openai_compat.OpenAICompatProvider` and
:class:`~ocigate.providers.oracle.native.OciNativeProvider`; :class:`EventReader` is the base of their streams.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

import aiohttp

from ocigate.config.network import CA_HINT
from ocigate.config.settings import ProviderConfig
from ocigate.providers.base import ListedModel
from ocigate.providers.egress import Wire
from ocigate.providers.oracle.discovery import list_oci_models, management_url
from ocigate.providers.oracle.hints import UpstreamContext, connection_error
from ocigate.providers.oracle.http import SignedHttp
from ocigate.providers.oracle.signing import OciRequestSigner

CONNECTION_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientHttpProxyError, OSError)
"""What aiohttp raises when a connection cannot be made (a proxy's refusal too) or breaks off (a timeout is a
``TimeoutError``)."""


def describe(exc: BaseException) -> str:
    """An exception as a message names it: ``ClientOSError: [Errno 111] Connect call failed``."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def unreachable(exc: BaseException) -> str:
    """Why a connection could not be made, with the setting that fixes it when the network's TLS or proxy is the
    cause (the proxy's URL in aiohttp's messages never holds its credentials: ``config/network.py``)."""
    said = describe(exc)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"{said}; the upstream's TLS certificate is not trusted: {CA_HINT} signed it"
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"{said}; the proxy cannot be reached: check HTTPS_PROXY/HTTP_PROXY or the provider's proxy:"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        fix = "give its credentials in the proxy URL (http://user:password@host:port)" if exc.status == 407 else ""
        return f"the proxy refused the connection ({exc.status} {exc.message}){'; ' + fix if fix else ''}"
    return said


async def read_error_body(response: aiohttp.ClientResponse) -> bytes:
    """The body of an error answer, empty when it broke off; the connection is released either way."""
    try:
        return await response.read()
    except CONNECTION_ERRORS:
        return b""
    finally:
        response.release()


class HttpProvider(ABC):
    """A provider's identity (the attributes of the ``Provider`` protocol), its connection pool and, under IAM, its
    signer and the :class:`SignedHttp` that uses it."""

    def __init__(self, config: ProviderConfig, session: aiohttp.ClientSession, signer: OciRequestSigner | None) -> None:
        self.name = config.name
        self.type = config.type
        self.region = config.region
        self.base_url = config.base_url.rstrip("/")
        self.signer = signer
        self._config = config
        self._session = session
        self._wire = Wire(config.egress)
        """The proxy and CA bundle of each request (``providers/egress.py``)."""
        self._signed = SignedHttp(session, signer, self._wire) if signer is not None else None

    @abstractmethod
    def _context(self, model: str, operation: str = "chat/completions") -> UpstreamContext:
        """What an error's hint is told about the attempt."""

    async def _list_catalogue(self, compartment: str, timeout: aiohttp.ClientTimeout) -> list[ListedModel]:
        """Every on-demand model of the compartment's region, from Oracle's management API (signed)."""
        assert self._signed is not None
        return await list_oci_models(
            self._signed,
            management_url(self._config),
            compartment,
            timeout=timeout,
            context=lambda: self._context("(ListModels)", "models"),
        )


class EventReader(ABC):
    """An upstream's streamed answer, read as it arrives: an idle or broken connection raises the error that says
    so, and closing releases the connection (back to the pool when the answer was read to its end)."""

    def __init__(self, response: aiohttp.ClientResponse | None, request_id: str | None, ctx: UpstreamContext) -> None:
        self._response = response
        self.request_id = request_id
        self._ctx = ctx
        self._finished = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._blocks()

    @abstractmethod
    def _blocks(self) -> AsyncIterator[bytes]:
        """Blocks of whole SSE events in OpenAI's format."""

    async def _read(self) -> bytes:
        """The next part of the answer as it arrived; empty at its end."""
        assert self._response is not None
        try:
            chunk = await self._response.content.readany()
        except TimeoutError as exc:
            raise connection_error(self._ctx, "the stream went idle", timeout=True) from exc
        except CONNECTION_ERRORS as exc:
            raise connection_error(self._ctx, f"the stream broke off: {describe(exc)}") from exc
        if not chunk:
            self._finished = True
        return chunk

    async def aclose(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            if self._finished:
                response.release()  # back to the pool for the next request
            else:
                response.close()  # abandoned mid-stream: not reusable, and closing stops the generation
