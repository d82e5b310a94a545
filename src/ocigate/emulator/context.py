"""One emulator instance's state, and the checks every inference request passes first, in Oracle's order:
authentication, region, IAM policy, project header, then the body."""

from __future__ import annotations

import os
from itertools import count

import orjson

from ocigate.catalog.models import ModelInfo, models_in_region
from ocigate.core.asgi import Request, Response
from ocigate.core.types import JSON
from ocigate.emulator.config import EmulatorConfig, EmulatorKey
from ocigate.emulator.errors import OracleError, cannot_parse, invalid, missing, not_authenticated, not_found
from ocigate.emulator.faults import FaultBook, FaultRule, apply
from ocigate.emulator.signing import SignatureVerifier, request_target

PROJECT_PREFIX = "ocid1.generativeaiproject."
_PROJECT_PREFIX = PROJECT_PREFIX.encode()
_JSON_TYPE = (b"content-type", b"application/json")


def json_reply(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status, [_JSON_TYPE])


class Ids:
    """Unique ids without a syscall per request: a random per-process prefix and a counter."""

    def __init__(self) -> None:
        self._prefix = os.urandom(10).hex().upper()
        self._counter = count(1)

    def request_id(self) -> str:
        # 32 upper-case hex characters, the shape of one segment of Oracle's opc-request-id.
        return f"{self._prefix}{next(self._counter):012X}"

    def object_id(self, prefix: str) -> str:
        return f"{prefix}{self._prefix.lower()}{next(self._counter):012x}"


class Context:
    def __init__(self, config: EmulatorConfig) -> None:
        if config.unknown_model_status not in (400, 404):
            raise ValueError(f"unknown_model_status must be 400 or 404, got {config.unknown_model_status}")
        self.config = config
        self.region = config.region
        self.keys: dict[str, EmulatorKey] = {key.secret: key for key in config.keys}
        self._bearers = {b"Bearer " + key.secret.encode("latin-1"): key for key in config.keys}
        self.models: dict[str, ModelInfo] = models_in_region(config.region)
        self.faults = FaultBook(config.seed)
        self.ids = Ids()
        self._verifier: SignatureVerifier | None = None

    def authenticate(self, request: Request, needs_project: bool, body: bytes = b"") -> EmulatorKey | None:
        """The API key that authenticated the request, or None for an OCI request signature (IAM)."""
        auth: bytes = b""
        project: bytes = b""
        # Scanning the raw ASGI headers (lower-case names) spares decoding them all into a dict per request.
        for name, value in request.scope["headers"]:
            if name == b"authorization":
                auth = value
            elif name == b"openai-project":
                project = value
        if auth[:10].lower() == b"signature ":
            self._signed(request, body, needs_project, project)
            return None
        key = self._bearers.get(auth)
        if key is None and auth[:7].lower() == b"bearer ":
            key = self.keys.get(auth[7:].strip().decode("latin-1"))
        if key is None:
            raise not_authenticated()
        # A key from another region and a key without the IAM policy get the same answer: Oracle does not say
        # which it was.
        if key.region != self.region or not key.policy:
            raise not_found()
        if needs_project and not project.startswith(_PROJECT_PREFIX):
            if not project:
                raise missing(
                    "Missing required header 'OpenAI-Project': /openai/v1 needs a Generative AI project OCID "
                    f"({PROJECT_PREFIX}...)."
                )
            raise missing(
                f"Header 'OpenAI-Project' must hold a Generative AI project OCID ({PROJECT_PREFIX}...), "
                f"got {project.decode('latin-1')!r}."
            )
        return key

    def _signed(self, request: Request, body: bytes, needs_project: bool, project: bytes) -> None:
        """The OpenAI-compatible paths under IAM (doc §2.3): a valid signature, and the compartment as
        ``opc-compartment-id`` or ``CompartmentId`` on the ``/20231130/actions/v1`` base, the project as
        ``OpenAI-Project`` on ``/openai/v1``."""
        if self._verifier is None:
            self._verifier = SignatureVerifier(self.config.iam_keys, max_skew_s=self.config.max_clock_skew_s)
        key = self._verifier.verify(request.method, request_target(request), request.headers, body)
        if needs_project:
            if not project.startswith(_PROJECT_PREFIX):
                raise missing("Missing required header 'OpenAI-Project': /openai/v1 needs a project OCID.")
            return
        headers = request.headers
        compartment = headers.get("opc-compartment-id") or headers.get("compartmentid")
        if not compartment:
            raise missing("Missing required header 'opc-compartment-id': the compartment to run the request in.")
        if key.compartments and compartment not in key.compartments:
            raise not_found()

    async def admit(self, request: Request, needs_project: bool) -> tuple[JSON, int | None]:
        """Authenticates, parses the body and applies any matching fault rule.

        Returns the body and the number of events after which a stream must be cut (None: never)."""
        raw = await request.body()
        self.authenticate(request, needs_project, raw)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise cannot_parse(f"Unable to parse the request body as JSON: {exc}.") from None
        if not isinstance(body, dict):
            raise cannot_parse("The request body must be a JSON object.")
        rule: FaultRule | None = None
        if self.faults.rules:
            rule = self.faults.pick(request.path, body.get("model"), body.get("stream") is True)
        cut_after = await apply(rule) if rule is not None else None
        return body, cut_after

    def chat_model(self, model_id: object) -> ModelInfo:
        if model_id is None:
            raise missing("Missing required parameter 'model'.")
        if not isinstance(model_id, str) or not model_id:
            raise invalid(f"Invalid parameter: 'model' must be a non-empty string, got {model_id!r}.")
        model = self.models.get(model_id)
        if model is not None and not model.chat:
            kind = " and ".join(model.capabilities)
            raise invalid(f"Model {model_id} does not support chat: it is a {kind} model.")
        if model is None or not model.openai_compatible:
            raise self.unknown_model(model_id)
        return model

    def unknown_model(self, model_id: str) -> OracleError:
        message = f"Entity with key {model_id} not found"
        if self.config.unknown_model_status == 400:
            return invalid(message)
        return OracleError(404, "NotAuthorizedOrNotFound", message)
