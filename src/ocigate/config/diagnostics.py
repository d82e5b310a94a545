"""A problem found in the configuration, as start-up, ``ocigate serve`` and ``ocigate doctor`` report it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One sentence that says what is wrong and how to fix it.

    Found while reading the settings (:func:`~ocigate.config.settings.load_settings`), an "error" means the
    configuration as written is not what the operator meant (a missing file, YAML that does not parse, an unknown
    key, an unknown region, a value out of range): the gateway refuses to start. Found by the provider checks
    (``providers/oracle/checks.py``), an "error" keeps that provider out of service. A "warning" never blocks.
    A problem in the config file starts with its place, ``file:line:column:``."""

    level: str  # "error" or "warning"
    provider: str | None
    message: str


def nearest_names(value: str, known: Iterable[str], count: int = 3) -> list[str]:
    """The known names closest to a misspelt ``value``, best first; none when nothing is close."""
    return difflib.get_close_matches(value, list(known), n=count, cutoff=0.6)
