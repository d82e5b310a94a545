"""``GET /20231130/models``: the management API's model listing (doc §1.4), served by the emulator for simplicity
(Oracle serves it from ``generativeai.<region>...``, not the inference host). Signed requests only: API keys are
for inference.

Lists the region's catalogue as base models, plus two retired ones in state DELETED, so that a client that does
not filter by ``lifecycleState=ACTIVE`` sees models it cannot use, as on Oracle. Pages hold ``limit`` items; the
``opc-next-page`` header carries the token for the next one.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from ocigate.catalog.models import MODELS, Capability
from ocigate.core.asgi import Handler, Request, Response, json_response
from ocigate.core.types import JSON
from ocigate.emulator.context import Context
from ocigate.emulator.errors import invalid, missing
from ocigate.emulator.native_auth import NativeGate
from ocigate.emulator.native_models import model_ocid
from ocigate.emulator.native_wire import enum

PATH = "/20231130/models"
CAPABILITIES: dict[Capability, str] = {"chat": "CHAT", "embeddings": "TEXT_EMBEDDINGS", "rerank": "TEXT_RERANK"}
STATES = ("ACTIVE", "CREATING", "DELETING", "DELETED", "FAILED")
SORT_FIELDS = ("displayName", "lifecycleState", "timeCreated")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# Retired on Oracle (its deprecation pages), listed with lifecycleState DELETED: (name, vendor, capability).
RETIRED: tuple[tuple[str, str, str], ...] = (
    ("cohere.command-r-16k", "cohere", "CHAT"),
    ("meta.llama-3-70b-instruct", "meta", "CHAT"),
)
_EPOCH = datetime(2024, 3, 1, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def model_summaries(region: str, compartment: str) -> list[JSON]:
    """Every model of the region as a ModelSummary, in catalogue order; the retired ones last."""
    summaries: list[JSON] = []
    listed = [m for m in MODELS if region in m.regions]
    for position, model in enumerate(listed):
        summaries.append(
            _summary(
                region, compartment, model.id, model.vendor, [CAPABILITIES[c] for c in model.capabilities], position
            )
        )
    for offset, (name, vendor, capability) in enumerate(RETIRED):
        summary = _summary(region, compartment, name, vendor, [capability], -1 - offset)
        summary["lifecycleState"] = "DELETED"
        summary["lifecycleDetails"] = "Retired: this model is no longer served."
        summary["timeDeprecated"] = summary["timeOnDemandRetired"] = _iso(_EPOCH)
        summaries.append(summary)
    return summaries


def _summary(region: str, compartment: str, name: str, vendor: str, capabilities: list[str], day: int) -> JSON:
    return {
        "id": model_ocid(region, name),
        "compartmentId": compartment,
        "capabilities": capabilities,
        "lifecycleState": "ACTIVE",
        "lifecycleDetails": None,
        "displayName": name,
        "vendor": vendor,
        "version": "1.0",
        "timeCreated": _iso(_EPOCH + timedelta(days=day)),
        "type": "BASE",
        "isLongTermSupported": False,
        "freeformTags": {},
        "definedTags": {},
        "systemTags": {},
    }


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
        if kind == "offset" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise invalid(f"Invalid parameter: 'page' {token!r} is not a page token from opc-next-page.")


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise invalid(f"Invalid parameter: 'limit' must be an integer from 1 to {MAX_LIMIT}, got {value!r}.")
    return int(value)


def list_models_handler(ctx: Context, gate: NativeGate) -> Handler:
    async def list_models(request: Request) -> Response:
        caller = gate.authenticate(request, await request.body(), api_keys=False)
        query = request.query
        compartment = _one(query, "compartmentId")
        if not compartment:
            raise missing("Missing required parameter 'compartmentId'.")
        caller.check_compartment(compartment)
        items = model_summaries(ctx.region, compartment)
        vendor = _one(query, "vendor")
        state = enum(_one(query, "lifecycleState"), "lifecycleState", STATES)
        name = _one(query, "displayName")
        model_id = _one(query, "id")
        wanted = set(query.get("capability", []))
        items = [
            item
            for item in items
            if (vendor is None or item["vendor"] == vendor)
            and (state is None or item["lifecycleState"] == state)
            and (name is None or item["displayName"] == name)
            and (model_id is None or item["id"] == model_id)
            and (not wanted or wanted & set(item["capabilities"]))
        ]
        sort_by = enum(_one(query, "sortBy"), "sortBy", SORT_FIELDS) or "timeCreated"
        order = enum(_one(query, "sortOrder"), "sortOrder", ("ASC", "DESC"))
        # Oracle's default: timeCreated descending, the other fields ascending (ListModels docstring).
        descending = order == "DESC" if order is not None else sort_by == "timeCreated"
        items.sort(key=lambda item: (str(item[sort_by]), item["displayName"]), reverse=descending)
        start = _offset(_one(query, "page"))
        limit = _limit(_one(query, "limit"))
        page = items[start : start + limit]
        headers: list[tuple[bytes, bytes]] = []
        if start + limit < len(items):
            headers.append((b"opc-next-page", _page_token(start + limit).encode()))
        return json_response({"items": page}, headers=headers)

    return list_models
