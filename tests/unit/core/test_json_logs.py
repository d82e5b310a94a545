"""``OCIGATE_LOG_FORMAT=json``: every application line and access line is one JSON object, secrets redacted, with
the trace id when tracing is on."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from ocigate.core.asgi import Request
from ocigate.core.logs import JsonFormatter, setup_logging, use_trace_ids
from ocigate.core.notes import AccessNote
from ocigate.observe.access import AccessLog

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture
def no_trace_ids() -> Iterator[None]:
    use_trace_ids(None)
    yield
    use_trace_ids(None)


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("ocigate.test", logging.WARNING, __file__, 1, message, args, info)


def test_an_application_line_is_one_json_object_with_its_secrets_redacted(no_trace_ids: None) -> None:
    try:
        raise RuntimeError(f"upstream said: Authorization: Bearer {SECRET}")
    except RuntimeError as exc:
        line = JsonFormatter().format(record("sent %s to %s", f'{{"api_key": "{SECRET}"}}', "oracle", exc=exc))
    assert "\n" not in line and SECRET not in line
    entry = orjson.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "ocigate.test"
    assert entry["time"].endswith("Z") and entry["time"][10] == "T"
    assert entry["message"] == 'sent {"api_key": "[redacted]"} to oracle'
    assert "Bearer [redacted]" in entry["exception"] and "RuntimeError" in entry["exception"]
    assert "trace_id" not in entry


def test_a_line_written_inside_a_span_carries_its_ids(no_trace_ids: None) -> None:
    use_trace_ids(lambda: ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
    entry = orjson.loads(JsonFormatter().format(record("hello")))
    assert (entry["trace_id"], entry["span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")


def test_setup_logging_installs_the_json_formatter(no_trace_ids: None, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info", "json")
    try:
        logging.getLogger("ocigate.test").warning("x-api-key: %s", SECRET)
        logging.getLogger("uvicorn.error").error("uvicorn says hi")
    finally:
        setup_logging("info")
    lines = capsys.readouterr().err.splitlines()
    entries = [orjson.loads(line) for line in lines]
    assert [e["message"] for e in entries] == ["x-api-key: [redacted]", "uvicorn says hi"]


def request() -> Request:
    scope = {"method": "POST", "path": "/v1/chat/completions", "headers": []}

    async def receive() -> dict[str, object]:
        return {}

    made = Request(scope, receive)
    made.note = AccessNote(
        model="gpt", provider="oracle", deployment="oracle/gpt", attempts="2", key="ogk-abcdefgh…", stream=True
    )
    return made


def flushed(log: AccessLog, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    log.flush()
    return out.getvalue().splitlines()


def test_an_access_line_in_json_has_the_text_lines_fields(no_trace_ids: None, monkeypatch: pytest.MonkeyPatch) -> None:
    text, json = AccessLog(), AccessLog(json=True)
    made = request()
    text.answer(made, 200)
    json.answer(made, 200)
    [plain] = flushed(text, monkeypatch)
    [line] = flushed(json, monkeypatch)
    entry = orjson.loads(line)
    assert entry["logger"] == "ocigate.observe.access" and entry["level"] == "INFO"
    fields = {k: v for k, v in entry.items() if k not in ("time", "level", "logger")}
    assert fields == fields | {
        "request_id": made.id,
        "key": "ogk-abcdefgh…",
        "method": "POST",
        "path": "/v1/chat/completions",
        "model": "gpt",
        "provider": "oracle",
        "deployment": "oracle/gpt",
        "attempts": 2,
        "stream": "yes",
        "status": 200,
        "opc-request-id": "-",
    }
    assert isinstance(fields["ms"], float)
    # the same fields, in the same order, as the text line
    assert [part.split("=", 1)[0] for part in plain.split(" ")[4:]] == list(fields)


def test_with_tracing_on_each_access_line_has_its_trace_id(no_trace_ids: None, monkeypatch: pytest.MonkeyPatch) -> None:
    use_trace_ids(lambda: ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
    text, json = AccessLog(), AccessLog(json=True)
    text.traced = json.traced = True
    text.answer(request(), 200)
    json.answer(request(), 200)
    [plain] = flushed(text, monkeypatch)
    [line] = flushed(json, monkeypatch)
    assert plain.endswith(" trace_id=4bf92f3577b34da6a3ce929d0e0e4736")
    assert orjson.loads(line)["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
