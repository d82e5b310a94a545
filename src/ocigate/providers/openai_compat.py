"""An OpenAI-compatible upstream: Oracle's ``/20231130/actions/v1`` and ``/openai/v1`` bases with a bearer API
key, or any other OpenAI-compatible server.

Oracle's flavour differs from a plain OpenAI-compatible upstream only in its headers (``OpenAI-Project`` on the
``/openai/v1`` base) and in how its errors are explained (``hints.py``), so one class serves both, as GoModel's
79-line Oracle provider wraps its OpenAI-compatible one.

Under IAM (``auth: user_principal`` and the others) requests are signed instead of carrying a bearer key, and
name their compartment (``opc-compartment-id`` and, as oci-openai does for older servers, ``CompartmentId``) on
the ``/20231130/actions/v1`` base, or their project (``OpenAI-Project``) on ``/openai/v1`` (doc §2.3); models are
then listed through Oracle's management API, as for ``type: oci``.

With an API key, the provider may hold both of its secrets (a
:class:`~ocigate.providers.oracle.secrets_pair.SecretPair`): a 401 moves it to the other secret and is marked
``retryable`` when it did, so that the dispatcher tries again at once; the key's rotation then fails no request.
The header sets of both secrets are built once, not per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import aiohttp
import orjson

from ocigate.catalog.metadata import model_kind
from ocigate.catalog.regions import uses_openai_base
from ocigate.config.policies import Timeouts
from ocigate.config.settings import ProviderConfig
from ocigate.core.errors import UpstreamError
from ocigate.core.propagation import with_trace
from ocigate.core.sse import SSEFramer, encode_event
from ocigate.providers.base import ListedModel, UpstreamReply
from ocigate.providers.oracle.hints import UpstreamContext, connection_error, oracle_error
from ocigate.providers.oracle.secrets_pair import SecretPair
from ocigate.providers.oracle.signing import OciRequestSigner
from ocigate.providers.transport import CONNECTION_ERRORS, EventReader, HttpProvider, read_error_body, unreachable


def client_timeouts(timeouts: Timeouts) -> tuple[aiohttp.ClientTimeout, aiohttp.ClientTimeout]:
    """aiohttp's timeouts for whole replies (``total`` is ``reply_s``, which the dispatcher relies on to skip a
    timer of its own) and for streams (no total; ``sock_read`` is the idle limit)."""
    return (
        aiohttp.ClientTimeout(total=timeouts.reply_s, connect=timeouts.connect_s),
        aiohttp.ClientTimeout(total=None, connect=timeouts.connect_s, sock_read=timeouts.idle_s),
    )


class OpenAICompatProvider(HttpProvider):
    def __init__(
        self,
        config: ProviderConfig,
        session: aiohttp.ClientSession,
        *,
        signer: OciRequestSigner | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        stream_timeout: aiohttp.ClientTimeout | None = None,
        secrets: SecretPair | None = None,
    ) -> None:
        super().__init__(config, session, signer)
        self._timeout, self._stream_timeout = client_timeouts(config.timeouts)
        self._timeout = timeout or self._timeout
        self._stream_timeout = stream_timeout or self._stream_timeout
        self.secrets = secrets if signer is None else None
        headers = {"Authorization": f"Bearer {config.api_key.strip()}", "Content-Type": "application/json"}
        if signer is not None:
            headers = {"content-type": "application/json"}
            if config.compartment_id and not uses_openai_base(self.base_url):
                headers["opc-compartment-id"] = config.compartment_id
                headers["CompartmentId"] = config.compartment_id
        if config.project and (uses_openai_base(self.base_url) or config.type == "openai"):
            headers["OpenAI-Project"] = config.project
        self._headers = headers
        self._stream_headers = {**headers, "Accept": "text/event-stream"}
        # secret -> (reply headers, stream headers), for a provider holding both secrets of its key
        self._by_secret: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        if self.secrets is not None:
            for secret in (config.api_key.strip(), config.api_key_secondary.strip()):
                if secret:
                    auth = {"Authorization": f"Bearer {secret}"}
                    self._by_secret[secret] = ({**headers, **auth}, {**self._stream_headers, **auth})
        self._urls: dict[str, str] = {}

    def _url(self, path: str) -> str:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = f"{self.base_url}/{path}"
        return url

    def _context(self, model: str, operation: str = "chat/completions") -> UpstreamContext:
        signer = self.signer
        if signer is None:
            return UpstreamContext(self.name, model, self.region, self.base_url, self.type, operation=operation)
        return UpstreamContext(
            self.name,
            model,
            self.region,
            self.base_url,
            self.type,
            auth=signer.auth,
            key_id=signer.key_id,
            principal=signer.describe,
            compartment=self._config.compartment_id,
            operation=operation,
        )

    async def _post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        headers = with_trace(headers)
        if self._signed is not None:
            return await self._signed.request("POST", url, body, headers, timeout)
        return await self._session.post(url, data=body, headers=headers, timeout=timeout, **self._wire.options(url))

    def _secret(self) -> tuple[str | None, dict[str, str], dict[str, str]]:
        """The secret to send now (None without a pair) and its reply and stream headers."""
        if self.secrets is None:
            return None, self._headers, self._stream_headers
        secret = self.secrets.current()
        headers, stream_headers = self._by_secret[secret]
        return secret, headers, stream_headers

    async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply:
        secret, headers, _ = self._secret()
        try:
            async with await self._post(self._url(path), body, headers, self._timeout) as response:
                data = await response.read()
                request_id = response.headers.get("opc-request-id")
                if response.status >= 400:
                    raise self._error(response, data, model, request_id, path, secret)
                return UpstreamReply(response.status, data, request_id)
        except UpstreamError:
            raise
        except TimeoutError as exc:
            raise connection_error(self._context(model), str(exc) or "no answer in time", timeout=True) from exc
        except CONNECTION_ERRORS as exc:
            raise connection_error(self._context(model), unreachable(exc)) from exc

    async def open_stream(self, path: str, body: bytes, *, model: str) -> _EventStream:
        secret, _, stream_headers = self._secret()
        try:
            response = await self._post(self._url(path), body, stream_headers, self._stream_timeout)
        except TimeoutError as exc:
            raise connection_error(self._context(model), "no answer in time", timeout=True) from exc
        except CONNECTION_ERRORS as exc:
            raise connection_error(self._context(model), unreachable(exc)) from exc
        request_id = response.headers.get("opc-request-id")
        if response.status >= 400:
            raise self._error(response, await read_error_body(response), model, request_id, path, secret)
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            # An upstream that ignored stream: true answered with one JSON body; replay it as one event.
            data = await response.read()
            response.release()
            return _EventStream(None, request_id, self._context(model), single=data)
        return _EventStream(response, request_id, self._context(model))

    async def list_models(self) -> list[ListedModel] | None:
        if self._signed is not None:
            return await self._list_oracle_catalogue() if self._config.discovery else None
        try:
            headers = self._secret()[1]
            url = self._url("models")
            options = self._wire.options(url)
            async with self._session.get(url, headers=headers, timeout=self._timeout, **options) as response:
                if response.status != 200:
                    return None
                data = orjson.loads(await response.read())
        except (TimeoutError, orjson.JSONDecodeError, *CONNECTION_ERRORS):
            return None
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return None
        ids = [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")]
        return [ListedModel(model_id, model_kind(model_id)) for model_id in ids]

    async def _list_oracle_catalogue(self) -> list[ListedModel]:
        """Oracle's management API, signed: the chat models its OpenAI-compatible path serves (not Cohere's)."""
        assert self._signed is not None
        compartment = self._config.compartment_id
        if not compartment:
            await self._signed.signer.ensure_ready()
            compartment = self._signed.signer.default_compartment or ""
        models = await self._list_catalogue(compartment, self._timeout)
        return [m for m in models if m.kind == "chat" and not m.id.startswith("cohere.")]

    def _error(
        self,
        response: aiohttp.ClientResponse,
        data: bytes,
        model: str,
        request_id: str | None,
        path: str,
        secret: str | None = None,
    ) -> UpstreamError:
        headers = {k.lower(): v for k, v in response.headers.items()}
        err = oracle_error(response.status, data, headers, self._context(model, path), request_id)
        if response.status == 401 and secret is not None and self.secrets is not None:
            err.retryable = self.secrets.report_unauthorized(secret)  # the other secret is worth a try
        return err


class _EventStream(EventReader):
    """The upstream's SSE stream as blocks of whole events, each block as received in one read."""

    def __init__(
        self,
        response: aiohttp.ClientResponse | None,
        request_id: str | None,
        ctx: UpstreamContext,
        *,
        single: bytes | None = None,
    ) -> None:
        super().__init__(response, request_id, ctx)
        self._single = single

    async def _blocks(self) -> AsyncIterator[bytes]:
        if self._single is not None:
            # An upstream that ignored stream: true and answered one JSON body: one event.
            yield encode_event(self._single)
            return
        framer = SSEFramer()
        while chunk := await self._read():
            block = framer.feed(chunk)
            if block:
                yield block
        last = framer.close()
        if last:
            yield last
