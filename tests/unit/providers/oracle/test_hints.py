from __future__ import annotations

from ocigate.providers.oracle.hints import UpstreamContext, connection_error, oracle_error, parse_error_body

CTX = UpstreamContext("oracle", "openai.gpt-oss-120b", "us-chicago-1", "https://x/20231130/actions/v1")


def test_404_names_policy_region_and_model() -> None:
    body = b'{"code":"NotAuthorizedOrNotFound","message":"Authorization failed or requested resource not found."}'
    err = oracle_error(404, body, {}, CTX, "RID-1")
    assert err.status == 404 and err.type == "not_found_error" and err.code == "NotAuthorizedOrNotFound"
    assert "request.principal.type='generativeaiapikey'" in err.message
    assert "us-chicago-1" in err.message and "openai.gpt-oss-120b" in err.message and "RID-1" in err.message


def test_401_says_the_bearer_must_be_the_secret() -> None:
    err = oracle_error(401, b'{"code":"NotAuthenticated","message":"x"}', {}, CTX, None)
    assert err.status == 401 and err.code == "invalid_api_key"
    assert "sk-" in err.message and "OCID" in err.message and "console URL" in err.message


def test_429_passes_retry_after_and_is_retryable() -> None:
    err = oracle_error(
        429, b'{"code":"TooManyRequests","message":"Too many requests for the user"}', {"retry-after": "3"}, CTX, None
    )
    assert err.status == 429 and err.headers == {"Retry-After": "3"} and err.retryable
    assert "throttling" in err.message and "3 s" in err.message


def test_5xx_says_oracle_is_failing() -> None:
    err = oracle_error(503, b'{"code":"ServiceUnavailable","message":"down"}', {}, CTX, None)
    assert err.status == 503 and err.type == "api_error" and "Oracle failed" in err.message and err.retryable
    odd = oracle_error(599, b"", {}, CTX, None)
    assert odd.status == 502


def test_400_keeps_oracles_message() -> None:
    err = oracle_error(400, b'{"code":"InvalidParameter","message":"bad temperature"}', {}, CTX, None)
    assert err.status == 400 and err.type == "invalid_request_error" and "bad temperature" in err.message


def test_error_bodies_of_every_shape_parse() -> None:
    assert parse_error_body(b'{"code":404,"message":"Entity with key x not found"}') == (
        "404",
        "Entity with key x not found",
    )
    assert parse_error_body(b'{"error":{"message":"m","code":"c"}}') == ("c", "m")
    assert parse_error_body(b"<html>gateway timeout</html>") == (None, "<html>gateway timeout</html>")
    assert parse_error_body(b"") == (None, "")


def test_connection_errors() -> None:
    assert connection_error(CTX, "refused").status == 502
    timeout = connection_error(CTX, "slow", timeout=True)
    assert timeout.status == 504 and timeout.retryable
