"""The OpenAI Node SDK conformance suite (tests/e2e/clients/node/conformance.mjs) against a real gateway."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.servers import ServerThread

CONFORMANCE_MODELS = "openai.gpt-oss-120b,xai.grok-3,meta.llama-3.3-70b-instruct,google.gemini-2.5-flash"


def test_the_openai_node_sdk_conforms(node_dir: Path, gateway: ServerThread) -> None:
    node = shutil.which("node")
    assert node is not None
    env = {
        **os.environ,
        "OCIGATE_URL": gateway.url,
        "OCIGATE_KEY": "gw-master-key",
        "MODELS": CONFORMANCE_MODELS,
    }
    result = subprocess.run(
        [node, str(node_dir / "conformance.mjs")], env=env, capture_output=True, text=True, timeout=120
    )
    output = f"conformance.mjs exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    summary = re.search(r"^(\d+) passed, (\d+) failed", result.stdout, re.MULTILINE)
    assert summary is not None, output
    assert int(summary.group(1)) >= 20 and summary.group(2) == "0", output
    assert not re.search(r"^\d+ passed, \d+ failed, \d+ skipped", result.stdout, re.MULTILINE), output
