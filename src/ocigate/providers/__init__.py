"""Upstream providers: one module per kind of upstream; each makes one attempt and raises typed errors."""

from ocigate.providers.base import ListedModel, Provider, UpstreamReply, UpstreamStream
from ocigate.providers.openai_compat import OpenAICompatProvider

__all__ = ["ListedModel", "OpenAICompatProvider", "Provider", "UpstreamReply", "UpstreamStream"]
