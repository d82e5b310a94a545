"""The promise that the API-key path never imports Oracle's ``oci`` SDK, and the start-up error when a provider needs
it and it is missing: each checked in a fresh Python process, whose imports are its own."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_api_key_path_never_imports_oci() -> None:
    code = """
import asyncio, sys, tempfile
from ocigate.app.runtime import create_app
from ocigate.config.settings import load_settings
env = {"ORACLE_API_KEY": "sk-x", "ORACLE_BASE_URL": "http://127.0.0.1:9/20231130/actions/v1",
       "ORACLE_MODELS": "xai.grok-3", "OCIGATE_DATA_DIR": tempfile.mkdtemp(), "OCIGATE_NO_ACCESS_LOG": "1"}
app = create_app(load_settings(env))
async def main():
    await app.runtime.start()
    await app.runtime.discovery
    await app.runtime.stop()
asyncio.run(main())
print("oci" in sys.modules, any(m.startswith("oci.") for m in sys.modules))
"""
    assert _python(code).split() == ["False", "False"]
    timing = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ocigate", "--version"], capture_output=True, text=True, timeout=60
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in timing.stderr.splitlines() if "|" in line}
    assert "oci" not in imported and timing.stdout.startswith("ocigate ")


def test_missing_sdk_is_a_start_up_error_naming_the_install() -> None:
    code = """
import sys
sys.modules["oci"] = None  # as if the oci extra were not installed
from ocigate.providers.oracle.checks import check_provider
from ocigate.config.settings import ProviderConfig
config = ProviderConfig("oci", type="oci", base_url="https://x", auth="user_principal")
print([d.message for d in check_provider(config) if d.level == "error"])
"""
    assert "pip install 'ocigate[oci]'" in _python(code)
