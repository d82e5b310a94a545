"""The OpenAPI document at /openapi.json: valid OpenAPI 3.1, and the same routes as the gateway's router."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from ocigate.api.openapi import openapi_document
from ocigate.app.runtime import Gateway, create_app
from ocigate.config.settings import load_settings
from ocigate.core.asgi import Handler, Message, Request, Router
from ocigate.core.errors import GatewayError

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
Routes = list[tuple[str, str, bool]]  # method, path or prefix, is a prefix


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[tuple[Gateway, Router, Routes]]:
    """A gateway as ``ocigate serve`` builds it with a master key (admin routes included), and what its router
    was given: ``Router.add`` and ``add_prefix`` are wrapped to record their calls, then run as they are."""
    routers: list[Router] = []
    routes: Routes = []
    add, add_prefix = Router.add, Router.add_prefix

    def recording_add(self: Router, method: str, path: str, handler: Handler) -> None:
        routers.append(self)
        routes.append((method, path, False))
        add(self, method, path, handler)

    def recording_add_prefix(self: Router, method: str, prefix: str, handler: Handler) -> None:
        routes.append((method, prefix, True))
        add_prefix(self, method, prefix, handler)

    monkeypatch.setattr(Router, "add", recording_add)
    monkeypatch.setattr(Router, "add_prefix", recording_add_prefix)
    app = create_app(load_settings({"OCIGATE_MASTER_KEY": "mk", "OCIGATE_DATA_DIR": str(tmp_path)}))
    monkeypatch.undo()
    assert len(set(map(id, routers))) == 1, "create_app builds one router"
    yield app, routers[0], routes


def _operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1.")
    errors = [str(e.message) for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_operation_has_an_id_and_an_error_envelope_for_each_error() -> None:
    document = openapi_document()
    ids = []
    for method, path in _operations():
        operation = document["paths"][path][method.lower()]
        ids.append(operation["operationId"])
        for status, answer in operation["responses"].items():
            if status[0] in "45" and path != "/readyz":  # /readyz's 503 is its own body, status "starting"
                assert answer["$ref"].startswith("#/components/responses/"), (method, path, status)
    assert len(ids) == len(set(ids))
    for name, answer in document["components"]["responses"].items():
        schema = answer["content"]["application/json"]["schema"]
        # The Messages API answers in Anthropic's envelope, the rest in OpenAI's.
        envelope = "AnthropicError" if name == "AnthropicError" else "Error"
        assert schema == {"$ref": f"#/components/schemas/{envelope}"}, name


def test_every_route_of_the_router_is_in_the_document(built: tuple[Gateway, Router, Routes]) -> None:
    _, _, routes = built
    operations = set(_operations())
    missing = []
    for method, path, prefix in routes:
        if prefix:
            covered = any(m == method and p.startswith(path + "{") for m, p in operations)
        else:
            covered = (method, path.rstrip("/") or "/") in operations  # /admin/ is /admin
        if not covered:
            missing.append(f"{method} {path}{'…' if prefix else ''}")
    assert missing == []


def test_every_operation_of_the_document_is_routed(built: tuple[Gateway, Router, Routes]) -> None:
    _, router, _ = built
    unrouted = []
    for method, path in _operations():
        concrete = re.sub(r"\{[^}]+\}", "sample-id", path)
        request = Request({"type": "http", "method": method, "path": concrete, "headers": []}, _no_body)
        try:
            router.resolve(request)
        except GatewayError as err:
            unrouted.append(f"{method} {path}: {err.status} {err.message}")
    assert unrouted == []


async def test_the_gateway_serves_the_document_without_a_key(built: tuple[Gateway, Router, Routes]) -> None:
    app, _, _ = built
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/openapi.json", "headers": [], "query_string": b""}
    await app(scope, _no_body, send)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"]) == openapi_document()


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}
