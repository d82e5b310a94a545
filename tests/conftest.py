"""Fixtures that unit and end-to-end tests share; the servers are in tests/e2e/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.iam import Principals, make_principals, write_oci_dir


@pytest.fixture(scope="session")
def principals() -> Principals:
    return make_principals()


@pytest.fixture(scope="session")
def oci_dir(principals: Principals, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``~/.oci`` with a config file of four profiles (tests/support/iam.py)."""
    return write_oci_dir(principals, tmp_path_factory.mktemp("dot-oci"))
