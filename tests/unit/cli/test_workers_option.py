"""``ocigate serve --workers``: a whole number from 1, or ``auto``; anything else is refused with the fix."""

from __future__ import annotations

import os

import pytest

from ocigate.cli.main import build_parser


def test_workers_default_to_one_and_take_a_number_or_auto() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).workers == 1
    assert parser.parse_args(["serve", "--workers", "3"]).workers == 3
    assert parser.parse_args(["serve", "--workers", "auto"]).workers == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", ""])
def test_a_wrong_number_of_workers_is_refused_with_the_fix(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "--workers", value])
    assert exited.value.code == 2
    assert "give a whole number from 1, or auto" in capsys.readouterr().err
