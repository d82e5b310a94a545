"""The admin API's bodies and query parameters, against a real gateway with a master key: every wrong one is a 400
that names it in ``param``, never a 500 from the store or the serialiser, and nothing a key is created with can
break the key listing (issue 11, findings 7 and 9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.support.databases import postgres_database
from tests.support.servers import ServerThread, start_gateway

pytestmark = pytest.mark.e2e

MASTER = "gw-admin-inputs-master"


def env(emulator: ServerThread, **extra: str) -> dict[str, str]:
    return {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": "sk-emulator-chicago",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": "openai.gpt-oss-120b",
        "OCIGATE_MASTER_KEY": MASTER,
        "OCIGATE_DISCOVERY_INTERVAL": "0",
        **extra,
    }


@pytest.fixture(scope="module")
def admin(emulator: ServerThread) -> Iterator[httpx.Client]:
    server, _ = start_gateway(env(emulator))
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10) as client:
        yield client
    server.stop()


def nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` objects deep."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def refused(reply: httpx.Response, param: str | None) -> dict[str, Any]:
    assert reply.status_code == 400, reply.text
    error: dict[str, Any] = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    return error


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("by=key,key", "by"),  # a plain 500 before: the same column grouped twice
        ("by=key&by=key", "by"),
        ("by=key,colour", "by"),
        ("since=nan", "since"),  # accepted before
        ("until=inf", "until"),  # accepted before
        ("since=-inf", "since"),
        ("since=yesterday", "since"),
        ("until=1e400", "until"),
        ("since=2000&until=1000", "since"),
        ("since=1&since=2", "since"),
        ("key=a%00b", "key"),
        ("model=" + "m" * 300, "model"),
        ("sinse=1", "sinse"),
    ],
)
def test_usage_queries_are_checked(admin: httpx.Client, query: str, param: str) -> None:
    refused(admin.get(f"/admin/usage?{query}"), param)


def test_good_usage_queries_still_answer(admin: httpx.Client) -> None:
    reply = admin.get("/admin/usage?by=day,key&by=model&since=0&until=4102444800")
    assert reply.status_code == 200 and reply.json()["by"] == ["day", "key", "model"]


def test_other_queries_are_checked(admin: httpx.Client) -> None:
    refused(admin.get("/admin/keys?team=a&team=b"), "team")
    refused(admin.get("/admin/keys?teem=a"), "teem")
    refused(admin.get("/admin/deployments?verbose=1"), "verbose")
    assert admin.get("/admin/keys/key_%00").status_code == 404
    assert admin.get("/admin/keys/" + "k" * 500).json()["error"]["code"] == "key_not_found"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"name": ""}, "name"),
        ({"name": ["team"]}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"team": {"a": 1}}, "team"),
        ({"allowed_models": "xai.*"}, "allowed_models"),
        ({"allowed_models": ["xai.*", 5]}, "allowed_models[1]"),
        ({"rpm": 0}, "rpm"),
        ({"rpm": 9_223_372_036_854_775_808}, "rpm"),  # beyond 64 bits signed: the store failed (500)
        ({"tpm": 2**31}, "tpm"),  # beyond the 32-bit column
        ({"max_concurrent": "5"}, "max_concurrent"),
        ({"budget": {"amount": 1e300}}, "budget.amount"),
        ({"budget": {"amount": 5, "unit": ["usd"]}}, "budget.unit"),
        ({"expires_at": 1e30}, "expires_at"),
        ({"expires_at": "soon"}, "expires_at"),
        ({"metadata": [1]}, "metadata"),
        ({"metadata": nested(9)}, "metadata"),
        ({"metadata": {"blob": "x" * 20_000}}, "metadata"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_key_fields_are_checked(admin: httpx.Client, fields: dict[str, Any], param: str) -> None:
    refused(admin.post("/admin/keys", json={"name": "k", **fields}), param)


def test_deep_bodies_are_a_400_and_the_listing_survives(admin: httpx.Client) -> None:
    """Metadata 252 levels deep was stored, then broke every GET /admin/keys (orjson writes at most 254)."""
    error = refused(admin.post("/admin/keys", json={"name": "deep", "metadata": nested(252)}), None)
    assert error["message"] == "The request body is nested deeper than 64 levels."
    refused(admin.post("/admin/keys", content=b'{"name": "deep", "metadata": ' + b"[" * 600 + b"]" * 600 + b"}"), None)
    created = admin.post("/admin/keys", json={"name": "deepest-allowed", "metadata": nested(8)})
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]
    refused(admin.patch(f"/admin/keys/{key_id}", json={"metadata": nested(9)}), "metadata")
    refused(admin.patch(f"/admin/keys/{key_id}", json={"rpm": -1}), "rpm")
    listed = admin.get("/admin/keys")
    assert listed.status_code == 200 and key_id in [k["id"] for k in listed.json()["data"]]
    assert admin.patch(f"/admin/keys/{key_id}", json={"rpm": 10, "team": ""}).json()["rpm"] == 10


def test_on_postgres_text_the_store_refuses_is_a_400_not_a_500(emulator: ServerThread) -> None:
    """Postgres refuses NUL in text: a NUL in a name, a filter or a key id was its error, a 500."""
    with postgres_database() as url:
        server, _ = start_gateway(env(emulator, OCIGATE_DATABASE_URL=url))
        try:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {MASTER}"}) as client:
                refused(client.post("/admin/keys", json={"name": "a\u0000b"}), "name")
                refused(client.post("/admin/keys", json={"name": "k", "team": "t\u0000"}), "team")
                refused(client.get("/admin/usage?team=t%00"), "team")
                assert client.get("/admin/keys/key_%00").status_code == 404
                refused(client.post("/admin/keys", json={"name": "k", "rpm": 2**31}), "rpm")
                assert client.post("/admin/keys", json={"name": "ok", "rpm": 2**31 - 1}).status_code == 201
        finally:
            server.stop()
