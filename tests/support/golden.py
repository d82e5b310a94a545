"""Golden files: ``<folder>/<case>.json`` hold a translation's input and its expected output (the native
translations' are in tests/unit/translate/oracle/golden/<kind>/).

``OCIGATE_UPDATE_GOLDEN=1 pytest tests/unit/translate/oracle`` rewrites the expected outputs from the code; review the
diff before keeping it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def cases(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def check(path: Path, case: dict[str, Any], actual: object) -> None:
    if os.environ.get("OCIGATE_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps({**case, "expected": actual}, indent=2, ensure_ascii=False) + "\n")
        return
    assert "expected" in case, f"{path.name} has no expected output: run with OCIGATE_UPDATE_GOLDEN=1 and review"
    assert actual == case["expected"], f"{path.name}: translation differs from the golden file"
