"""Upstream providers: one module per kind of upstream; each makes one attempt and raises typed errors.

The package imports only the protocol (``base``), so that ``config`` may import ``routing`` without a cycle through
the provider modules, which read ``ProviderConfig``.
"""

from ocigate.providers.base import ListedModel, Provider, UpstreamReply, UpstreamStream

__all__ = ["ListedModel", "Provider", "UpstreamReply", "UpstreamStream"]
