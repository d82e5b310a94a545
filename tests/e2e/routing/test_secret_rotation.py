"""A key's primary secret rejected (rotated away) while its secondary is valid: no request fails, and /readyz,
/metrics and ``ocigate doctor`` name the failing secret, masked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from tests.support.regions import ORD, clear_faults, two_region_config
from tests.support.servers import CHICAGO_KEY, GatewayFactory, ServerThread

ROTATED = "sk-rotated-away-0000-dead"
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def test_a_rotated_secret_fails_no_request(
    tmp_path: Path, region_a: ServerThread, region_b: ServerThread, gateway_factory: GatewayFactory
) -> None:
    clear_faults(region_a, region_b)
    config = two_region_config(tmp_path / "ocigate.yaml", region_a, region_b, a_keys=(ROTATED, CHICAGO_KEY))
    server, _ = gateway_factory({}, config)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
    for index in range(40):
        model = ORD if index % 2 else "gpt-oss"  # half pinned to the region whose key rotated
        if index % 3:
            chunks = list(client.chat.completions.create(model=model, messages=HI, stream=True, max_tokens=16))
            assert any(c.choices and c.choices[0].finish_reason for c in chunks)
        else:
            assert client.chat.completions.create(model=model, messages=HI, max_tokens=16).choices
    secrets = httpx.get(f"{server.url}/readyz").json()["secrets"]["oracle-ord"]
    assert secrets == {"active": "secondary", "failing": ["primary"], "primary": "…dead", "secondary": "…cago"}
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'ocigate_secret_rejections_total{provider="oracle-ord",secret="primary"} 1.0' in metrics

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCI_", "OCIGATE_"))}
    doctor = subprocess.run(
        [sys.executable, "-m", "ocigate", "doctor", "--config", config],
        capture_output=True,
        text=True,
        env=env,
        timeout=50,
    )
    assert "rejected the primary secret" in doctor.stdout and "…dead" in doctor.stdout, doctor.stdout
    assert "OK: provider 'oracle-ord' answered" in doctor.stdout
    assert ROTATED not in doctor.stdout + doctor.stderr
