"""The composition root: ``create_app(settings)`` builds the ASGI application.

The lifespan opens the shared upstream connection pool, starts the bundled emulator when no provider is
configured, loads the IAM principals and asks the upstreams for their models in the background (again every
``discovery_interval_s``); nothing happens at import time, and Oracle's ``oci`` SDK is imported only when a
provider signs.

Routing and resilience: the configured routes (``models:``) are built once the providers exist; every request
goes through one :class:`~ocigate.routing.dispatch.Dispatcher` (retries, failover, fallbacks, a time budget) whose
events feed :class:`~ocigate.observe.metrics.Metrics`; the circuit breakers, the router's counts and each API key's two
secrets are shown by ``/readyz`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from ocigate import __version__
from ocigate.api.models import HealthRoutes, ModelRoutes
from ocigate.api.openapi import openapi_json
from ocigate.api.routes import mount_model_routes, mount_service_routes
from ocigate.app.announce import ListingReporter, announce
from ocigate.app.emulated import EmbeddedEmulator, emulator_providers, start_emulator
from ocigate.app.heap import limit_arenas, settle_heap, trim_every
from ocigate.app.storage import Storage
from ocigate.app.telemetry import answered_hook, tracing_for
from ocigate.app.worker import WorkerRole, counted, stop_worker
from ocigate.config.aliases import ModelAliases
from ocigate.config.settings import ProviderConfig, Settings
from ocigate.core.asgi import ASGIApp, Receive, Router, Scope, Send
from ocigate.core.errors import GatewayError
from ocigate.governance.auth import GatewayAuth
from ocigate.governance.service import Governance
from ocigate.governance.usage import UsageRecord
from ocigate.observe.access import AccessLog
from ocigate.observe.metrics import Metrics
from ocigate.observe.shared import SYNC_S
from ocigate.pipeline.run import Pipeline
from ocigate.providers.base import Provider
from ocigate.providers.factory import Upstream, build_provider
from ocigate.providers.oracle.checks import check_provider, is_loopback
from ocigate.providers.oracle.secrets_pair import SecretLabel, SecretPair, mask
from ocigate.providers.oracle.signing import OciRequestSigner, signer_for
from ocigate.routing.breaker import BreakerBoard
from ocigate.routing.dispatch import Dispatcher
from ocigate.routing.registry import ProviderState, Registry, RouteTable
from ocigate.routing.router import ModelRoute
from ocigate.routing.router import Router as ModelRouter
from ocigate.store.prune import RetentionTask
from ocigate.translate.sanitize.profile import profiles_with

if TYPE_CHECKING:
    from ocigate.observe.tracing import Tracing

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
    storage: Storage = field(init=False)
    """The database, the stored responses and governance's tables, opened on first use."""
    _flusher: asyncio.Task[None] | None = None
    _trimmer: asyncio.Task[None] | None = None  # freed heap back to the OS (``app/heap.py``)
    governance: Governance = field(init=False)
    """Keys, limits, usage and audit; its database is opened on first need."""
    ready: bool = False
    metrics: Metrics = field(default_factory=Metrics)
    breakers: BreakerBoard = field(init=False)
    routes: RouteTable = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    secrets: dict[str, SecretPair] = field(default_factory=dict)
    """Per API-key provider, its key's secrets (which serves, which Oracle rejected)."""
    _listings: ListingReporter = field(default_factory=ListingReporter)
    retention: RetentionTask = field(init=False)
    """Prunes usage, audit and stored responses past ``retention:`` in the background."""
    role: WorkerRole | None = None  # this process's place among ``serve --workers N``; None: a single process
    _metrics_sync: asyncio.Task[None] | None = None
    tracing: Tracing | None = None
    """Spans of model requests and upstream attempts (``OCIGATE_TRACING``); None when off."""

    def __post_init__(self) -> None:
        routing = self.settings.routing
        self.breakers = BreakerBoard(routing.breaker, on_change=self.metrics.on_circuit)
        self.routes = RouteTable(self.registry, ModelRouter(), ModelAliases(self.settings.model_aliases))
        self.dispatcher = Dispatcher(self.routes.router, self.breakers, self.metrics, routing.retry)
        self.storage = Storage(self.settings)
        self.governance = Governance(
            self.settings,
            self.storage.governance_stores,
            usage_writer=self.storage.usage_writer(),
            key_reads=self.storage.key_reader(),
            on_usage=self._count_tokens,
            has_keys=self.storage.has_keys,
            limits_broker=self.role.limits_broker if self.role is not None else None,
            on_broker_lost=stop_worker,
        )
        self.retention = RetentionTask(self.settings, self.storage.database)

    async def start(self) -> None:
        settings = self.settings
        limit_arenas(settings.memory.malloc_arenas)  # before the SQLite, resolver and exporter threads get arenas
        if settings.memory.trim_interval_s > 0:
            self._trimmer = asyncio.create_task(trim_every(settings.memory.trim_interval_s))
        if self.tracing is not None:
            self.tracing.start()
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
            providers = emulator_providers(self.emulator, settings.routing.timeouts)
        for config in providers:
            errors = [d for d in check_provider(config) if d.level == "error"]
            provider = None
            if not errors:
                provider = self._provider(config)
            self.registry.add(
                ProviderState(
                    provider,
                    config.name,
                    config.type,
                    config.served_models,
                    config.source,
                    disabled_reason=" ".join(d.message for d in errors) or None,
                    families={d.name: d.model for d in config.dedicated if d.model},
                    timeouts=config.timeouts,
                    catalogue=config.uses_iam and config.discovery,
                )
            )
        announce(settings, self.emulator, providers)
        await self.governance.start()
        if self.role is not None:
            self._metrics_sync = asyncio.create_task(self._sync_metrics())
        self.retention.start()
        self._build_routes()
        self.discovery = asyncio.create_task(self._discover())
        settle_heap()

    def _provider(self, config: ProviderConfig) -> Provider:
        assert self.session is not None
        signer = signer_for(config) if config.uses_iam else None
        if signer is not None:
            self.signers.append(signer)
        return build_provider(config, Upstream(self.session, signer, self._secret_pair))

    def _secret_pair(self, config: ProviderConfig) -> SecretPair:
        """The provider's API key's two secrets, kept for /readyz; each rejection is logged and counted."""
        values = {"primary": config.api_key.strip(), "secondary": config.api_key_secondary.strip()}

        def rejected(label: SecretLabel) -> None:
            log.warning(
                "provider '%s': Oracle rejected the %s secret of its API key (%s)%s",
                config.name,
                label,
                mask(values[label]),
                "; serving with the other one" if values["secondary"] else "",
            )
            self.metrics.on_secret_rejected(config.name, label)

        pair = self.secrets[config.name] = SecretPair(
            values["primary"], values["secondary"] or None, on_unauthorized=rejected
        )
        return pair

    def _count_tokens(self, record: UsageRecord) -> None:
        """Governance's ``on_usage``: the tokens of every settled request, on ``ocigate_tokens_total``."""
        self.metrics.on_tokens(
            record.model,
            {
                "prompt": record.prompt_tokens,
                "completion": record.completion_tokens,
                "reasoning": record.reasoning_tokens,
                "cached": record.cached_tokens,
            },
        )
        if self.tracing is not None:
            self.tracing.on_tokens(record.prompt_tokens, record.completion_tokens)

    def _build_routes(self) -> None:
        """The configured routes, of the deployments whose providers are in service."""
        for config in self.settings.routing.routes:
            deployments = []
            for wanted in config.deployments:
                state = self.registry.state(wanted.provider)
                if state is None or state.provider is None:
                    why = "is not configured" if state is None else "is out of service"
                    log.error(
                        "model '%s': deployment %s left out: its provider %s", config.public_name, wanted.name, why
                    )
                    continue
                deployments.append(self.routes.deployment(state, wanted.model, wanted.weight, wanted.priority))
            if not deployments:
                log.error("model '%s' has no deployment in service; it is not served", config.public_name)
                continue
            try:
                route = ModelRoute(config.public_name, tuple(deployments), config.strategy, config.fallbacks)
                self.routes.add(route)
            except ValueError as exc:
                log.error("%s", exc)
        self._label_metrics()

    def _label_metrics(self) -> None:
        """The label values /metrics may use: configured and registry models, deployments and providers."""
        entries = self.registry.entries()
        names = [d["deployment"] for d in self.routes.router.snapshot()]
        for name in names:
            self.breakers.get(str(name))
        self.metrics.allow(
            [*self.routes.router.routes, *(e.id for e in entries), *(f"{e.provider}/{e.id}" for e in entries)],
            [*map(str, names), *(f"{e.provider}/{e.id}" for e in entries)],
            [state.name for state in self.registry.states],
        )

    def deployments(self) -> list[dict[str, object]]:
        """Per deployment, the router's figures and its circuit (/readyz)."""
        circuits = {row["deployment"]: row for row in self.breakers.snapshot()}
        rows = []
        for row in self.routes.router.snapshot():
            circuit = circuits.get(row["deployment"], {"state": "closed"})
            rows.append({**row, **{k: v for k, v in circuit.items() if k != "deployment"}})
        return rows

    def secrets_snapshot(self) -> dict[str, dict[str, object]]:
        return {name: pair.snapshot() for name, pair in self.secrets.items()}

    def render_metrics(self, accept: str) -> tuple[bytes, str]:
        self.breakers.refresh()
        return self.metrics.render(accept)

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
        self._listings.report(self.registry.states)
        self._label_metrics()

    async def _refresh_models(self) -> None:
        while True:
            await asyncio.sleep(self.settings.discovery_interval_s)
            await self._discover_once()

    async def _sync_metrics(self) -> None:
        """A worker's metrics into the files every worker's /metrics reads (``observe/shared.py``)."""
        while True:
            await asyncio.sleep(SYNC_S)
            self.metrics.sync()

    async def stop(self) -> None:
        for task in (self._metrics_sync, self.discovery, self._refresher, self._trimmer):
            if task is not None:
                task.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.retention.close()
        await self.governance.close()  # usage and audit flushed before the database closes
        self.metrics.sync()  # this worker's last requests, for the workers still serving
        if self.session is not None:
            await self.session.close()
        await self.storage.close()
        if self.emulator is not None:
            await self.emulator.stop()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)  # the last spans exported, off the event loop


class _Resilience:
    """The runtime as /readyz and /metrics see it."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def deployments(self) -> list[dict[str, object]]:
        return self._runtime.deployments()

    def secrets(self) -> dict[str, dict[str, object]]:
        return self._runtime.secrets_snapshot()

    def render_metrics(self, accept: str) -> tuple[bytes, str]:
        return self._runtime.render_metrics(accept)


class Gateway:
    """The ASGI application, with its runtime (registry, upstream pool, emulator) in reach of the CLI and tests."""

    def __init__(self, runtime: Runtime, app: ASGIApp) -> None:
        self.runtime = runtime
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


class ConfigurationError(ValueError):
    """The configuration as written is wrong (a missing or broken config file, an unknown key or region): the
    gateway does not start rather than serve something else (the emulator's answers, say). One line per problem."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def create_app(settings: Settings, role: WorkerRole | None = None) -> Gateway:
    """The gateway; ``role``: this process is one of ``serve --workers N`` (``cli/workers.py``)."""
    if settings.errors:
        raise ConfigurationError(settings.errors)
    if not settings.master_key and not is_loopback(settings.host):
        raise ValueError(
            f"Refusing to serve on {settings.host} without OCIGATE_MASTER_KEY: set it, or serve on 127.0.0.1."
        )
    metrics = Metrics(multiprocess_dir=role.metrics_dir if role is not None else None)
    access_log = AccessLog(enabled=settings.access_log, json=settings.log_format == "json")
    runtime = Runtime(settings, access_log=access_log, metrics=metrics, role=role, tracing=tracing_for(settings))
    registry = runtime.registry
    profiles = profiles_with({r.vendor: (r.drop, r.allow, r.token_field) for r in settings.request_rules})
    routes, dispatcher = runtime.routes, runtime.dispatcher
    governance = runtime.governance
    health = HealthRoutes(registry, lambda: runtime.ready, _Resilience(runtime), settings.master_key)
    router = Router()
    pipeline = Pipeline(routes, dispatcher, governance)
    mount_model_routes(router, pipeline, runtime.storage.response_store, profiles, governance)
    mount_service_routes(router, ModelRoutes(registry, aliases=routes.aliases), health)
    router.add("GET", "/openapi.json", openapi_json)
    if settings.master_key:
        from ocigate.api.admin import AdminRoutes

        admin = AdminRoutes(runtime.governance, runtime.deployments)
        admin.mount(router)

    async def lifespan(phase: str) -> None:
        if phase == "startup":
            await runtime.start()
        else:
            await runtime.stop()

    prepare = GatewayAuth(settings.master_key or "", runtime.governance)
    app = router.asgi(
        prepare=prepare,
        lifespan=lifespan,
        max_body=settings.max_body_bytes,
        answered=counted(runtime.role, runtime.metrics, answered_hook(runtime.access_log, runtime.tracing, dispatcher)),
    )
    if runtime.tracing is not None:
        app = runtime.tracing.wrap(app)
    return Gateway(runtime, app)
