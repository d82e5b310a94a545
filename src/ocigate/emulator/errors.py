"""Oracle's error bodies: ``{"code": "...", "message": "..."}`` with the status of doc §4.

:class:`OracleError` is a :class:`~ocigate.core.errors.GatewayError` so that the shared ASGI layer renders it; only
the body differs from the gateway's OpenAI envelope.
"""

from __future__ import annotations

import orjson

from ocigate.core.errors import GatewayError

NOT_AUTHENTICATED = "The required information to complete authentication was not provided or was incorrect."
NOT_AUTHORIZED_OR_NOT_FOUND = "Authorization failed or requested resource not found."

# The code Oracle sends with each status when a fault rule names none (apierrors.htm).
DEFAULT_CODES: dict[int, str] = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    403: "NotAuthorized",
    404: "NotAuthorizedOrNotFound",
    405: "MethodNotAllowed",
    409: "IncorrectState",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
DEFAULT_MESSAGES: dict[str, str] = {
    "NotAuthenticated": NOT_AUTHENTICATED,
    "NotAuthorizedOrNotFound": NOT_AUTHORIZED_OR_NOT_FOUND,
    # The message the OCI CLI shows for a 429 (doc §4).
    "TooManyRequests": "Too many requests for the user",
    "InternalServerError": "Internal error occurred",
    "ServiceUnavailable": "The service is currently unavailable.",
}


class OracleError(GatewayError):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, status=status, code=code, headers=headers)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}

    def to_json(self) -> bytes:
        return orjson.dumps({"code": self.code, "message": self.message})


def not_authenticated() -> OracleError:
    return OracleError(401, "NotAuthenticated", NOT_AUTHENTICATED)


def not_found() -> OracleError:
    return OracleError(404, "NotAuthorizedOrNotFound", NOT_AUTHORIZED_OR_NOT_FOUND)


def invalid(message: str) -> OracleError:
    return OracleError(400, "InvalidParameter", message)


def missing(message: str) -> OracleError:
    return OracleError(400, "MissingParameter", message)


def cannot_parse(message: str) -> OracleError:
    return OracleError(400, "CannotParseRequest", message)


def for_status(status: int, code: str | None = None, message: str | None = None) -> OracleError:
    """An error with Oracle's usual code and message for ``status`` unless given."""
    code = code or DEFAULT_CODES.get(status, "InternalServerError" if status >= 500 else "InvalidParameter")
    return OracleError(status, code, message or DEFAULT_MESSAGES.get(code, f"Emulated {code}."))
