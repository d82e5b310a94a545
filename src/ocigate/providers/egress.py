"""A provider's way out on aiohttp: the proxy and TLS context each of its requests takes.

The settings are read once, at start (``config/network.py``): the environment's proxies, ``NO_PROXY``, the
provider's ``proxy:`` and its CA bundle. aiohttp's own ``trust_env`` is not used: it reads the environment again on
a worker thread for every request, reads ``~/.netrc``, and silently ignores an ``https://`` proxy.

Usage::

    wire = Wire(config.egress)
    await session.post(url, data=body, **wire.options(url))
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from typing import Any

from ocigate.config.network import Egress, tls_context

_DIRECT: Mapping[str, Any] = {}
_MAX_URLS = 64


class Wire:
    """One provider's request arguments, worked out once per URL it calls."""

    def __init__(self, egress: Egress | None = None) -> None:
        self._egress = egress or Egress()
        self._ssl: ssl.SSLContext | None = tls_context(self._egress.ca_bundle) if self._egress.ca_bundle else None
        self._plain = self._ssl is None and self._egress.http_proxy is None and self._egress.https_proxy is None
        self._by_url: dict[str, Mapping[str, Any]] = {}

    def options(self, url: str) -> Mapping[str, Any]:
        """aiohttp's ``proxy``, ``proxy_headers`` and ``ssl`` arguments for ``url`` (none on a direct, default
        connection)."""
        if self._plain:
            return _DIRECT
        found = self._by_url.get(url)
        if found is None:
            if len(self._by_url) >= _MAX_URLS:  # the URLs a provider calls are few; a query string may vary
                self._by_url.clear()
            found = self._by_url[url] = self._options(url)
        return found

    def _options(self, url: str) -> Mapping[str, Any]:
        options: dict[str, Any] = {}
        if self._ssl is not None:
            options["ssl"] = self._ssl
        proxy = self._egress.proxy_for(url)
        if proxy is not None:
            options["proxy"] = proxy.url
            if proxy.username or proxy.password:
                if url.startswith("https:"):  # sent on the tunnel's CONNECT
                    token = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
                    options["proxy_headers"] = {"Proxy-Authorization": f"Basic {token}"}
                else:  # a plain request through the proxy: aiohttp sends the URL's credentials with it
                    options["proxy"] = proxy.url_with_credentials
        return options
