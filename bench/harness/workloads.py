"""What the loads send, and the checks an answer must pass before its kind of request may be measured: a proxy
answering quickly but wrongly fails instead of scoring."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from harness.layout import HOST

JSON = dict[str, Any]

# A non-reasoning model: its 14-word reply streams as 17 SSE events (role, one per word, finish, [DONE]).
# It has no /responses at Oracle, so the gateway serves the Responses API for it over Chat Completions.
MODEL = "meta.llama-3.3-70b-instruct"
PROMPT = "Say hello in one sentence."
BODY: JSON = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64}
STREAM_BODY: JSON = {**BODY, "stream": True}
RESPONSES_PATH = "/v1/responses"
RESPONSES_BODY: JSON = {"model": MODEL, "input": PROMPT, "max_output_tokens": 64}


def post(port: int, path: str, body: JSON, key: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get(port: int, path: str, key: str) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def sse_events(stream: bytes) -> list[tuple[str, bytes]]:
    """The ``(event, data)`` pairs of an SSE body (``event`` empty when a block names none)."""
    found: list[tuple[str, bytes]] = []
    for block in stream.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = "", b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data = line[5:].strip()
        if data:
            found.append((name, data))
    return found


def check_chat(name: str, port: int, path: str, key: str) -> JSON:
    """One non-streaming and one streaming chat completion: a ``choices`` array; a stream ending in [DONE]."""
    status, data = post(port, path, BODY, key)
    reply = json.loads(data) if status == 200 else None
    if not reply or not reply.get("choices"):
        raise RuntimeError(f"{name}: non-streaming check failed: {status} {data[:300]!r}")
    status, stream = post(port, path, STREAM_BODY, key)
    events = [line for line in stream.split(b"\n") if line.startswith(b"data:")]
    if status != 200 or not events or events[-1].strip() != b"data: [DONE]":
        raise RuntimeError(f"{name}: streaming check failed: {status} {stream[-300:]!r}")
    return {
        "nonstream_bytes": len(data),
        "stream_bytes": len(stream),
        "stream_events": len(events),
        "content": reply["choices"][0].get("message", {}).get("content"),
    }


def check_responses(name: str, port: int, key: str, body: JSON) -> JSON:
    """One non-streaming and one streaming Responses call with ``body``: a completed response with output text;
    a stream ending in ``response.completed``. With storing on, the response must then be readable back
    (``GET /v1/responses/{id}``): the gateway logs a failed save but still answers, so only this shows it."""
    status, data = post(port, RESPONSES_PATH, body, key)
    reply = json.loads(data) if status == 200 else None
    text = _output_text(reply) if isinstance(reply, dict) else ""
    if not isinstance(reply, dict) or reply.get("status") != "completed" or not text:
        raise RuntimeError(f"{name}: Responses check failed: {status} {data[:300]!r}")
    stored = body.get("store") is not False
    if reply.get("store") is not stored:
        raise RuntimeError(f"{name}: Responses check failed: 'store' is {reply.get('store')!r}, sent {stored}")
    if stored:
        read, saved = get(port, f"{RESPONSES_PATH}/{reply['id']}", key)
        if read != 200 or json.loads(saved).get("id") != reply["id"]:
            raise RuntimeError(f"{name}: a stored response could not be read back: {read} {saved[:300]!r}")
    status, stream = post(port, RESPONSES_PATH, {**body, "stream": True}, key)
    events = sse_events(stream)
    last = json.loads(events[-1][1]) if events else {}
    if status != 200 or last.get("type") != "response.completed" or not _output_text(last.get("response") or {}):
        raise RuntimeError(f"{name}: Responses streaming check failed: {status} {stream[-300:]!r}")
    return {
        "nonstream_bytes": len(data),
        "stream_bytes": len(stream),
        "stream_events": len(events),
        "content": text,
        "store": stored,
    }


def _output_text(response: JSON) -> str:
    parts = [
        part.get("text") or ""
        for item in response.get("output") or []
        if isinstance(item, dict) and item.get("type") == "message"
        for part in item.get("content") or []
        if isinstance(part, dict) and part.get("type") == "output_text"
    ]
    return "".join(parts)
