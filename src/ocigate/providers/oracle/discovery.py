"""Model discovery through Oracle's own catalogue: the management API's ListModels (doc §1.4), signed.

Usage::

    models = await list_oci_models(http, management_url(config), compartment, timeout=timeout, context=lambda: ctx)

Pages are followed through ``opc-next-page``; only ACTIVE models that can still be called on demand are kept,
with their capability as the gateway's kind (CHAT → chat, TEXT_EMBEDDINGS → embeddings, TEXT_RERANK → rerank).
Base models are listed under their names (``displayName``), which is what on-demand requests name; custom
(fine-tuned) models run only on dedicated endpoints, which the operator configures under ``dedicated:``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import orjson

from ocigate.catalog.metadata import ModelKind
from ocigate.catalog.regions import management_base_url, region_from_url
from ocigate.config.settings import ProviderConfig
from ocigate.providers.base import ListedModel
from ocigate.providers.oracle.hints import UpstreamContext, oracle_error
from ocigate.providers.oracle.http import SignedHttp

MODELS_PATH = "/20231130/models"
KINDS: dict[str, ModelKind] = {"CHAT": "chat", "TEXT_EMBEDDINGS": "embeddings", "TEXT_RERANK": "rerank"}
PAGE_SIZE = 1000
MAX_PAGES = 50  # a runaway opc-next-page loop ends here


def management_url(config: ProviderConfig) -> str:
    """Where ListModels is asked: the provider's ``management_endpoint``; else the region's management host when
    the provider talks to Oracle's own inference host; else the origin of its endpoint (the emulator serves both)."""
    if config.management_endpoint:
        return config.management_endpoint.rstrip("/")
    if config.region and (not config.base_url or region_from_url(config.base_url)):
        return management_base_url(config.region)
    parts = urlsplit(config.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def model_from_summary(summary: Any, now: datetime) -> ListedModel | None:
    """A ModelSummary as a listed model, or None when it cannot be called on demand."""
    if not isinstance(summary, dict) or summary.get("lifecycleState") != "ACTIVE":
        return None
    if summary.get("type", "BASE") != "BASE":
        return None
    retired = _parse_time(summary.get("timeOnDemandRetired"))
    if retired is not None and retired <= now:
        return None
    capabilities = summary.get("capabilities")
    kinds = [KINDS[c] for c in capabilities if c in KINDS] if isinstance(capabilities, list) else []
    name = summary.get("displayName")
    if not kinds or not isinstance(name, str) or not name:
        return None
    ocid = summary.get("id")
    return ListedModel(name, kinds[0], ocid if isinstance(ocid, str) else None)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def list_oci_models(
    http: SignedHttp,
    base: str,
    compartment: str,
    *,
    timeout: aiohttp.ClientTimeout,
    context: Callable[[], UpstreamContext],
) -> list[ListedModel]:
    """Every on-demand model of the compartment's region, in Oracle's order, each name once. A failed page raises
    Oracle's error explained for ``context()``, asked only then (the signer's credentials are loaded by then)."""
    found: dict[str, ListedModel] = {}
    page: str | None = None
    now = datetime.now(UTC)
    for _ in range(MAX_PAGES):
        query = {"compartmentId": compartment, "lifecycleState": "ACTIVE", "limit": str(PAGE_SIZE)}
        if page:
            query["page"] = page
        url = f"{base}{MODELS_PATH}?{urlencode(query)}"
        response = await http.request("GET", url, None, {"accept": "application/json"}, timeout)
        async with response:
            data = await response.read()
            request_id = response.headers.get("opc-request-id")
            if response.status != 200:
                headers = {k.lower(): v for k, v in response.headers.items()}
                raise oracle_error(response.status, data, headers, context(), request_id)
            page = response.headers.get("opc-next-page")
        try:
            items = orjson.loads(data).get("items")
        except (orjson.JSONDecodeError, AttributeError):
            items = None
        for summary in items if isinstance(items, list) else []:
            model = model_from_summary(summary, now)
            if model is not None:
                found.setdefault(model.id, model)
        if not page:
            break
    return list(found.values())
