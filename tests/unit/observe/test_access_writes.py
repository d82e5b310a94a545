"""The access log's writes: whole lines, none larger than a pipe takes whole, so that the workers of
``serve --workers N``, sharing one stderr, never cut each other's lines."""

from __future__ import annotations

import pytest

from ocigate.observe.access import PIPE_BUF, AccessLog


class Recorder:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


class Utf8Recorder(Recorder):
    encoding = "utf-8"


@pytest.mark.parametrize(
    "extra",
    [
        "",
        # A team key's name takes 3 bytes for its last character: before, writes were cut at 4,096 characters, and
        # a batch of such lines reached the pipe in writes of more than 4,096 bytes.
        "key=ogk-AbCdEfGh… model=modèle-ü ",
    ],
    ids=["ascii", "beyond-ascii"],
)
def test_a_large_batch_is_written_in_whole_lines_of_at_most_pipe_buf(
    monkeypatch: pytest.MonkeyPatch, extra: str
) -> None:
    recorder = Utf8Recorder()
    monkeypatch.setattr("sys.stderr", recorder)
    log = AccessLog()
    for n in range(200):
        log.record(f"request_id={n:016x} {extra}method=POST path=/v1/chat/completions status=200")
    log.flush()
    assert len(recorder.writes) > 1
    assert all(len(text.encode("utf-8")) <= PIPE_BUF and text.endswith("\n") for text in recorder.writes)
    lines = "".join(recorder.writes).splitlines()
    assert [line.rsplit("request_id=", 1)[1][:16] for line in lines] == [f"{n:016x}" for n in range(200)]


def test_a_small_batch_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr("sys.stderr", recorder)
    log = AccessLog()
    log.record("request_id=1 status=200")
    log.record("request_id=2 status=200")
    log.flush()
    assert len(recorder.writes) == 1 and recorder.writes[0].count("\n") == 2


def test_a_small_batch_beyond_ascii_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Utf8Recorder()
    monkeypatch.setattr("sys.stderr", recorder)
    log = AccessLog()
    log.record("request_id=1 key=ogk-AbCdEfGh… status=200")
    log.flush()
    assert recorder.writes == [recorder.writes[0]] and "…" in recorder.writes[0]
