"""Anthropic's Messages API (``/v1/messages``) beside ``/v1/chat/completions`` on the same model and gateway process.

The gateway translates each Messages request to a chat completion and the answer (or the stream, event by event)
back. The same three loads as the chat path run right after the gateway's chat loads (latency at one connection,
throughput at 32, plain and streaming), so the ratios compare like with like; and the translation alone is timed
in-process (CPU time per request: request, answer, and a 14-word stream), the part of the request it costs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.layout import HOST, log
from harness.loads import LoadRunner
from harness.targets import Server
from harness.workloads import JSON, MODEL, PROMPT, post, sse_events
from harness.wrk import WrkRun, lua_script

MESSAGES_PATH = "/v1/messages"
MESSAGES_BODY: JSON = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}]}
PREFIX = "messages-"


def check_messages(name: str, port: int, key: str) -> JSON:
    """One message and one stream: a ``message`` with text; a stream from message_start to message_stop."""
    status, data = post(port, MESSAGES_PATH, MESSAGES_BODY, key)
    reply = json.loads(data) if status == 200 else None
    text = [b.get("text") for b in reply.get("content", []) if b.get("type") == "text"] if reply else []
    if not isinstance(reply, dict) or reply.get("type") != "message" or not text:
        raise RuntimeError(f"{name}: Messages check failed: {status} {data[:300]!r}")
    status, stream = post(port, MESSAGES_PATH, {**MESSAGES_BODY, "stream": True}, key)
    events = sse_events(stream)
    if status != 200 or not events or events[0][0] != "message_start" or events[-1][0] != "message_stop":
        raise RuntimeError(f"{name}: Messages streaming check failed: {status} {stream[-300:]!r}")
    return {"nonstream_bytes": len(data), "stream_bytes": len(stream), "stream_events": len(events)}


def measure_messages(
    runner: LoadRunner, server: Server, port: int, warmup: float, runs: dict[str, WrkRun], sanity: dict[str, Any]
) -> list[tuple[str, str, Path]]:
    """Check and measure ``/v1/messages`` into ``runs`` (``messages-<load>``) and ``sanity``; the loads worth
    profiling."""
    url = f"http://{HOST}:{port}{MESSAGES_PATH}"
    sanity.update(check_messages(server.name, port, server.key))
    plain = lua_script(f"{server.name}-messages-plain", MESSAGES_BODY, server.key)
    stream = lua_script(f"{server.name}-messages-stream", {**MESSAGES_BODY, "stream": True}, server.key)
    log(f"{server.name}: warming up /v1/messages")
    runner.warm_up("messages-plain", url, plain, warmup)
    runner.warm_up("messages-stream", url, stream, max(1.0, warmup / 2))
    for load, script, conns, expected in (
        ("latency", plain, 1, sanity["nonstream_bytes"]),
        ("nonstream", plain, 32, sanity["nonstream_bytes"]),
        ("stream", stream, 32, sanity["stream_bytes"]),
    ):
        runs[PREFIX + load] = runner.load(PREFIX + load, url, script, conns, expected)
    return [("messages-nonstream", url, plain), ("messages-stream", url, stream)]


def translation_cost(quick: bool) -> dict[str, float]:
    """CPU microseconds per request of the translation alone (no HTTP): the request to chat, the chat answer
    back, and a 14-word chat stream to Anthropic's events; the median of five rounds."""
    from ocigate.translate.anthropic.request import to_chat_request
    from ocigate.translate.anthropic.response import from_chat_response
    from ocigate.translate.anthropic.stream import MessagesStreamTranslator

    words = "Hello there, this is one sentence of fourteen words from the emulator for you.".split()
    answer: JSON = {
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": " ".join(words)}}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 14},
    }
    chunks: list[JSON] = [
        {"choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]} for word in words
    ]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": answer["usage"]})

    def streamed() -> None:
        translator = MessagesStreamTranslator(MESSAGES_BODY, "msg_bench", 12)
        out = translator.start()
        for chunk in chunks:
            out += translator.feed(chunk)
        out += translator.finish()

    steps = {
        "request_us": lambda: to_chat_request(MESSAGES_BODY),
        "answer_us": lambda: from_chat_response(answer, MESSAGES_BODY, "msg_bench"),
        "stream_us": streamed,
    }
    count = 2_000 if quick else 20_000
    figures: dict[str, float] = {}
    for name, step in steps.items():
        rounds = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(count):
                step()
            rounds.append((time.process_time() - started) / count * 1e6)
        figures[name] = sorted(rounds)[2]
    return figures
