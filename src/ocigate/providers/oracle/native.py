"""Oracle's native Generative AI API (``type: oci``): chat in every API format, embedText, rerankText, and the
management API's model listing, signed with an IAM principal (or, for inference only, a bearer API key).

The OpenAI requests the gateway receives are translated by the pure functions of ``ocigate.translate.oci_*`` and
the answers translated back; this module only picks the serving mode and the compartment and does the HTTP:

- a model name or model OCID runs ON_DEMAND; a name under ``dedicated:`` runs on its endpoint (DEDICATED), in the
  API format of the model family configured behind it;
- more than 96 embedding inputs become several embedText calls, sent concurrently and joined in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import aiohttp
import orjson

from ocigate.catalog.models import ModelInfo, find_model
from ocigate.config.settings import ProviderConfig
from ocigate.core.errors import InvalidRequest, NotFound, ProviderUnavailable, UpstreamError
from ocigate.core.ids import next_id
from ocigate.core.propagation import with_trace
from ocigate.core.types import JSON
from ocigate.providers.base import ListedModel, UpstreamReply
from ocigate.providers.oracle.hints import UpstreamContext, connection_error, oracle_error
from ocigate.providers.oracle.signing import OciRequestSigner
from ocigate.providers.oracle.stream import NativeChatStream
from ocigate.providers.transport import CONNECTION_ERRORS, HttpProvider, read_error_body, unreachable
from ocigate.translate.oracle.chat import api_format_for, from_oci_chat_response, to_oci_chat_request
from ocigate.translate.oracle.embed import (
    embedding_format,
    from_oci_embed_results,
    from_oci_rerank_result,
    rerank_documents,
    to_oci_embed_requests,
    to_oci_rerank_request,
)
from ocigate.translate.oracle.serving import ServingMode
from ocigate.translate.oracle.stream import OciStreamTranslator

API = "/20231130/actions/"
_JSON = {"content-type": "application/json", "accept": "application/json"}
_SSE = {"content-type": "application/json", "accept": "text/event-stream"}
_OPERATIONS = {"chat": "chat/completions", "embedText": "embeddings"}  # the rest is rerankText
_MAX_TARGETS = 256  # the models a provider is asked for are few; a client may name any


class OciNativeProvider(HttpProvider):
    serves_responses = False  # api/responses.py translates the Responses API over chat

    def __init__(
        self,
        config: ProviderConfig,
        session: aiohttp.ClientSession,
        signer: OciRequestSigner | None,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
        stream_timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        super().__init__(config, session, signer)
        self._bearer = {"authorization": f"Bearer {config.api_key.strip()}"} if signer is None else {}
        self._timeout = timeout or aiohttp.ClientTimeout(total=600, connect=10)
        self._stream_timeout = stream_timeout or aiohttp.ClientTimeout(total=None, connect=10, sock_read=600)
        self._dedicated = {d.name: d for d in config.dedicated}
        self._names: dict[str, str] = {}  # model OCID → name, from discovery, to pick the API format
        self._targets: dict[str, tuple[ServingMode, str, ModelInfo | None]] = {}  # _target's answers, by model

    def _context(self, model: str, operation: str = "chat/completions") -> UpstreamContext:
        signer = self.signer
        return UpstreamContext(
            self.name,
            model,
            self.region,
            self.base_url,
            auth=self._config.auth,
            key_id=signer.key_id if signer is not None else None,
            principal=signer.describe if signer is not None else None,
            compartment=self._config.compartment_id or (signer.default_compartment if signer else None),
            operation=operation,
            native=True,
        )

    async def _compartment(self) -> str:
        if self.signer is not None:
            await self.signer.ensure_ready()
        return self._ready_compartment()

    def _ready_compartment(self) -> str:
        """The compartment, once the signer is ready (its principal may say which)."""
        compartment = self._config.compartment_id or (self.signer.default_compartment if self.signer else None)
        if not compartment:
            raise ProviderUnavailable(
                f"Provider '{self.name}' has no compartment: set compartment_id (or OCI_COMPARTMENT_ID) to the "
                "OCID of the compartment whose Generative AI models it uses."
            )
        return compartment

    def _target(self, model: str) -> tuple[ServingMode, str, ModelInfo | None]:
        """The serving mode, the model family's name (it picks the API format) and its catalogue entry."""
        found = self._targets.get(model)
        if found is None:
            dedicated = self._dedicated.get(model)
            if dedicated is not None:
                family = dedicated.model or model
                found = ServingMode.dedicated(dedicated.endpoint), family, find_model(family)
            else:
                family = self._names.get(model, model)
                found = ServingMode.for_target(model), family, find_model(family)
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
            self._targets[model] = found
        return found

    async def _post(self, path: str, details: JSON, model: str, *, stream: bool = False) -> aiohttp.ClientResponse:
        """The answer to a POST of ``details``, unread. The signer is ready (``_compartment`` made it so)."""
        url = self.base_url + API + path
        body = orjson.dumps(details)
        timeout = self._stream_timeout if stream else self._timeout
        headers = with_trace(_SSE if stream else _JSON)
        try:
            if self._signed is not None:
                response = await self._signed.request("POST", url, body, headers, timeout, ready=True)
            else:
                response = await self._session.post(
                    url, data=body, headers={**headers, **self._bearer}, timeout=timeout, **self._wire.options(url)
                )
        except TimeoutError as exc:
            operation = _OPERATIONS.get(path, "rerank")
            raise connection_error(self._context(model, operation), "no answer in time", timeout=True) from exc
        except CONNECTION_ERRORS as exc:
            operation = _OPERATIONS.get(path, "rerank")
            raise connection_error(self._context(model, operation), unreachable(exc)) from exc
        if response.status >= 400:
            data = await read_error_body(response)
            raise self._error(response.status, data, response.headers, model, _OPERATIONS.get(path, "rerank"))
        return response

    def _error(self, status: int, data: bytes, headers: Mapping[str, str], model: str, operation: str) -> UpstreamError:
        lowered = {k.lower(): v for k, v in headers.items()}
        return oracle_error(status, data, lowered, self._context(model, operation), lowered.get("opc-request-id"))

    async def _json(self, path: str, details: JSON, model: str) -> tuple[JSON, str | None]:
        response = await self._post(path, details, model)
        async with response:
            try:
                data = await response.read()
            except CONNECTION_ERRORS as exc:
                raise connection_error(self._context(model), f"the answer broke off: {exc}") from exc
            request_id = response.headers.get("opc-request-id")
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError:
            raw = None
        if type(raw) is not dict:
            raise UpstreamError(
                f"Oracle answered with something that is not a JSON object: {data[:200]!r}",
                status=502,
                type="api_error",
                code="bad_upstream_response",
            )
        return raw, request_id

    async def send(self, path: str, body: bytes, *, model: str) -> UpstreamReply:
        payload = orjson.loads(body)
        if self.signer is not None:
            await self.signer.ensure_ready()
        compartment = self._ready_compartment()
        serving, family, info = self._target(model)
        public = str(payload.get("model") or model)
        if path == "chat/completions":
            details = to_oci_chat_request(
                payload, model_id=family, compartment_id=compartment, serving=serving, model=info
            )
            raw, request_id = await self._json("chat", details, model)
            answer = from_oci_chat_response(
                raw, model=public, completion_id="chatcmpl-" + next_id(), created=int(time.time())
            )
        elif path == "embeddings":
            bodies = to_oci_embed_requests(payload, model_id=family, compartment_id=compartment, serving=serving)
            replies = await asyncio.gather(*(self._json("embedText", b, model) for b in bodies))
            answer = from_oci_embed_results(
                [raw for raw, _ in replies], model=public, encoding_format=embedding_format(payload)
            )
            request_id = replies[0][1] if replies else None
        elif path == "rerank":
            details = to_oci_rerank_request(payload, compartment_id=compartment, serving=serving)
            raw, request_id = await self._json("rerankText", details, model)
            answer = from_oci_rerank_result(
                raw,
                model=public,
                return_documents=payload.get("return_documents") is True,
                documents=rerank_documents(payload),
            )
        else:
            raise NotFound(f"Provider '{self.name}' (Oracle's native API) does not serve /v1/{path}.")
        return UpstreamReply(200, orjson.dumps(answer), request_id)

    async def open_stream(self, path: str, body: bytes, *, model: str) -> NativeChatStream:
        if path != "chat/completions":
            raise InvalidRequest(f"Streaming is offered for chat completions only, not /v1/{path}.", param="stream")
        payload = orjson.loads(body)
        compartment = await self._compartment()
        serving, family, info = self._target(model)
        details = to_oci_chat_request(payload, model_id=family, compartment_id=compartment, serving=serving, model=info)
        options = payload.get("stream_options")
        translator = OciStreamTranslator(
            api_format_for(info, family),
            model=str(payload.get("model") or model),
            completion_id="chatcmpl-" + next_id(),
            created=int(time.time()),
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
        )
        response = await self._post("chat", details, model, stream=True)
        if "text/event-stream" not in response.headers.get("content-type", ""):
            response.release()
            raise UpstreamError(
                "Oracle answered a streaming chat request without a stream.",
                status=502,
                type="api_error",
                code="bad_upstream_response",
            )
        return NativeChatStream(response, response.headers.get("opc-request-id"), self._context(model), translator)

    async def list_models(self) -> list[ListedModel] | None:
        if not self._config.discovery or self._signed is None:
            return None
        models = await self._list_catalogue(await self._compartment(), self._timeout)
        self._names = {m.ocid: m.id for m in models if m.ocid}
        self._targets.clear()
        return models
