"""The gateway's route table: every path, the adapter that serves it, and the pipeline model routes share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from ocigate.api.chat import ChatEndpoint
from ocigate.api.embeddings import embeddings_endpoint, rerank_endpoint
from ocigate.api.messages import CountTokens, MessagesEndpoint, anthropic_error
from ocigate.api.models import HealthRoutes, ModelRoutes
from ocigate.api.responses import ResponsesEndpoint
from ocigate.api.stored_responses import StoredResponses
from ocigate.core.asgi import Handler, Request, Response, Router, StreamingResponse
from ocigate.governance.service import Governance
from ocigate.pipeline.endpoint import Endpoint
from ocigate.pipeline.run import Pipeline
from ocigate.translate.sanitize.profile import SanitizeProfile

if TYPE_CHECKING:
    from ocigate.store.responses import ResponseStore


def through(pipeline: Pipeline, endpoint: Endpoint) -> Handler:
    """A model route: the pipeline, with the endpoint's adapter."""

    async def handle(request: Request) -> Response | StreamingResponse:
        return await pipeline.handle(request, endpoint)

    return handle


def mount_model_routes(
    router: Router,
    pipeline: Pipeline,
    store: Callable[[], Awaitable[ResponseStore]],
    profiles: Mapping[str, SanitizeProfile] | None,
    governance: Governance,
) -> None:
    router.add("POST", "/v1/chat/completions", through(pipeline, ChatEndpoint(profiles, governance.recording)))
    router.add("POST", "/v1/responses", through(pipeline, ResponsesEndpoint(store, profiles)))
    router.add("POST", "/v1/embeddings", through(pipeline, embeddings_endpoint()))
    router.add("POST", "/v1/rerank", through(pipeline, rerank_endpoint()))
    messages = MessagesEndpoint(profiles)
    router.add("POST", "/v1/messages", through(pipeline, messages))
    router.add("POST", "/v1/messages/count_tokens", CountTokens(pipeline, messages))
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        router.add_error_format(path, anthropic_error)
    stored = StoredResponses(store, governance)
    router.add_prefix("GET", "/v1/responses/", stored.read)
    router.add_prefix("DELETE", "/v1/responses/", stored.delete)


def mount_service_routes(router: Router, models: ModelRoutes, health: HealthRoutes) -> None:
    router.add("GET", "/v1/models", models.list)
    router.add_prefix("GET", "/v1/models/", models.get)
    router.add("GET", "/healthz", health.healthz)
    router.add("GET", "/readyz", health.readyz)
    router.add("GET", "/metrics", health.metrics)
