"""Golden files: ``tests/native/golden/<kind>/<case>.json`` hold a translation's input and its expected output.

``OCIGATE_UPDATE_GOLDEN=1 pytest tests/native`` rewrites the expected outputs from the code; review the diff before
keeping it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def cases(kind: str) -> list[Path]:
    return sorted((GOLDEN / kind).glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def check(path: Path, case: dict[str, Any], actual: object) -> None:
    if os.environ.get("OCIGATE_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps({**case, "expected": actual}, indent=2, ensure_ascii=False) + "\n")
        return
    assert "expected" in case, f"{path.name} has no expected output: run with OCIGATE_UPDATE_GOLDEN=1 and review"
    assert actual == case["expected"], f"{path.name}: translation differs from the golden file"
