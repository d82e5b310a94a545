"""Who may call the native API, and in which compartment: OCI request signatures (signing.py) or, on the inference
paths, a Generative AI API key.

Oracle's API keys work on the native chat endpoint as well as on the OpenAI-compatible ones [uncertain: api-keys.htm
lists only the OpenAI-compatible paths, while clients use keys on /actions/chat too]; the emulator accepts them on
every inference path and never on the management API.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ocigate.core.asgi import Request
from ocigate.core.types import JSON
from ocigate.emulator.context import Context
from ocigate.emulator.errors import cannot_parse, not_found
from ocigate.emulator.faults import apply
from ocigate.emulator.native_models import compartment_of
from ocigate.emulator.signing import SignatureVerifier, request_target


@dataclass(frozen=True, slots=True)
class Caller:
    principal: str  # the signing keyId, or "apikey"
    compartments: tuple[str, ...]  # where the caller's policies allow it; empty: anywhere

    def check_compartment(self, compartment: str) -> None:
        # A compartment outside the policy and one that does not exist get the same answer.
        if self.compartments and compartment not in self.compartments:
            raise not_found()


API_KEY_CALLER = Caller("apikey", ())


class NativeGate:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.verifier = SignatureVerifier(ctx.config.iam_keys, max_skew_s=ctx.config.max_clock_skew_s)

    def authenticate(self, request: Request, body: bytes, *, api_keys: bool) -> Caller:
        auth = request.headers.get("authorization", "")
        if api_keys and auth[:7].lower() == "bearer ":
            self.ctx.authenticate(request, needs_project=False)
            return API_KEY_CALLER
        key = self.verifier.verify(request.method, request_target(request), request.headers, body)
        return Caller(key.key_id, key.compartments)

    async def admit(self, request: Request) -> tuple[JSON, int | None]:
        """Authenticates, parses the body, checks its compartment and applies any matching fault rule.

        Returns the body and the number of events after which a stream must be cut (None: never)."""
        raw = await request.body()
        caller = self.authenticate(request, raw, api_keys=True)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise cannot_parse(f"Unable to parse the request body as JSON: {exc}.") from None
        if not isinstance(body, dict):
            raise cannot_parse("The request body must be a JSON object.")
        caller.check_compartment(compartment_of(body))
        if not self.ctx.faults.rules:
            return body, None
        serving = body.get("servingMode")
        model = serving.get("modelId") or serving.get("endpointId") if isinstance(serving, dict) else None
        chat = body.get("chatRequest")
        stream = isinstance(chat, dict) and chat.get("isStream") is True
        rule = self.ctx.faults.pick(request.path, model, stream)
        return body, (await apply(rule) if rule is not None else None)
