"""The composition root: ``create_app(settings)`` builds the ASGI application.

The lifespan opens the shared upstream connection pool, starts the bundled emulator when no provider is
configured, loads the IAM principals and asks the upstreams for their models in the background (again every
``discovery_interval_s``); nothing happens at import time, and Oracle's ``oci`` SDK is imported only when a
provider signs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from ocigate import __version__
from ocigate.access import AccessLog
from ocigate.api.embeddings import EmbeddingRoutes
from ocigate.api.models import HealthRoutes, ModelRoutes
from ocigate.api.proxy import ProxyRoutes
from ocigate.api.responses import ResponsesRoutes
from ocigate.asgi import ASGIApp, Receive, Router, Scope, Send
from ocigate.auth import MasterKeyAuth
from ocigate.checks import check_provider, check_settings, is_loopback
from ocigate.config import Diagnostic, ProviderConfig, Settings
from ocigate.embedded import EmbeddedEmulator, start_emulator
from ocigate.errors import GatewayError
from ocigate.oci_auth import OciRequestSigner, signer_for
from ocigate.providers.base import Provider
from ocigate.providers.oci_native import OciNativeProvider
from ocigate.providers.openai_compat import OpenAICompatProvider
from ocigate.registry import ProviderState, Registry
from ocigate.translate.sanitize_profile import profiles_with

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ocigate.store.responses import ResponseStore

log = logging.getLogger("ocigate")


@dataclass
class Runtime:
    """What the lifespan opens and closes."""

    settings: Settings
    registry: Registry = field(default_factory=Registry)
    session: aiohttp.ClientSession | None = None
    emulator: EmbeddedEmulator | None = None
    discovery: asyncio.Task[None] | None = None
    """The first model discovery; ``_refresher`` repeats it every ``discovery_interval_s``."""
    signers: list[OciRequestSigner] = field(default_factory=list)
    _refresher: asyncio.Task[None] | None = None
    access_log: AccessLog = field(default_factory=AccessLog)
    engine: AsyncEngine | None = None
    responses: ResponseStore | None = None
    _store_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _flusher: asyncio.Task[None] | None = None
    ready: bool = False

    async def start(self) -> None:
        settings = self.settings
        if self.access_log.enabled:
            self._flusher = asyncio.create_task(self.access_log.run())
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30),
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": f"ocigate/{__version__}"},
        )
        providers = list(settings.providers)
        if settings.uses_emulator:
            self.emulator = await start_emulator(settings.emulator_region)
            providers = [
                ProviderConfig(
                    name="oracle",
                    type="oracle",
                    base_url=self.emulator.base_url,
                    api_key=self.emulator.api_key,
                    models=tuple(self.emulator.models),
                    region=self.emulator.region,
                    source="emulator",
                )
            ]
        timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_s, connect=settings.connect_timeout_s)
        stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=settings.connect_timeout_s, sock_read=settings.upstream_timeout_s
        )
        for config in providers:
            errors = [d for d in check_provider(config) if d.level == "error"]
            provider = None
            if not errors:
                provider = self._provider(config, timeout, stream_timeout)
            self.registry.add(
                ProviderState(
                    provider,
                    config.name,
                    config.type,
                    config.served_models,
                    config.source,
                    disabled_reason=" ".join(d.message for d in errors) or None,
                    families={d.name: d.model for d in config.dedicated if d.model},
                )
            )
        self._announce(providers)
        self.discovery = asyncio.create_task(self._discover())

    def _provider(
        self, config: ProviderConfig, timeout: aiohttp.ClientTimeout, stream_timeout: aiohttp.ClientTimeout
    ) -> Provider:
        assert self.session is not None
        signer = signer_for(config) if config.uses_iam else None
        if signer is not None:
            self.signers.append(signer)
        if config.type == "oci":
            return OciNativeProvider(config, self.session, signer, timeout=timeout, stream_timeout=stream_timeout)
        return OpenAICompatProvider(config, self.session, signer=signer, timeout=timeout, stream_timeout=stream_timeout)

    async def response_store(self) -> ResponseStore:
        """The store, opened on first use: the chat path never loads the database libraries (about 35 MB and
        0.2 s of start-up, measured by the benchmark)."""
        if self.responses is None:
            async with self._store_lock:
                if self.responses is None:
                    from ocigate.store.database import default_url, open_engine
                    from ocigate.store.responses import ResponseStore

                    url = self.settings.database_url or default_url(self.settings.data_dir)
                    self.engine = await open_engine(url)
                    self.responses = ResponseStore(self.engine)
        return self.responses

    async def _discover(self) -> None:
        try:
            await self._load_signers()
            await self._discover_once()
        finally:
            self.ready = True
            if self.settings.discovery_interval_s > 0:
                self._refresher = asyncio.create_task(self._refresh_models())

    async def _load_signers(self) -> None:
        """Loads the IAM principals now, so that a broken profile is reported at start-up; a principal that fails
        is tried again on its provider's next request."""
        if not self.signers:
            return
        results = await asyncio.gather(
            *(asyncio.wait_for(s.ensure_ready(), self.settings.discovery_timeout_s) for s in self.signers),
            return_exceptions=True,
        )
        for signer, result in zip(self.signers, results, strict=True):
            if isinstance(result, GatewayError):
                log.error("%s", result.message)
            elif isinstance(result, TimeoutError):
                log.warning("provider '%s': loading its %s is taking long", signer.provider, signer.describe)
            elif isinstance(result, BaseException):
                log.error("provider '%s': cannot load its %s: %r", signer.provider, signer.describe, result)

    async def _discover_once(self) -> None:
        try:
            await asyncio.wait_for(self.registry.discover(), self.settings.discovery_timeout_s)
        except TimeoutError:
            log.warning(
                "model discovery took longer than %.0f s; serving the lists known so far",
                self.settings.discovery_timeout_s,
            )

    async def _refresh_models(self) -> None:
        while True:
            await asyncio.sleep(self.settings.discovery_interval_s)
            await self._discover_once()

    async def stop(self) -> None:
        if self.discovery is not None:
            self.discovery.cancel()
        if self._refresher is not None:
            self._refresher.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self.session is not None:
            await self.session.close()
        if self.engine is not None:
            await self.engine.dispose()
        if self.emulator is not None:
            await self.emulator.stop()

    def _announce(self, providers: list[ProviderConfig]) -> None:
        settings = self.settings
        for diagnostic in check_settings(settings):
            _report(diagnostic)
        if self.emulator is not None:
            log.warning(
                "No Oracle provider is configured: serving the bundled Oracle emulator (region %s) at %s with "
                "%d models. Set ORACLE_API_KEY and ORACLE_REGION (or ORACLE_BASE_URL) to use Oracle.",
                self.emulator.region,
                self.emulator.base_url,
                len(self.emulator.models),
            )
        else:
            for config in providers:
                for diagnostic in check_provider(config):
                    _report(diagnostic)
        if not settings.master_key:
            log.warning(
                "OCIGATE_MASTER_KEY is not set: any local process can use this gateway; it serves only on "
                "loopback (%s).",
                settings.host,
            )
        log.info("ocigate %s serving http://%s:%d/v1", __version__, settings.host, settings.port)


def _report(diagnostic: Diagnostic) -> None:
    if diagnostic.level == "error":
        log.error("%s", diagnostic.message)
    else:
        log.warning("%s", diagnostic.message)


class Gateway:
    """The ASGI application, with its runtime (registry, upstream pool, emulator) in reach of the CLI and tests."""

    def __init__(self, runtime: Runtime, app: ASGIApp) -> None:
        self.runtime = runtime
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def create_app(settings: Settings) -> Gateway:
    if not settings.master_key and not is_loopback(settings.host):
        raise ValueError(
            f"Refusing to serve on {settings.host} without OCIGATE_MASTER_KEY: set it, or serve on 127.0.0.1."
        )
    runtime = Runtime(settings, access_log=AccessLog(enabled=settings.access_log))
    registry = runtime.registry
    profiles = profiles_with({r.vendor: (r.drop, r.allow, r.token_field) for r in settings.request_rules})
    proxy = ProxyRoutes(registry, runtime.access_log, profiles)
    responses = ResponsesRoutes(registry, runtime.response_store, profiles, runtime.access_log)
    models = ModelRoutes(registry)
    embeddings = EmbeddingRoutes(registry, runtime.access_log)
    health = HealthRoutes(registry, lambda: runtime.ready)

    router = Router()
    router.add("POST", "/v1/chat/completions", proxy.chat)
    router.add("POST", "/v1/responses", responses.create)
    router.add("POST", "/v1/embeddings", embeddings.embeddings)
    router.add("POST", "/v1/rerank", embeddings.rerank)
    router.add_prefix("GET", "/v1/responses/", responses.read)
    router.add_prefix("DELETE", "/v1/responses/", responses.delete)
    router.add("GET", "/v1/models", models.list)
    router.add_prefix("GET", "/v1/models/", models.get)
    router.add("GET", "/healthz", health.healthz)
    router.add("GET", "/readyz", health.readyz)

    async def lifespan(phase: str) -> None:
        if phase == "startup":
            await runtime.start()
        else:
            await runtime.stop()

    prepare = MasterKeyAuth(settings.master_key) if settings.master_key else None
    return Gateway(runtime, router.asgi(prepare=prepare, lifespan=lifespan, max_body=settings.max_body_bytes))
