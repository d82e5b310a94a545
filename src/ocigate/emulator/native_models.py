"""Which model a native request runs on: ``servingMode`` resolved by name, alias, model OCID or dedicated endpoint
(doc §3.1), and the model OCIDs the management API lists."""

from __future__ import annotations

import base64
import hashlib

from ocigate.catalog.models import Capability, ModelInfo
from ocigate.emulator.context import Context
from ocigate.emulator.errors import invalid, missing, not_found
from ocigate.emulator.native_wire import obj, text

MODEL_OCID_PREFIX = "ocid1.generativeaimodel.oc1."
_KIND = {"chat": "chat", "embeddings": "text embeddings", "rerank": "text rerank"}


def model_ocid(region: str, model_id: str) -> str:
    """A stable OCID for a base model: ``ocid1.generativeaimodel.oc1.<region>.amaaaaaa<52 base32 characters>``,
    derived from the name, so it is the same in every run and differs between regions, as Oracle's do."""
    digest = base64.b32encode(hashlib.sha256(f"{region}/{model_id}".encode()).digest()).decode().lower()
    return f"{MODEL_OCID_PREFIX}{region}.amaaaaaa{digest[:52]}"


class NativeModels:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.by_ocid = {model_ocid(ctx.region, m.id): m for m in ctx.models.values()}
        self.endpoints = dict(ctx.config.dedicated_endpoints)

    def resolve(self, serving: object, capability: Capability) -> ModelInfo:
        mode = obj(serving, "servingMode", required=True)
        kind = text(mode.get("servingType"), "servingMode.servingType", required=True)
        if kind == "ON_DEMAND":
            model_id = text(mode.get("modelId"), "servingMode.modelId", required=True) or ""
            model = self.ctx.models.get(model_id) or self.by_ocid.get(model_id)
            if model is None:
                raise self.ctx.unknown_model(model_id)
        elif kind == "DEDICATED":
            endpoint = text(mode.get("endpointId"), "servingMode.endpointId", required=True) or ""
            served = self.endpoints.get(endpoint)
            model = self.ctx.models.get(served) if served is not None else None
            if model is None:
                raise not_found()
        else:
            raise invalid(f"Invalid parameter: 'servingMode.servingType' must be ON_DEMAND or DEDICATED, got {kind!r}.")
        if capability not in model.capabilities:
            kind_name = " and ".join(_KIND[c] for c in model.capabilities)
            raise invalid(f"Model {model.id} does not support {_KIND[capability]}: it is a {kind_name} model.")
        return model


def compartment_of(body: dict[str, object]) -> str:
    compartment = text(body.get("compartmentId"), "compartmentId")
    if not compartment:
        raise missing("Missing required parameter 'compartmentId'.")
    return compartment
