"""The emulator's native endpoints refuse what Oracle refuses, in Oracle's error shape, and honour fault rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ocigate.emulator import DEFAULT_KEY
from tests.support.native import COMPARTMENT
from tests.support.servers import ServerThread

BEARER = {"Authorization": f"Bearer {DEFAULT_KEY}"}
LLAMA = "meta.llama-3.3-70b-instruct"
TEXT = [{"type": "TEXT", "text": "Hi"}]


def chat(request: dict[str, Any], model: str = LLAMA, **extra: Any) -> dict[str, Any]:
    return {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": model},
        "chatRequest": request,
        **extra,
    }


def generic(**fields: Any) -> dict[str, Any]:
    return {"apiFormat": "GENERIC", "messages": [{"role": "USER", "content": TEXT}], "maxTokens": 50, **fields}


def post(url: str, body: object, path: str = "/20231130/actions/chat") -> httpx.Response:
    return httpx.post(url + path, json=body, headers=BEARER, timeout=10)


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (chat(generic(), model="meta.nope"), 404, "NotAuthorizedOrNotFound", "meta.nope"),
        ({**chat(generic()), "compartmentId": None}, 400, "MissingParameter", "compartmentId"),
        ({"compartmentId": COMPARTMENT, "chatRequest": generic()}, 400, "MissingParameter", "servingMode"),
        (chat(generic(), model="cohere.embed-v4.0"), 400, "InvalidParameter", "does not support chat"),
        (chat({"apiFormat": "OPENAI"}), 400, "InvalidParameter", "apiFormat"),
        (chat(generic(messages=[{"role": "USER", "content": "Hi"}])), 400, "InvalidParameter", "must be an array"),
        (chat(generic(messages=[])), 400, "InvalidParameter", "must not be empty"),
        (chat(generic(reasoningEffort="low"), model="openai.gpt-oss-20b"), 400, "InvalidParameter", "reasoningEffort"),
        (
            chat(generic(tools=[{"type": "FUNCTION", "name": "f", "parameters": {"$defs": {}, "type": "object"}}])),
            400,
            "InvalidParameter",
            "$defs",
        ),
        (
            chat(generic(responseFormat={"type": "JSON_SCHEMA", "jsonSchema": {"name": "x", "strict": True}})),
            400,
            "InvalidParameter",
            "isStrict",
        ),
        (
            chat(generic(messages=[{"role": "TOOL", "toolCallId": "c", "content": TEXT}])),
            400,
            "InvalidParameter",
            "toolCallId",
        ),
        (
            chat(generic(messages=[{"role": "USER", "content": [{"type": "IMAGE", "imageUrl": {"url": "u"}}]}])),
            400,
            "InvalidParameter",
            "image input",
        ),
        (chat(generic(), model="cohere.command-r-08-2024"), 400, "InvalidParameter", "COHERE or COHEREV2"),
        (chat({"apiFormat": "COHERE", "message": "Hi"}), 400, "InvalidParameter", "GENERIC"),
        (
            chat({"apiFormat": "COHERE", "message": "Hi"}, "cohere.command-a-vision-07-2025"),
            400,
            "InvalidParameter",
            "COHEREV2",
        ),
        (chat({"apiFormat": "COHERE"}, "cohere.command-r-08-2024"), 400, "MissingParameter", "message"),
        (chat({"apiFormat": "COHERE", "message": ""}, "cohere.command-r-08-2024"), 400, "InvalidParameter", "empty"),
        (
            chat(
                {
                    "apiFormat": "COHERE",
                    "message": "Hi",
                    "tools": [{"name": "f", "description": "d", "parameterDefinitions": {"x": {"type": "string"}}}],
                },
                "cohere.command-r-08-2024",
            ),
            400,
            "InvalidParameter",
            "Python type name",
        ),
        (
            chat(
                {"apiFormat": "COHEREV2", "messages": [{"role": "TOOL", "toolCallId": "x", "content": TEXT}]},
                "cohere.command-a-03-2025",
            ),
            400,
            "InvalidParameter",
            "toolCallId",
        ),
    ],
)
def test_refusals(native_emulator: ServerThread, body: Any, status: int, code: str, fragment: str) -> None:
    answer = post(native_emulator.url, body)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert fragment in answer.json()["message"]
    assert answer.headers["opc-request-id"]


def test_unparseable_body_and_wrong_method(native_emulator: ServerThread) -> None:
    answer = httpx.post(native_emulator.url + "/20231130/actions/chat", content=b"{", headers=BEARER)
    assert (answer.status_code, answer.json()["code"]) == (400, "CannotParseRequest")
    answer = httpx.get(native_emulator.url + "/20231130/actions/chat", headers=BEARER)
    assert answer.status_code == 405


def test_cohere_history_and_v2_history(native_emulator: ServerThread) -> None:
    history = [
        {"role": "SYSTEM", "message": "Be nice."},
        {"role": "USER", "message": "Hi"},
        {"role": "CHATBOT", "message": "", "toolCalls": [{"name": "f", "parameters": {}}]},
        {"role": "TOOL", "toolResults": [{"call": {"name": "f", "parameters": {}}, "outputs": [{"r": 1}]}]},
    ]
    request = {
        "apiFormat": "COHERE",
        "message": "Again",
        "chatHistory": history,
        "maxTokens": 50,
        "responseFormat": {"type": "TEXT"},
    }
    answer = post(native_emulator.url, chat(request, "cohere.command-r-08-2024"))
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["chatResponse"]["chatHistory"]) == 6
    messages = [
        {"role": "SYSTEM", "content": TEXT},
        {"role": "USER", "content": TEXT},
        {
            "role": "ASSISTANT",
            "toolCalls": [{"id": "a", "type": "FUNCTION", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "TOOL", "toolCallId": "a", "content": [{"type": "TEXT", "text": "done"}]},
    ]
    v2 = {"apiFormat": "COHEREV2", "messages": messages, "maxTokens": 50, "responseFormat": {"type": "JSON_OBJECT"}}
    answer = post(native_emulator.url, chat(v2, "cohere.command-a-03-2025"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["chatResponse"]["message"]["content"] == [
        {"type": "TEXT", "text": '{"reply": "The tool returned: done"}'}
    ]


def test_fault_rules_apply_to_native_paths(native_emulator: ServerThread) -> None:
    url = native_emulator.url
    httpx.post(url + "/_emulator/faults", json={"status": 429, "count": 1, "path": "actions/chat"})
    answer = post(url, chat(generic()))
    assert (answer.status_code, answer.json()["code"]) == (429, "TooManyRequests")
    assert post(url, chat(generic())).status_code == 200
    httpx.post(url + "/_emulator/faults", json={"cut_after": 2, "count": 1, "model": LLAMA})
    with pytest.raises(httpx.HTTPError):  # noqa: PT012 - the cut surfaces while reading
        with httpx.stream(
            "POST", url + "/20231130/actions/chat", json=chat(generic(isStream=True)), headers=BEARER
        ) as r:
            list(r.iter_bytes())


def test_embed_and_rerank_refusals(native_emulator: ServerThread) -> None:
    url = native_emulator.url
    serving = {"servingType": "ON_DEMAND", "modelId": "cohere.embed-english-v3.0"}
    base = {"compartmentId": COMPARTMENT, "servingMode": serving}
    for body, fragment in (
        ({**base, "inputs": []}, "non-empty"),
        ({**base, "embedContents": [{}]}, "embedContents"),
        ({**base, "inputs": ["x"], "outputDimensions": 256}, "outputDimensions"),
        ({**base, "inputs": [" ".join(["w"] * 600)]}, "longer than 512"),
        (
            {**base, "servingMode": {"servingType": "ON_DEMAND", "modelId": LLAMA}, "inputs": ["x"]},
            "does not support text embeddings",
        ),
    ):
        answer = post(url, body, "/20231130/actions/embedText")
        assert answer.status_code == 400 and fragment in answer.json()["message"], answer.text
    ok = post(
        url,
        {**base, "inputs": [" ".join(["w"] * 600)], "truncate": "END", "isEcho": True},
        "/20231130/actions/embedText",
    )
    assert ok.status_code == 200 and ok.json()["inputs"]
    rerank = {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": "cohere.rerank-v4.0-fast"},
    }
    answer = post(url, {**rerank, "input": "q", "documents": []}, "/20231130/actions/rerankText")
    assert answer.status_code == 400
    answer = post(url, {**rerank, "input": "", "documents": ["a"]}, "/20231130/actions/rerankText")
    assert answer.status_code == 200 and "document" not in answer.json()["documentRanks"][0]


def test_dedicated_and_serving_errors(native_emulator: ServerThread) -> None:
    bad = chat(generic())
    bad["servingMode"] = {"servingType": "SHARED"}
    assert post(native_emulator.url, bad).status_code == 400
