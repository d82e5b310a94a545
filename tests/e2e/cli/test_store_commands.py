"""``ocigate keys`` and ``ocigate usage`` say which store they use, and the commands that only read it (or change
existing keys) refuse one that does not exist, rather than create an empty ``./data`` and show nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import clean_env, ocigate

pytestmark = pytest.mark.e2e


def _env(**extra: str) -> dict[str, str]:
    """Without OCIGATE_DATA_DIR unless given: the default, ./data, relative to where the command runs."""
    env = clean_env()
    del env["OCIGATE_DATA_DIR"]
    return {**env, **extra}


@pytest.mark.parametrize(
    "args", [("keys", "list"), ("usage",), ("keys", "revoke", "key_x"), ("keys", "rotate", "key_x")]
)
def test_from_another_folder_nothing_is_created_and_the_fix_is_named(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = ocigate(*args, env=_env(), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    name = " ".join(args[:2]) if args[0] == "keys" else "usage"
    assert result.stderr.splitlines() == [
        f"ocigate {name}: no gateway store at {tmp_path / 'data' / 'ocigate.db'} (OCIGATE_DATA_DIR is relative to "
        f"the current folder, {tmp_path}): run the command from the gateway's folder, or set OCIGATE_DATA_DIR (or "
        "OCIGATE_DATABASE_URL) to the gateway's store."
    ]
    assert list(tmp_path.iterdir()) == []


def test_the_store_is_named_and_found_by_its_variable(tmp_path: Path) -> None:
    gateway = tmp_path / "gateway"
    gateway.mkdir()
    created = ocigate("keys", "create", "ci", "--team", "platform", env=_env(), cwd=gateway)
    assert created.returncode == 0, created.stderr
    store = gateway / "data" / "ocigate.db"
    assert f"ocigate keys create: store {store} (new)" in created.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = ocigate("keys", "list", env=_env(OCIGATE_DATA_DIR=str(gateway / "data")), cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr.splitlines() == [f"ocigate keys list: store {store}"]
    assert "platform" in listed.stdout
    usage = ocigate("usage", env=_env(OCIGATE_DATA_DIR=str(gateway / "data")), cwd=elsewhere)
    assert usage.returncode == 0 and usage.stderr.splitlines() == [f"ocigate usage: store {store}"]
    assert list(elsewhere.iterdir()) == []


def test_a_postgres_url_is_shown_without_its_password() -> None:
    url = "postgresql://postgres:s3cret-pw@127.0.0.1:5432/ocigate_no_such_database"
    result = ocigate("keys", "list", env=_env(OCIGATE_DATABASE_URL=url))
    assert result.returncode == 1 and "s3cret-pw" not in result.stderr
    assert result.stderr.startswith(
        "ocigate keys list: cannot open the store postgresql+asyncpg://postgres:***@127.0.0.1:5432/"
        "ocigate_no_such_database:"
    )
