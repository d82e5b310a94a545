"""What the gateway says in its log at start-up and after each model discovery."""

from __future__ import annotations

import logging

from ocigate import __version__
from ocigate.app.emulated import EmbeddedEmulator
from ocigate.config.settings import Diagnostic, ProviderConfig, Settings
from ocigate.providers.oracle.checks import check_provider, check_settings
from ocigate.routing.registry import ProviderState

log = logging.getLogger("ocigate")


def announce(settings: Settings, emulator: EmbeddedEmulator | None, providers: list[ProviderConfig]) -> None:
    """The checks' findings, the emulator when it serves, a missing master key, and the address."""
    for diagnostic in check_settings(settings):
        _report(diagnostic)
    if emulator is not None:
        log.warning(
            "No Oracle provider is configured: serving the bundled Oracle emulator (region %s) at %s with "
            "%d models. Set ORACLE_API_KEY and ORACLE_REGION (or ORACLE_BASE_URL) to use Oracle.",
            emulator.region,
            emulator.base_url,
            len(emulator.models) + len(emulator.native_models),
        )
    else:
        for config in providers:
            for diagnostic in check_provider(config):
                _report(diagnostic)
            _network(config)
    if not settings.master_key:
        log.warning(
            "OCIGATE_MASTER_KEY is not set: any local process can use this gateway; it serves only on loopback (%s).",
            settings.host,
        )
    scheme = "https" if settings.tls is not None else "http"
    log.info("ocigate %s serving %s://%s:%d/v1", __version__, scheme, settings.host, settings.port)


def _network(config: ProviderConfig) -> None:
    """How the provider reaches its upstream, when a proxy or a CA bundle is involved (the proxy's URL never holds
    its credentials: ``config/network.py``)."""
    egress = config.egress
    proxy = egress.proxy_for(config.base_url)
    if proxy is None and egress.ca_bundle is None:
        return
    via = f"through the proxy {proxy.url}" if proxy is not None else "directly"
    trusting = f", trusting the CA bundle {egress.ca_bundle}" if egress.ca_bundle else ""
    log.info("provider '%s' reaches %s %s%s", config.name, config.base_url, via, trusting)


def _report(diagnostic: Diagnostic) -> None:
    if diagnostic.level == "error":
        log.error("%s", diagnostic.message)
    else:
        log.warning("%s", diagnostic.message)


class ListingReporter:
    """A model catalogue that cannot be read (a wrong compartment, a missing policy) is a WARNING with Oracle's
    reason and the fix, said once per reason rather than at every refresh; its recovery is said at INFO."""

    def __init__(self) -> None:
        self._said: dict[str, str | None] = {}

    def report(self, states: list[ProviderState]) -> None:
        for state in states:
            said = self._said.get(state.name)
            if state.listing_error == said:
                continue
            self._said[state.name] = state.listing_error
            if state.listing_error is not None:
                log.warning(
                    "provider '%s': its model catalogue cannot be read, so it serves only its configured models "
                    "(%d)%s: %s",
                    state.name,
                    len(state.models()),
                    f", and '{state.name}/<model>' names are tried as given" if state.catalogue else "",
                    state.listing_error,
                )
            elif said is not None:
                log.info("provider '%s': its model catalogue is readable again: %s", state.name, state.discovery_note)
