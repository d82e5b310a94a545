"""Where a native request runs: Oracle's ``servingMode`` (doc §3.1).

On-demand requests name the model (its name, an alias such as ``cohere.command-latest``, or its OCID); dedicated
requests name an endpoint OCID (``ocid1.generativeaiendpoint...``) and Oracle finds the model behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ocigate.core.types import JSON

ENDPOINT_PREFIX = "ocid1.generativeaiendpoint."
ServingType = Literal["ON_DEMAND", "DEDICATED"]


@dataclass(frozen=True, slots=True)
class ServingMode:
    """``ServingMode.for_target("meta.llama-3.3-70b-instruct").to_json()`` →
    ``{"servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"}``."""

    serving_type: ServingType
    target: str  # the modelId (ON_DEMAND) or the endpointId (DEDICATED)

    @classmethod
    def on_demand(cls, model_id: str) -> ServingMode:
        return cls("ON_DEMAND", model_id)

    @classmethod
    def dedicated(cls, endpoint_id: str) -> ServingMode:
        return cls("DEDICATED", endpoint_id)

    @classmethod
    def for_target(cls, target: str) -> ServingMode:
        """DEDICATED for an endpoint OCID, ON_DEMAND for anything else."""
        return cls.dedicated(target) if target.startswith(ENDPOINT_PREFIX) else cls.on_demand(target)

    def to_json(self) -> JSON:
        if self.serving_type == "DEDICATED":
            return {"servingType": "DEDICATED", "endpointId": self.target}
        return {"servingType": "ON_DEMAND", "modelId": self.target}
