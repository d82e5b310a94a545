"""``ocigate postman``: the collection's structure. tests/e2e/clients/test_postman.py runs the command, and
test_newman.py runs the collection against a gateway."""

from __future__ import annotations

import json
from typing import Any

from ocigate.clients.postman import SCHEMA, postman_collection


def _requests(items: list[dict[str, Any]], folder: str = "") -> dict[str, tuple[str, dict[str, Any]]]:
    """Every request item by name, with the folder it sits in."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in items:
        if "item" in item:
            found.update(_requests(item["item"], item["name"]))
        else:
            found[item["name"]] = (folder, item)
    return found


def _tests(item: dict[str, Any]) -> str:
    (event,) = item["event"]
    assert event["listen"] == "test"
    return "\n".join(event["script"]["exec"])


def test_the_collection_is_v2_1_with_bearer_auth_and_variables() -> None:
    collection = postman_collection("http://gw:8080", "xai.grok-3", None)
    assert (
        collection["info"]["schema"]
        == SCHEMA
        == ("https://schema.getpostman.com/json/collection/v2.1.0/collection.json")
    )
    assert collection["auth"] == {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
    }
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert variables == {
        "baseUrl": "http://gw:8080/v1",
        "apiKey": "",
        "model": "xai.grok-3",
        "embeddingModel": "cohere.embed-v4.0",
    }
    given = postman_collection("http://gw:8080/v1/", "xai.grok-3", "cohere.embed-english-v3.0")
    assert {v["key"]: v["value"] for v in given["variable"]}["embeddingModel"] == "cohere.embed-english-v3.0"
    assert {v["key"]: v["value"] for v in given["variable"]}["baseUrl"] == "http://gw:8080/v1"


def test_the_requests_and_what_their_tests_check() -> None:
    requests = _requests(postman_collection("http://127.0.0.1:8080", "xai.grok-3", None)["item"])
    assert {
        name: (folder, item["request"]["method"], item["request"]["url"]["raw"])
        for name, (folder, item) in requests.items()
    } == {
        "List models": ("", "GET", "{{baseUrl}}/models"),
        "Chat": ("", "POST", "{{baseUrl}}/chat/completions"),
        "Chat (streaming)": ("", "POST", "{{baseUrl}}/chat/completions"),
        "Responses": ("", "POST", "{{baseUrl}}/responses"),
        "Responses (streaming)": ("", "POST", "{{baseUrl}}/responses"),
        "Embeddings": ("Embeddings (native API)", "POST", "{{baseUrl}}/embeddings"),
    }
    bodies = {
        name: json.loads(item["request"]["body"]["raw"])
        for name, (_, item) in requests.items()
        if name != "List models"
    }
    assert bodies["Chat"]["model"] == "{{model}}" and "stream" not in bodies["Chat"]
    assert bodies["Chat (streaming)"]["stream"] is True
    assert bodies["Chat (streaming)"]["stream_options"] == {"include_usage": True}
    assert bodies["Responses (streaming)"]["stream"] is True
    assert bodies["Embeddings"]["model"] == "{{embeddingModel}}"
    for name, (_, item) in requests.items():
        tests = _tests(item)
        assert "pm.response.to.have.status(200)" in tests
        if name != "List models":
            assert "opc-request-id" in tests
    assert "pm.expect(json.choices[0].message.content).to.be.a('string')" in _tests(requests["Chat"][1])
    assert "'data: [DONE]'" in _tests(requests["Chat (streaming)"][1])
    assert "response.completed" in _tests(requests["Responses (streaming)"][1])
    # A 404 (no embedding model served) fails the request's test instead of passing as "an error that says why".
    assert "oneOf" not in _tests(requests["Embeddings"][1])
    assert "json.data[0].embedding" in _tests(requests["Embeddings"][1])
