"""The gateway's one error hierarchy.

Every error a client sees is a :class:`GatewayError` rendered as OpenAI's envelope::

    {"error": {"message": "...", "type": "...", "param": null, "code": "..."}}

    GatewayError
     ├── InvalidRequest        400  invalid_request_error
     ├── AuthenticationFailed  401  authentication_error
     ├── ModelNotFound         404  not_found_error (code model_not_found)
     ├── NotFound              404  not_found_error
     ├── MethodNotAllowed      405  invalid_request_error
     ├── PayloadTooLarge       413  invalid_request_error
     ├── ProviderUnavailable   503  api_error (a provider that is configured but unusable)
     └── UpstreamError         the upstream's status, mapped; carries the hint that names the fix

The messages are the whole user interface of an error: the OpenAI SDKs, Postman and VS Code show only
``message``, so it must say what to fix.
"""

from __future__ import annotations

import orjson


class GatewayError(Exception):
    """``upstream_status`` and ``upstream_code`` keep what an upstream said (None when no upstream answered, or the
    error is the gateway's own), for logs and for dispatch decisions: retries, circuits, the other secret."""

    status: int = 500
    type: str = "api_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool = False,
        upstream_status: int | None = None,
        upstream_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        if code is not None:
            self.code = code
        self.param = param
        self.headers: dict[str, str] = headers or {}
        self.retryable = retryable
        self.upstream_status = upstream_status
        self.upstream_code = upstream_code

    def to_dict(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class AuthenticationFailed(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class NotFound(GatewayError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(GatewayError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class ProviderUnavailable(GatewayError):
    status = 503
    type = "api_error"
    code = "provider_unavailable"


class UpstreamError(GatewayError):
    """An upstream answered with an error, or could not be reached: its status and type are always given."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        code: str | None,
        upstream_status: int | None = None,
        upstream_code: str | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool = False,
        param: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            type=type,
            code=code,
            headers=headers,
            retryable=retryable,
            param=param,
            upstream_status=upstream_status,
            upstream_code=upstream_code,
        )


def type_for_status(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 404:
        return "not_found_error"
    if status == 429:
        return "rate_limit_error"
    if 400 <= status < 500:
        return "invalid_request_error"
    return "api_error"
