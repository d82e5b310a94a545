"""The composition root: ``create_app(settings)`` builds the ASGI application.

The lifespan opens the shared upstream connection pool, starts the bundled emulator when no provider is
configured, and asks the upstreams for their models in the background; nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from ocigate import __version__
from ocigate.access import AccessLog
from ocigate.api.models import HealthRoutes, ModelRoutes
from ocigate.api.proxy import ProxyRoutes
from ocigate.api.responses import ResponsesRoutes
from ocigate.asgi import ASGIApp, Receive, Router, Scope, Send
from ocigate.auth import MasterKeyAuth
from ocigate.checks import check_provider, check_settings, is_loopback
from ocigate.config import Diagnostic, ProviderConfig, Settings
from ocigate.embedded import EmbeddedEmulator, start_emulator
from ocigate.providers.openai_compat import OpenAICompatProvider
from ocigate.registry import ProviderState, Registry
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
    access_log: AccessLog = field(default_factory=AccessLog)
    engine: AsyncEngine | None = None
    responses: ResponseStore | None = None
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
                provider = OpenAICompatProvider(config, self.session, timeout=timeout, stream_timeout=stream_timeout)
            self.registry.add(
                ProviderState(
                    provider,
                    config.name,
                    config.type,
                    config.models,
                    config.source,
                    disabled_reason=" ".join(d.message for d in errors) or None,
                )
            )
        self._announce(providers)
        self.discovery = asyncio.create_task(self._discover())
        await self._open_store()

    async def _open_store(self) -> None:
        from ocigate.store.database import default_url, open_engine
        from ocigate.store.responses import ResponseStore

        url = self.settings.database_url or default_url(self.settings.data_dir)
        self.engine = await open_engine(url)
        self.responses = ResponseStore(self.engine)

    async def _discover(self) -> None:
        try:
            await asyncio.wait_for(self.registry.discover(), self.settings.discovery_timeout_s)
        except TimeoutError:
            log.warning(
                "model discovery took longer than %.0f s; serving configured lists", self.settings.discovery_timeout_s
            )
        finally:
            self.ready = True

    async def stop(self) -> None:
        if self.discovery is not None:
            self.discovery.cancel()
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
    proxy = ProxyRoutes(registry, runtime.access_log)
    responses = ResponsesRoutes(registry, lambda: runtime.responses)
    models = ModelRoutes(registry)
    health = HealthRoutes(registry, lambda: runtime.ready)

    router = Router()
    router.add("POST", "/v1/chat/completions", proxy.chat)
    router.add("POST", "/v1/responses", responses.create)
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
