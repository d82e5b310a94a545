"""What an upstream said travels on every GatewayError, not only on UpstreamError."""

from __future__ import annotations

from ocigate.core.errors import GatewayError, InvalidRequest, UpstreamError
from ocigate.routing.breaker import counts_as_failure
from ocigate.routing.retry import given_up


def test_every_gateway_error_has_the_upstream_fields() -> None:
    own = InvalidRequest("bad")
    assert (own.upstream_status, own.upstream_code) == (None, None)
    relayed = GatewayError("throttled", status=429, retryable=True, upstream_status=429, upstream_code="TooMany")
    assert (relayed.upstream_status, relayed.upstream_code) == (429, "TooMany")
    upstream = UpstreamError("x", status=502, type="api_error", code=None, upstream_status=500, upstream_code="E")
    assert (upstream.upstream_status, upstream.upstream_code) == (500, "E")


def test_dispatch_decisions_read_the_fields_of_any_gateway_error() -> None:
    client_error = GatewayError("no", status=400, retryable=True, upstream_status=400)
    assert not counts_as_failure(client_error)
    assert counts_as_failure(GatewayError("down", status=503, retryable=True, upstream_status=503))
    err = given_up("gpt", [], client_error, [], out_of_budget=False, probe_in_s=0)
    assert err.upstream_status == 400
