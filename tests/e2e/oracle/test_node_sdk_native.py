"""The OpenAI Node SDK conformance suite (tests/e2e/clients/node/conformance.mjs) against Cohere and the other
families on Oracle's native API, signed with a user principal: chat, streams, tools over two turns, structured output,
the Responses API (translated over chat) and typed errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ocigate.app.runtime import Gateway
from tests.support.servers import ServerThread

NATIVE_MODELS = "cohere.command-r-08-2024,cohere.command-a-03-2025,meta.llama-3.3-70b-instruct,openai.gpt-oss-120b"


def test_the_openai_node_sdk_conforms_on_the_native_api(
    node_dir: Path,
    iam_gateway: tuple[ServerThread, Gateway],
) -> None:
    node = shutil.which("node")
    assert node is not None
    server, _ = iam_gateway
    env = {**os.environ, "OCIGATE_URL": server.url, "OCIGATE_KEY": "gw-key", "MODELS": NATIVE_MODELS}
    result = subprocess.run(
        [node, str(node_dir / "conformance.mjs")], env=env, capture_output=True, text=True, timeout=120
    )
    output = f"conformance.mjs exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    summary = re.search(r"^(\d+) passed, (\d+) failed$", result.stdout, re.MULTILINE)
    assert summary is not None and int(summary.group(1)) >= 20 and summary.group(2) == "0", output
