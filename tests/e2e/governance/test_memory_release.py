"""What a request takes is given back however it ends, and client-chosen values do not become state (issue 15):
streams a client leaves free their key's concurrency slot; model names nobody serves add no metrics series and
no routes; wrong keys leave the key cache at what one TTL holds."""

from __future__ import annotations

import re
import secrets
import time

import httpx

from ocigate.emulator import EmulatorConfig
from tests.support.governance import MASTER, MODEL, Admin, chat, gateway_env
from tests.support.servers import start_emulator, start_gateway

STREAM = {"model": MODEL, "stream": True, "max_tokens": 4000, "messages": [{"role": "user", "content": "Count"}]}


def _model_labels(metrics: str) -> set[str]:
    return set(re.findall(r'model="([^"]*)"', metrics))


def _leave_a_stream(url: str, secret: str) -> None:
    with httpx.stream(
        "POST", f"{url}/v1/chat/completions", json=STREAM, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as response:
        assert response.status_code == 200
        for _ in response.iter_bytes():
            break  # the first bytes, then the client goes away mid-stream


def test_streams_left_mid_way_give_back_their_concurrency_slot() -> None:
    slow = start_emulator(EmulatorConfig(stream_delay_s=0.05))
    server, app = start_gateway(gateway_env(slow))
    admin = Admin(server.url)
    secret = admin.create(max_concurrent=1)["secret"]
    try:
        for _ in range(10):
            _leave_a_stream(server.url, secret)
            deadline = time.monotonic() + 5
            while app.runtime.governance.limiter.leased:  # the slot comes back once the gateway sees the client gone
                assert time.monotonic() < deadline, "a left stream kept its concurrency lease"
                time.sleep(0.02)
        assert chat(admin.client(secret)).choices  # the key's only slot is free
    finally:
        server.stop()
        slow.stop()


def test_unknown_model_names_and_wrong_keys_leave_no_state() -> None:
    upstream = start_emulator()
    server, app = start_gateway(gateway_env(upstream))
    try:
        models = _model_labels(httpx.get(f"{server.url}/metrics").text)
        routes = len(app.runtime.routes.router.routes)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for n in range(200):
                reply = http.post(
                    "/v1/chat/completions",
                    json={"model": f"no-such-model-{n}", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"Authorization": f"Bearer {MASTER}"},
                )
                assert reply.status_code == 404
                wrong = http.post(
                    "/v1/chat/completions",
                    json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
                    headers={"Authorization": f"Bearer ogk-{secrets.token_urlsafe(32)}"},
                )
                assert wrong.status_code == 401
        assert _model_labels(httpx.get(f"{server.url}/metrics").text) <= {*models, "other"}
        assert len(app.runtime.routes.router.routes) == routes
        assert app.runtime.governance.cache.size[1] < 200  # only the last TTL's wrong keys are remembered
    finally:
        server.stop()
        upstream.stop()
