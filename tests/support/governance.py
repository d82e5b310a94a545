"""A governed gateway's settings (a master key in front of the emulator), and helpers to create virtual keys through
/admin and to chat with them; and usage records as metering writes them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import openai

from ocigate.governance.usage import UsageRecord
from tests.support.servers import ServerThread

MASTER = "gw-governance-master"
MODEL = "openai.gpt-oss-120b"
MODELS = "openai.gpt-oss-120b,xai.grok-4,cohere.embed-v4.0"


def gateway_env(emulator: ServerThread, **extra: str) -> dict[str, str]:
    return {
        "ORACLE_BASE_URL": f"{emulator.url}/20231130/actions/v1",
        "ORACLE_API_KEY": "sk-emulator-chicago",
        "ORACLE_REGION": "us-chicago-1",
        "ORACLE_MODELS": MODELS,
        "OCIGATE_MASTER_KEY": MASTER,
        "OCIGATE_DISCOVERY_INTERVAL": "0",
        **extra,
    }


class Admin:
    def __init__(self, url: str, key: str = MASTER) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)

    def create(self, **fields: Any) -> dict[str, Any]:
        reply = self.http.post("/admin/keys", json={"name": "team-key", **fields})
        assert reply.status_code == 201, reply.text
        data: dict[str, Any] = reply.json()
        return data

    def client(self, secret: str, **options: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=secret, max_retries=0, **options)


Chat = Callable[[openai.OpenAI], Any]


def chat(client: openai.OpenAI, model: str = MODEL, **options: Any) -> Any:
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello"}], max_tokens=16, **options
    )


def usage_record(n: int = 0, **fields: object) -> UsageRecord:
    """A usage record of request ``n`` (a 200 from xai.grok-4 by default), with ``fields`` changed."""
    values: dict[str, object] = {
        "created_at": time.time(),
        "request_id": f"req_{n}",
        "model": "xai.grok-4",
        "provider": "oracle",
        "endpoint": "chat",
        "status": 200,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "latency_ms": 100.0,
        "cost_usd": 0.001,
    }
    values.update(fields)
    return UsageRecord(**values)  # type: ignore[arg-type]
