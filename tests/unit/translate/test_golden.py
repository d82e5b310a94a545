"""Golden fixtures: JSON in, JSON out, compared whole.

Each file under ``golden/<function>/`` holds its inputs and the expected output. After a deliberate change of
behaviour, rewrite the expectations with ``OCIGATE_REGEN_GOLDEN=1 pytest tests/unit/translate/test_golden.py`` and
read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from ocigate.catalog.models import find_model
from ocigate.core.sse import parse_events
from ocigate.translate.responses.output import from_chat_response
from ocigate.translate.responses.request import to_chat_request
from ocigate.translate.responses.stream import ResponsesStreamTranslator
from ocigate.translate.sanitize.chat import sanitize_chat_request

JSON = dict[str, Any]
GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("OCIGATE_REGEN_GOLDEN") == "1"
RESPONSE_ID = "resp_golden"
CREATED_AT = 1_700_000_000
VENDOR_MODELS = (
    "meta.llama-3.3-70b-instruct",
    "openai.gpt-oss-120b",
    "xai.grok-4",
    "xai.grok-3-mini",
    "google.gemini-2.5-pro",
)


def cases(folder: str) -> list[Path]:
    return sorted((GOLDEN / folder).glob("*.json"))


def load(path: Path) -> JSON:
    data: JSON = orjson.loads(path.read_bytes())
    return data


def check(path: Path, case: JSON, key: str, actual: object) -> None:
    actual = orjson.loads(orjson.dumps(actual))  # tuples and other Python-only shapes become JSON
    if REGEN:
        case[key] = actual
        path.write_bytes(orjson.dumps(case, option=orjson.OPT_INDENT_2) + b"\n")
        return
    assert actual == case[key], f"{path.name}: {key} differs (OCIGATE_REGEN_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("path", cases("responses_request"), ids=lambda p: p.stem)
def test_to_chat_request(path: Path) -> None:
    case = load(path)
    check(path, case, "expected", to_chat_request(case["request"], case.get("history")))


@pytest.mark.parametrize("path", cases("responses_output"), ids=lambda p: p.stem)
def test_from_chat_response(path: Path) -> None:
    case = load(path)
    actual = from_chat_response(case["chat"], case["request"], response_id=RESPONSE_ID, created_at=CREATED_AT)
    check(path, case, "expected", actual)


@pytest.mark.parametrize("path", cases("responses_stream"), ids=lambda p: p.stem)
def test_stream_events(path: Path) -> None:
    case = load(path)
    translator = ResponsesStreamTranslator(case["request"], RESPONSE_ID, CREATED_AT)
    frames = translator.start()
    for chunk in case["chunks"]:
        frames += translator.feed(chunk)
    frames += translator.finish()
    events = [{"event": e.event, "data": orjson.loads(e.data)} for e in parse_events(b"".join(frames))]
    assert len(events) == len(frames)
    assert events[-1]["data"]["response"] == translator.final_response()
    check(path, case, "expected_events", events)


@pytest.mark.parametrize("path", cases("sanitize"), ids=lambda p: p.stem)
def test_sanitize(path: Path) -> None:
    case = load(path)
    model = find_model(case["model"]) if case["model"] else None
    check(path, case, "expected", sanitize_chat_request(case["request"], model))


@pytest.mark.parametrize("model_id", VENDOR_MODELS)
def test_sanitize_vscode_agent_request(model_id: str) -> None:
    """A real VS Code agent request (71 tools, tool round trips, copilot_* fields) for each family."""
    request = {**load(GOLDEN / "vscode_agent_request.json"), "model": model_id}
    path = GOLDEN / "sanitize_vscode" / f"{model_id}.json"
    case = {"expected": None} if REGEN else load(path)
    check(path, case, "expected", sanitize_chat_request(request, find_model(model_id)))
