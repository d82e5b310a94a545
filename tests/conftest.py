"""Fixtures that unit and end-to-end tests share (the servers are in tests/e2e/conftest.py), and the inner loop's
shortcut past tests/e2e."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.iam import Principals, make_principals, write_oci_dir

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # tests/e2e/conftest.py marks every test below it e2e, so `-m "not e2e"` (the inner loop) would deselect them
    # all: not importing them saves a third of the loop's time. Any other -m expression collects them as usual.
    if collection_path == E2E_DIR and " ".join(config.getoption("markexpr").split()) == "not e2e":
        return True
    return None


@pytest.fixture(scope="session")
def principals() -> Principals:
    return make_principals()


@pytest.fixture(scope="session")
def oci_dir(principals: Principals, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``~/.oci`` with a config file of four profiles (tests/support/iam.py)."""
    return write_oci_dir(principals, tmp_path_factory.mktemp("dot-oci"))
