"""Oracle's errors, turned into messages that say what to fix.

The OpenAI SDKs, Postman and VS Code show a person only ``error.message``, so the hint goes there. Pure: the
upstream's status, body and headers in, an :class:`UpstreamError` out.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ocigate.core.errors import UpstreamError, type_for_status
from ocigate.providers.oracle.checks import POLICY_STATEMENT

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class UpstreamContext:
    """What the gateway knows about the attempt, for the hint."""

    provider: str
    model: str
    region: str | None
    base_url: str
    kind: str = "oracle"
    auth: str = "api_key"
    """``api_key`` or the IAM principal that signed (``user_principal``, ``instance_principal``...)."""
    key_id: str | None = None
    principal: str | None = None
    """The principal in words: "user principal (profile DEFAULT of ~/.oci/config)"."""
    compartment: str | None = None
    operation: str = "chat/completions"
    native: bool = False
    """Oracle's native API (``type: oci``) rather than its OpenAI-compatible path."""


def parse_error_body(body: bytes) -> tuple[str | None, str]:
    """Oracle's ``{"code", "message"}`` or OpenAI's ``{"error": {...}}``; the code may be numeric."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        inner = data.get("error")
        if isinstance(inner, dict):
            code = inner.get("code") or inner.get("type")
            return (str(code) if code is not None else None), str(inner.get("message") or "")
        if isinstance(inner, str):
            return None, inner
        code = data.get("code")
        return (str(code) if code is not None else None), str(data.get("message") or data.get("detail") or "")
    text = body.decode("utf-8", errors="replace").strip()
    return None, text[:500]


def oracle_error(
    status: int, body: bytes, headers: dict[str, str], ctx: UpstreamContext, request_id: str | None
) -> UpstreamError:
    """Oracle's (or another upstream's) error answer as the gateway's: a message that names the likely fix,
    Oracle's status mapped, ``Retry-After`` passed on where Oracle throttles or fails, and Oracle's request id."""
    code, upstream_message = parse_error_body(body)
    oracle = ctx.kind == "oracle"
    wait = headers.get("retry-after") if oracle and (status == 429 or status >= 500) else None
    passed = {"Retry-After": wait} if wait else {}
    if request_id:  # for the client (Oracle support asks for it) and the access line
        passed["opc-request-id"] = request_id
    out_status = 502 if oracle and status >= 500 and status not in (500, 502, 503, 504) else status
    said = f"{status} {code}" if code else str(status)
    ref = f" (opc-request-id {request_id})" if request_id else ""
    detail = f": {upstream_message}" if upstream_message else ""
    if oracle:
        message = _explained(status, code, _Said(said, detail, ref, wait), ctx)
    else:
        message = f"Provider '{ctx.provider}' answered {said}{detail}{ref}"
    return UpstreamError(
        message,
        status=out_status,
        type=type_for_status(out_status),
        code=_public_code(status, code),
        upstream_status=status,
        upstream_code=code,
        headers=passed,
        retryable=status in RETRYABLE_STATUSES,
    )


@dataclass(frozen=True, slots=True)
class _Said:
    """What Oracle said, as the message quotes it: ``404 NotAuthorizedOrNotFound``, its detail, its request id, and
    how long it asked to wait."""

    said: str
    detail: str
    ref: str
    wait: str | None


def _explained(status: int, code: str | None, it: _Said, ctx: UpstreamContext) -> str:
    """The message for an error Oracle answered: what it most likely means and what to change."""
    said, detail, ref, wait = it.said, it.detail, it.ref, it.wait
    where = f"in {ctx.region}" if ctx.region else f"at {ctx.base_url}"
    if status == 404 and not ctx.native and ctx.operation in ("embeddings", "rerank"):
        return (
            f"Oracle's OpenAI-compatible path has no /{ctx.operation} ({said}){ref}: {ctx.operation} are served by "
            "Oracle's native API: configure a type: oci provider for model "
            f"'{ctx.model}' (see 'Oracle's native API' in the README)."
        )
    if ctx.auth != "api_key" and status in (401, 404):
        return iam_message(status, said, detail, ref, where, ctx)
    if status == 404 and code in ("NotAuthorizedOrNotFound", "NotFound", "404", None):
        return (
            f"Oracle answered {said} for model '{ctx.model}' {where}{ref}. Oracle does not say which of these it "
            f"is: (1) the IAM policy for Generative AI API keys is missing; add it in the root compartment: "
            f'"{POLICY_STATEMENT}"; (2) the API key was created in another region than {ctx.region or "this one"}: '
            f"a key works only in its own region, so point provider '{ctx.provider}' at the key's region; "
            f"(3) model '{ctx.model}' is not offered {where} or not to this tenancy: check Oracle's model "
            "availability per region."
        )
    if status == 401:
        return (
            f"Oracle rejected the API key of provider '{ctx.provider}' ({said}){ref}. The bearer must be one of the "
            "key's two secrets (sk-...), not the API key's OCID (ocid1.generativeaiapikey...) or a console URL; "
            "a key created before its IAM policy existed can also fail until it is recreated."
        )
    if status == 429:
        after = f" Retry after {wait} s." if wait else " Retry with backoff."
        return (
            f"Oracle is throttling requests {where} ({said}){ref}.{after} Oracle's quotas are per tenancy and region."
        )
    if status >= 500:
        return (
            f"Oracle failed {where} ({said}{detail}){ref}. This is on Oracle's side: retry later"
            f"{f' (Retry-After {wait} s)' if wait else ''}, or serve the model from another region."
        )
    if status == 403:
        return (
            f"Oracle refused the request ({said}{detail}){ref}. The policy for Generative AI API keys does not allow "
            f"this operation or model '{ctx.model}': check the statement's conditions ({POLICY_STATEMENT})."
        )
    return f"Oracle rejected the request for model '{ctx.model}' ({said}{detail}){ref}."


# The conditions that name one OKE workload (Oracle's "Granting Workloads Access to OCI Resources").
OKE_WORKLOAD = (
    "request.principal.type='workload', request.principal.namespace='<namespace>', "
    "request.principal.service_account='<service account>', request.principal.cluster_id='<cluster OCID>'"
)


def iam_policy(auth: str, compartment: str | None) -> str:
    """The IAM policy statement that lets a principal use Generative AI in a compartment."""
    who = "dynamic-group <dynamic-group>" if auth in ("instance_principal", "resource_principal") else "group <group>"
    where = (
        "tenancy" if not compartment or compartment.startswith("ocid1.tenancy.") else f"compartment id {compartment}"
    )
    if auth == "oke_workload_identity":
        return f"allow any-user to use generative-ai-family in {where} where all {{{OKE_WORKLOAD}}}"
    return f"allow {who} to use generative-ai-family in {where}"


def iam_message(status: int, said: str, detail: str, ref: str, where: str, ctx: UpstreamContext) -> str:
    """A 401 or 404 under IAM signing, explained."""
    principal = ctx.principal or ctx.auth.replace("_", " ")
    if status == 401:
        fixes = [
            "the gateway's clock must be within 5 minutes of Oracle's (check NTP)",
            "the profile's fingerprint must be that of the public key uploaded to the user (`ocigate doctor` "
            "computes it from key_file)",
            "key_file must be the private half of that API signing key",
        ]
        if ctx.auth == "session_token":
            fixes = [
                "the session may have expired: run `oci session refresh` (or `oci session authenticate`)",
                fixes[0],
            ]
        elif ctx.auth in ("instance_principal", "resource_principal", "oke_workload_identity"):
            fixes = [f"the {principal}'s token may have expired or been revoked", fixes[0]]
        listed = "; ".join(f"({n}) {fix}" for n, fix in enumerate(fixes, 1))
        key = f" with key id {ctx.key_id}" if ctx.key_id else ""
        return (
            f"Oracle did not accept the request signature of provider '{ctx.provider}' ({principal}{key}): "
            f"{said}{detail}{ref}. Check: {listed}."
        )
    compartment = ctx.compartment or "the compartment"
    group = (
        "a dynamic group that matches this instance or resource"
        if ctx.auth in ("instance_principal", "resource_principal")
        else "this cluster's namespace and service account"
        if ctx.auth == "oke_workload_identity"
        else "a group of the user"
    )
    return (
        f"Oracle answered {said} for model '{ctx.model}' {where}{ref}. Oracle does not say which of these it is: "
        f"(1) no IAM policy lets the {principal} use Generative AI in {compartment}: add, for {group}: "
        f'"{iam_policy(ctx.auth, ctx.compartment)}"; (2) the compartment OCID is wrong; (3) model '
        f"'{ctx.model}' is not offered {where} (or the dedicated endpoint does not exist there)."
    )


def _public_code(status: int, code: str | None) -> str:
    if status == 401:
        return "invalid_api_key"
    if status == 429:
        return "rate_limit_exceeded"
    if code and not code.isdigit():
        return code
    return f"upstream_{status}"


def connection_error(ctx: UpstreamContext, reason: str, *, timeout: bool = False) -> UpstreamError:
    target = f"Oracle {f'in {ctx.region} ' if ctx.region else ''}at {ctx.base_url}"
    if ctx.kind != "oracle":
        target = f"provider '{ctx.provider}' at {ctx.base_url}"
    if timeout:
        message = f"Timed out waiting for {target} ({reason}). Oracle may be overloaded; retry, or raise the timeout."
        return UpstreamError(message, status=504, type="api_error", code="upstream_timeout", retryable=True)
    message = (
        f"Could not reach {target}: {reason}. Check DNS, proxies and, for private networking, the route to the "
        "endpoint (service gateway or private endpoint)."
    )
    return UpstreamError(message, status=502, type="api_error", code="upstream_unreachable", retryable=True)
