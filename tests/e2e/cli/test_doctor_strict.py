"""``ocigate doctor`` reports a configuration that is not what the operator meant, and exits non-zero; and it says
plainly when a key's only secret was rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.servers import ServerThread

from .helpers import clean_env, ocigate

pytestmark = pytest.mark.e2e


def test_a_misspelt_top_level_key_fails_the_doctor(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text("provider:\n  oracle: {region: us-chicago-1, api_key: sk-x, models: [m]}\n", encoding="utf-8")
    result = ocigate("doctor", "--offline", "--config", str(config))
    assert result.returncode == 2
    assert f"ERROR: {config}:1:1: unknown setting 'provider' at the top level; did you mean 'providers'?" in (
        result.stdout
    )
    assert "no problems found" not in result.stdout.lower()


def test_a_misspelt_field_is_not_reported_as_an_empty_key(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text("providers:\n  oracle:\n    region: us-chicago-1\n    api_kye: sk-x\n", encoding="utf-8")
    result = ocigate("doctor", "--offline", "--config", str(config))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"ERROR: {config}:4:5: unknown setting 'api_kye' in providers.oracle; did you mean 'api_key'?",
        "Fix the configuration first: nothing else was checked, and `ocigate serve` would not start.",
    ]


def test_a_misspelt_region_fails_the_doctor() -> None:
    result = ocigate("doctor", "--offline", env=clean_env(ORACLE_REGION="us-chicgo-1", ORACLE_API_KEY="sk-x"))
    assert result.returncode == 2
    assert "ERROR: ORACLE_REGION: 'us-chicgo-1' is not a region where Oracle offers Generative AI; did you mean " in (
        result.stdout
    )


def test_one_rejected_secret_is_not_said_to_serve(emulator: ServerThread) -> None:
    env = clean_env(
        ORACLE_BASE_URL=f"{emulator.url}/20231130/actions/v1",
        ORACLE_API_KEY="sk-rejected-by-oracle-0042",
        ORACLE_MODELS="xai.grok-3",
    )
    result = ocigate("doctor", env=env)
    assert result.returncode == 1
    assert "secret serves" not in result.stdout
    assert (
        "ERROR: provider 'oracle': Oracle rejected the primary secret of its API key (…0042) and no second secret is "
        "configured: set api_key to one of the key's two secrets (sk-...)." in result.stdout
    )
    assert "sk-rejected-by-oracle-0042" not in result.stdout + result.stderr
