"""The layers hold: import-linter's contracts in pyproject.toml, checked in the inner loop as CI's ``lint-imports``
checks them (imports only go down; translate uses no HTTP library; the emulator stands apart)."""

from __future__ import annotations

import pkgutil
import sys
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import ocigate

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def contract(contract_id: str) -> dict[str, object]:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    found: dict[str, object] = next(c for c in contracts if c["id"] == contract_id)
    return found


def test_every_import_contract_is_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # lint_imports puts the working directory on it
    status = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report


def test_the_emulator_contract_names_every_other_package() -> None:
    """A forbidden contract lists what may not be imported, so a new package must join the list: otherwise the
    emulator could import it unnoticed."""
    children = {f"ocigate.{module.name}" for module in pkgutil.iter_modules(ocigate.__path__)}
    allowed = {"ocigate.core", "ocigate.catalog", "ocigate.emulator"}
    forbidden = contract("emulator-apart")["forbidden_modules"]
    assert isinstance(forbidden, list)
    assert children - allowed == set(forbidden), "add the new package to the 'emulator-apart' contract"


def test_only_the_functions_package_may_import_the_fdk() -> None:
    """Oracle's FDK is an optional extra (``ocigate[functions]``): every other package is forbidden it."""
    children = {f"ocigate.{module.name}" for module in pkgutil.iter_modules(ocigate.__path__)}
    sources = contract("fdk-functions-only")["source_modules"]
    assert isinstance(sources, list)
    assert children - {"ocigate.functions"} == set(sources), "add the new package to the 'fdk-functions-only' contract"
