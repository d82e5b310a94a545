"""The upstream body of a chat request for one deployment: its upstream model name, and on Oracle the clean-up
its model family needs. Decided once per deployment, the same way for every route that sends chat (Chat
Completions as received, the Responses API translated to it, the Messages API translated to it)."""

from __future__ import annotations

from collections.abc import Mapping

from ocigate.catalog.models import find_model
from ocigate.core.types import JSON
from ocigate.routing.router import Deployment
from ocigate.translate.sanitize.chat import profile_for, sanitize_chat_request
from ocigate.translate.sanitize.profile import SanitizeProfile

ORACLE_TYPES = frozenset({"oracle", "oci"})
"""Provider types that reach Oracle, whose models answer 400 to what OpenAI ignores."""


def chat_for(payload: JSON, deployment: Deployment, profiles: Mapping[str, SanitizeProfile] | None) -> JSON:
    """The chat request for ``deployment``; ``payload`` itself when nothing changes (the caller can then send
    the bytes it received)."""
    outgoing = payload
    if deployment.upstream_model != payload.get("model"):
        outgoing = {**payload, "model": deployment.upstream_model}
    if deployment.provider.type in ORACLE_TYPES:
        info = find_model(deployment.upstream_model)
        outgoing = sanitize_chat_request(outgoing, info, profile_for(info, profiles))
    return outgoing
