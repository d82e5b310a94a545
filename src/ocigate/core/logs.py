"""Logging set-up, with secrets redacted from every record whatever logged it."""

from __future__ import annotations

import logging
import re
import sys

_SECRETS = re.compile(
    r"(?i)(bearer\s+)[^\s\"',]+"
    r"|\bsk-[A-Za-z0-9_\-]{4,}"
    r"|(\"?(?:api[_-]?key|authorization|x-api-key|master[_-]?key)\"?\s*[:=]\s*\"?)[^\s\"',]+"
)

_VIRTUAL_KEY = re.compile(r"\b(ogk-)[A-Za-z0-9_\-]{4,}")  # the gateway's own keys keep their visible "ogk-"


def redact(text: str) -> str:
    """Replace bearer tokens, ``sk-`` secrets and key-valued fields with a marker."""

    def mask(match: re.Match[str]) -> str:
        prefix = match.group(1) or match.group(2) or ""
        return f"{prefix}[redacted]"

    return _VIRTUAL_KEY.sub(r"\1[redacted]", _SECRETS.sub(mask, text))


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("ocigate")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # uvicorn's own errors go through the same redaction.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
