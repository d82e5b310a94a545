"""Oracle's errors, turned into messages that say what to fix.

The OpenAI SDKs, Postman and VS Code show a person only ``error.message``, so the hint goes there. Pure: the
upstream's status, body and headers in, an :class:`UpstreamError` out.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ocigate.checks import POLICY_STATEMENT
from ocigate.errors import UpstreamError, type_for_status

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class UpstreamContext:
    """What the gateway knows about the attempt, for the hint."""

    provider: str
    model: str
    region: str | None
    base_url: str
    kind: str = "oracle"


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
    code, upstream_message = parse_error_body(body)
    where = f"in {ctx.region}" if ctx.region else f"at {ctx.base_url}"
    said = f"{status} {code}" if code else str(status)
    ref = f" (opc-request-id {request_id})" if request_id else ""
    detail = f": {upstream_message}" if upstream_message else ""
    passed: dict[str, str] = {}
    out_status = status
    if ctx.kind != "oracle":
        message = f"Provider '{ctx.provider}' answered {said}{detail}{ref}"
    elif status == 404 and code in ("NotAuthorizedOrNotFound", "NotFound", "404", None):
        message = (
            f"Oracle answered {said} for model '{ctx.model}' {where}{ref}. Oracle does not say which of these it "
            f"is: (1) the IAM policy for Generative AI API keys is missing; add it in the root compartment: "
            f'"{POLICY_STATEMENT}"; (2) the API key was created in another region than {ctx.region or "this one"}: '
            f"a key works only in its own region, so point provider '{ctx.provider}' at the key's region; "
            f"(3) model '{ctx.model}' is not offered {where} or not to this tenancy: check Oracle's model "
            "availability per region."
        )
    elif status == 401:
        message = (
            f"Oracle rejected the API key of provider '{ctx.provider}' ({said}){ref}. The bearer must be one of the "
            "key's two secrets (sk-...), not the API key's OCID (ocid1.generativeaiapikey...) or a console URL; "
            "a key created before its IAM policy existed can also fail until it is recreated."
        )
    elif status == 429:
        wait = headers.get("retry-after")
        passed = {"Retry-After": wait} if wait else {}
        after = f" Retry after {wait} s." if wait else " Retry with backoff."
        message = (
            f"Oracle is throttling requests {where} ({said}){ref}.{after} Oracle's quotas are per tenancy and region."
        )
    elif status >= 500:
        wait = headers.get("retry-after")
        passed = {"Retry-After": wait} if wait else {}
        message = (
            f"Oracle failed {where} ({said}{detail}){ref}. This is on Oracle's side: retry later"
            f"{f' (Retry-After {wait} s)' if wait else ''}, or serve the model from another region."
        )
        out_status = status if status in (500, 502, 503, 504) else 502
    elif status == 403:
        message = (
            f"Oracle refused the request ({said}{detail}){ref}. The policy for Generative AI API keys does not allow "
            f"this operation or model '{ctx.model}': check the statement's conditions ({POLICY_STATEMENT})."
        )
    else:
        message = f"Oracle rejected the request for model '{ctx.model}' ({said}{detail}){ref}."
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
