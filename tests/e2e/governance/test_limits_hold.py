"""A key's tokens-per-minute reservation counts the output the upstream will be asked for, whichever of the output
limit fields carries it: a client cannot reserve one token while the upstream is asked for 2,500."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ocigate.app.runtime import Gateway
from ocigate.catalog.models import find_model
from ocigate.governance.service import DEFAULT_MAX_OUTPUT, output_cap
from tests.support.governance import Admin
from tests.support.servers import ServerThread

pytestmark = pytest.mark.e2e


def test_concurrent_streams_reserve_what_the_upstream_is_asked_for(
    emulator: ServerThread, governed: tuple[ServerThread, Gateway, Admin]
) -> None:
    server, _, admin = governed
    secret = admin.create(tpm=3000)["secret"]
    body = {
        "model": "xai.grok-4",
        "stream": True,
        "max_tokens": 2500,
        "max_completion_tokens": 1,
        "messages": [{"role": "user", "content": "Write a long story."}],
    }
    # The upstream holds each admitted request for a while, so that no reservation is settled while the others
    # arrive: the ten are decided against each other's reservations.
    httpx.post(f"{emulator.url}/_emulator/faults", json={"delay_ms": 1500, "count": 10}).raise_for_status()

    def send(_: int) -> int:
        with httpx.stream(
            "POST",
            f"{server.url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=15,
        ) as response:
            response.read()
            return response.status_code

    try:
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(send, range(10)))
    finally:
        httpx.delete(f"{emulator.url}/_emulator/faults").raise_for_status()
    assert statuses.count(200) == 1, statuses
    assert statuses.count(429) == 9


def test_the_output_cap_is_the_largest_field_within_the_models_maximum() -> None:
    grok = find_model("xai.grok-4")
    assert grok is not None
    assert output_cap({"max_tokens": 2500, "max_completion_tokens": 1}, grok) == 2500
    assert output_cap({"max_output_tokens": 700}, None) == 700
    assert output_cap({"max_tokens": 10**9}, grok) == grok.max_output_tokens
    assert output_cap({"max_tokens": True, "max_completion_tokens": -5}, None) == DEFAULT_MAX_OUTPUT
    assert output_cap({}, None) == DEFAULT_MAX_OUTPUT
