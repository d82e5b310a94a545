"""``ocigate serve`` on a configuration that is not what the operator meant: exit 2 at once, one line per error with
its file, line and fix on stderr, and never the emulator's invented answers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .helpers import clean_env, ocigate

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = ocigate("serve", "--port", str(_free_port()), *args, env=env)
    assert result.stdout == ""
    assert "serving" not in result.stderr and "Traceback" not in result.stderr
    return result.returncode, result.stderr.splitlines()


def test_a_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "ocigate.yaml"
    status, lines = _serve("--config", str(missing))
    assert status == 2
    assert lines == [
        f"ocigate serve: {missing}: the config file (--config or OCIGATE_CONFIG) does not exist: give the right path, "
        "or neither to configure by environment variables alone."
    ]
    status, by_env = _serve(env=clean_env(OCIGATE_CONFIG=str(missing)))
    assert status == 2 and by_env == lines


def test_a_config_file_that_is_not_yaml(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text("providers:\n  oracle:\n    region: us-chicago-1\n\tapi_key: sk-x\n", encoding="utf-8")
    status, (line,) = _serve("--config", str(config))
    assert status == 2
    assert line.startswith(f"ocigate serve: {config}:4:1: not valid YAML: found character '\\t'")
    assert "<unicode string>" not in line and "spaces, not tabs" in line


def test_unknown_keys_are_named_with_their_place_and_the_nearest_key(tmp_path: Path) -> None:
    config = tmp_path / "ocigate.yaml"
    config.write_text(
        "provider:\n  oracle:\n    region: us-chicago-1\n    api_key: sk-x\nrouting:\n  retries: {max_atempts: 2}\n",
        encoding="utf-8",
    )
    status, lines = _serve("--config", str(config))
    assert status == 2
    assert lines == [
        f"ocigate serve: {config}:1:1: unknown setting 'provider' at the top level; did you mean 'providers'?",
        f"ocigate serve: {config}:6:13: unknown setting 'max_atempts' in routing.retries; did you mean 'max_attempts'?",
        f"ocigate serve: {config}: the config file configures no provider, and the bundled emulator never stands in "
        "for a configuration: add a providers: block (or ORACLE_* variables), or serve the emulator with --emulator.",
    ]


def test_a_misspelt_region_names_the_nearest_regions() -> None:
    status, lines = _serve(env=clean_env(ORACLE_REGION="eu-frankfrt-1", ORACLE_API_KEY="sk-x", ORACLE_MODELS="m"))
    assert status == 2
    assert lines == [
        "ocigate serve: ORACLE_REGION: 'eu-frankfrt-1' is not a region where Oracle offers Generative AI; did you "
        "mean eu-frankfurt-1 or eu-frankfurt-2?"
    ]
