"""``ocigate postman``: a Postman collection (v2.1) that calls every endpoint of the gateway and checks the answers.

The same file runs in Postman (import it, set ``apiKey``) and in newman, which the tests use to run it against a
real gateway. Each request's test script checks the status, the JSON shape, and Oracle's ``opc-request-id``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from ocigate.clients.served import gateway_root, load, root_of, served_models
from ocigate.core.types import JSON

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
# Shown when the gateway's configuration names no embedding model: the one Oracle offers in every region.
EMBEDDING_PLACEHOLDER = "cohere.embed-v4.0"
PROMPT = "Reply with the single word ok."


_STATUS_200 = [
    "pm.test('status is 200', function () {",
    "    pm.response.to.have.status(200);",
    "});",
]
_OPC_REQUEST_ID = [
    "pm.test('opc-request-id header is present', function () {",
    "    pm.expect(pm.response.headers.has('opc-request-id'), 'opc-request-id').to.be.true;",
    "});",
]
# Postman and newman receive a stream whole, as text: the checks read its SSE lines. (`data` is taken: the
# sandbox's iteration data.)
_SSE_LINES = [
    "const sseLines = pm.response.text().split('\\n').map(function (l) { return l.trim(); })",
    "    .filter(function (l) { return l.length > 0; });",
    "const events = sseLines.filter(function (l) { return l.indexOf('data: ') === 0; });",
]

LIST_MODELS_TESTS = [
    *_STATUS_200,
    "pm.test('an OpenAI model list that names the model variable', function () {",
    "    const json = pm.response.json();",
    "    pm.expect(json.object).to.eql('list');",
    "    pm.expect(json.data).to.be.an('array').that.is.not.empty;",
    "    const ids = json.data.map(function (m) { return m.id; });",
    "    pm.expect(ids).to.include(pm.variables.get('model'));",
    "});",
]
CHAT_TESTS = [
    *_STATUS_200,
    *_OPC_REQUEST_ID,
    "pm.test('a chat completion with text and usage', function () {",
    "    const json = pm.response.json();",
    "    pm.expect(json.object).to.eql('chat.completion');",
    "    pm.expect(json.choices[0].message.content).to.be.a('string');",
    "    pm.expect(json.usage.total_tokens).to.be.a('number');",
    "});",
]
CHAT_STREAM_TESTS = [
    *_STATUS_200,
    *_OPC_REQUEST_ID,
    *_SSE_LINES,
    "pm.test('server-sent events that end with data: [DONE]', function () {",
    "    pm.expect(pm.response.headers.get('Content-Type')).to.include('text/event-stream');",
    "    pm.expect(events.length).to.be.above(1);",
    "    pm.expect(sseLines[sseLines.length - 1]).to.eql('data: [DONE]');",
    "});",
    "pm.test('every event is a chat.completion.chunk, and the text arrives', function () {",
    "    let text = '';",
    "    events.slice(0, -1).forEach(function (line) {",
    "        const chunk = JSON.parse(line.slice(6));",
    "        pm.expect(chunk.object).to.eql('chat.completion.chunk');",
    "        if (chunk.choices.length && chunk.choices[0].delta.content) { text += chunk.choices[0].delta.content; }",
    "    });",
    "    pm.expect(text).to.not.be.empty;",
    "});",
]
RESPONSES_TESTS = [
    *_STATUS_200,
    *_OPC_REQUEST_ID,
    "pm.test('a completed response with an output message', function () {",
    "    const json = pm.response.json();",
    "    pm.expect(json.object).to.eql('response');",
    "    pm.expect(json.status).to.eql('completed');",
    "    const message = json.output.find(function (item) { return item.type === 'message'; });",
    "    pm.expect(message, 'an output item of type message').to.be.an('object');",
    "    pm.expect(message.content[0].text).to.be.a('string');",
    "});",
]
RESPONSES_STREAM_TESTS = [
    *_STATUS_200,
    *_OPC_REQUEST_ID,
    *_SSE_LINES,
    "pm.test('typed events that end with response.completed', function () {",
    "    pm.expect(pm.response.headers.get('Content-Type')).to.include('text/event-stream');",
    "    pm.expect(events.length).to.be.above(1);",
    "    pm.expect(pm.response.text()).to.include('response.completed');",
    "    const last = JSON.parse(events[events.length - 1].slice(6));",
    "    pm.expect(last.type).to.eql('response.completed');",
    "    pm.expect(last.response.status).to.eql('completed');",
    "});",
]
EMBEDDINGS_TESTS = [
    *_STATUS_200,
    *_OPC_REQUEST_ID,
    "pm.test('an OpenAI embedding list with one vector per input', function () {",
    "    const json = pm.response.json();",
    "    pm.expect(json.object).to.eql('list');",
    "    pm.expect(json.data).to.have.lengthOf(1);",
    "    pm.expect(json.data[0].object).to.eql('embedding');",
    "    pm.expect(json.data[0].embedding).to.be.an('array').that.is.not.empty;",
    "});",
]


def _request(name: str, method: str, path: str, tests: list[str], body: JSON | None = None) -> JSON:
    request: JSON = {
        "method": method,
        "header": [],
        "url": {"raw": "{{baseUrl}}/" + path, "host": ["{{baseUrl}}"], "path": path.split("/")},
    }
    if body is not None:
        request["header"] = [{"key": "Content-Type", "value": "application/json"}]
        request["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2), "options": {"raw": {"language": "json"}}}
    return {
        "name": name,
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": tests}}],
        "request": request,
    }


def _variable(key: str, value: str, description: str) -> JSON:
    return {"key": key, "value": value, "type": "string", "description": description}


def postman_collection(url: str, model: str, embedding_model: str | None) -> JSON:
    """The collection for the gateway at ``url`` (with or without ``/v1``), calling ``model``."""
    chat: JSON = {"model": "{{model}}", "messages": [{"role": "user", "content": PROMPT}]}
    chat_stream: JSON = {**chat, "stream": True, "stream_options": {"include_usage": True}}
    responses: JSON = {"model": "{{model}}", "input": PROMPT}
    embeddings: JSON = {"model": "{{embeddingModel}}", "input": ["The quick brown fox."]}
    embedding_note = "an embedding model" if embedding_model else "a placeholder: no embedding model is configured"
    return {
        "info": {
            "name": "ocigate",
            "description": (
                "OpenAI-compatible calls to an ocigate gateway in front of Oracle Generative AI. Set apiKey to the "
                "gateway key (OCIGATE_MASTER_KEY; any string when the gateway has none)."
            ),
            "schema": SCHEMA,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}]},
        "variable": [
            _variable("baseUrl", root_of(url) + "/v1", "the gateway's OpenAI base URL"),
            _variable("apiKey", "", "the gateway key (OCIGATE_MASTER_KEY)"),
            _variable("model", model, "a chat model the gateway serves"),
            _variable("embeddingModel", embedding_model or EMBEDDING_PLACEHOLDER, embedding_note),
        ],
        "item": [
            _request("List models", "GET", "models", LIST_MODELS_TESTS),
            _request("Chat", "POST", "chat/completions", CHAT_TESTS, chat),
            _request("Chat (streaming)", "POST", "chat/completions", CHAT_STREAM_TESTS, chat_stream),
            _request("Responses", "POST", "responses", RESPONSES_TESTS, responses),
            _request(
                "Responses (streaming)", "POST", "responses", RESPONSES_STREAM_TESTS, {**responses, "stream": True}
            ),
            {
                "name": "Embeddings (native API)",
                "description": (
                    "Oracle serves embeddings through its native API, not the OpenAI-compatible one: the gateway "
                    "needs a provider of type oci for them (the bundled emulator has one)."
                ),
                "item": [_request("Embeddings", "POST", "embeddings", EMBEDDINGS_TESTS, embeddings)],
            },
        ],
    }


def postman_command(url: str | None, output: str | None, config_file: str | None) -> int:
    settings = load(config_file)
    served = asyncio.run(served_models(settings))
    for note in served.notes:
        print(f"ocigate postman: {note}", file=sys.stderr)
    if not served.chat:
        print("ocigate postman: the gateway serves no chat model with this configuration.", file=sys.stderr)
        return 1
    embedding = served.embeddings[0] if served.embeddings else None
    collection = postman_collection(gateway_root(url, settings), served.chat[0], embedding)
    text = json.dumps(collection, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return 0
    path = Path(output).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"ocigate postman: cannot write {path}: {exc}", file=sys.stderr)
        return 1
    print(
        f"ocigate postman: wrote {path} (model {served.chat[0]}); import it in Postman and set apiKey, "
        f"or run: newman run {path} --env-var apiKey=<gateway key>",
        file=sys.stderr,
    )
    return 0
