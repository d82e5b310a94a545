"""Logging set-up, with secrets redacted from every record whatever logged it.

:func:`redact` is the one redactor: the log formatter runs it on every line, and the audit log on every body it
keeps (``governance/audit.py``). It masks the value and keeps the words that say what the value was, so that a
reader still sees which credential was sent::

    Authorization: Bearer abc        ->  Authorization: Bearer [redacted]
    x-api-key: abc / api-key=abc     ->  x-api-key: [redacted] / api-key=[redacted]
    {"api_key": "abc"}               ->  {"api_key": "[redacted]"}
    sk-abc123 / ogk-abc123           ->  sk-[redacted] / ogk-[redacted]
    -----BEGIN … PRIVATE KEY-----…   ->  [redacted]
    http://user:pass@proxy:3128      ->  http://[redacted]@proxy:3128

A virtual key's display form (``ogk-`` and its 8-character prefix, then "…") is what logs are meant to show, and
is kept.

Why the matches are collected at every position and their masks merged, rather than substituted in one pass:
one pattern's match would otherwise swallow the start of another's (in ``Bearer x-api-key: SECRET`` the bearer
token is ``x-api-key:``, and a single pass would then resume after it and keep ``SECRET``). Masking the union of
every match's span hides the secret whichever forms are nested, and, as no pattern matches ``[redacted]`` as a
value, redacting twice changes nothing.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable

import orjson

MARK = "[redacted]"

# A bare value (header, querystring, ``key=value``) runs to the next space, quote, separator or bracket. It never
# starts with "[", so an already masked value is left alone.
_TOKEN = r"[^\s\"'`,;&\\<>\[\]{}|]+"
_SCHEME = r"(?:bearer|basic)[ \t]+"
# Names whose value is a secret, as headers, JSON fields, querystring parameters or environment variables.
# ``_`` or ``-`` may precede them (``ORACLE_API_KEY``, ``x-api-key``, ``client_secret``, ``access_token``).
_NAME = (
    r"(?<![A-Za-z0-9])(?:api[-_]?key|authorization|master[-_]?key|password|passwd|secret|private[-_]key"
    r"|key[-_]content|pass[-_]?phrase|pepper|token)(?![A-Za-z0-9])"
)
# A field's value: a double- or single-quoted string (JSON, Python reprs; to the end of the text when the closing
# quote was cut off), a string quoted with escaped quotes (JSON inside a JSON string), or a bare value. A scheme
# word at its start is kept; the atomic group stops the bare form from backtracking to mask "Bearer" itself and
# keep the token after it.
_VALUE = (
    rf"(?:\"(?:{_SCHEME})?(?P<dq>(?:[^\"\\]|\\.)*)"
    rf"|'(?:{_SCHEME})?(?P<sq>[^']*)"
    rf"|\\\"(?:{_SCHEME})?(?P<eq>(?:[^\\]|\\[^\"])*)"
    rf"|(?>(?:{_SCHEME})?)(?P<bare>{_TOKEN}))"
)
_FORMS = re.compile(
    r"(?=[abkmopst-])(?=(?:"  # the first guard, on the forms' first letters, makes most positions fail at once
    rf"{_NAME}(?:\\?[\"'])?[ \t]*[:=][ \t]*{_VALUE}"
    rf"|(?<![A-Za-z0-9]){_SCHEME}(?P<scheme>{_TOKEN})"
    rf"|(?<![A-Za-z0-9])(?:sk|ogk)-(?![A-Za-z0-9_-]{{8}}\u2026)(?P<prefixed>{_TOKEN})"
    # A private key goes whole, its BEGIN and END lines too: a mask inside it could cover its END line, and the
    # block would then run to the end of the text on a second pass.
    r"|(?P<pem>-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*))"
    r"))",
    re.IGNORECASE,
)
# A URL's user information (a proxy's credentials): everything between "://" and "@" that cannot be a path.
_USERINFO = re.compile(r"(?<=://)[^\s/@\"'<>\[\]]+(?=@)")
_GROUPS = ("dq", "sq", "eq", "bare", "scheme", "prefixed", "pem")
# Words of which every form holds one: text without any (most log lines) is returned at once.
_HINTS = ("key", "auth", "secret", "passw", "phrase", "pepper", "token", "bearer", "basic", "sk-", "ogk-", "-----begin")


def redact(text: str) -> str:
    """``text`` with every secret value replaced by ``[redacted]``; idempotent."""
    if "@" in text and "://" in text:
        text = _USERINFO.sub(MARK, text)
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    spans: list[tuple[int, int]] = []
    for match in _FORMS.finditer(text):
        for group in _GROUPS:
            start, end = match.span(group)
            if end > start:
                spans.append((start, end))
                break
    if not spans:
        return text
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    done = 0
    for start, end in merged:
        pieces += (text[done:start], MARK)
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_trace_ids: Callable[[], tuple[str, str] | None] | None = None


def use_trace_ids(source: Callable[[], tuple[str, str] | None] | None) -> None:
    """Where log lines find the current trace and span ids (``observe/tracing.py`` when tracing is on; None:
    nowhere)."""
    global _trace_ids
    _trace_ids = source


def trace_ids() -> tuple[str, str] | None:
    """The current trace and span ids in hex, None when tracing is off or outside a span."""
    return _trace_ids() if _trace_ids is not None else None


def utc_stamp(seconds: float) -> str:
    """``2026-12-03T12:35:12.123Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


def json_line(stamp: float, level: str, logger: str, fields: dict[str, object]) -> str:
    """One log line as one JSON object: time (UTC), level, logger, then ``fields``."""
    entry: dict[str, object] = {"time": utc_stamp(stamp), "level": level, "logger": logger, **fields}
    return orjson.dumps(entry).decode()


class JsonFormatter(logging.Formatter):
    """``OCIGATE_LOG_FORMAT=json``: each record as one JSON object a line, its message and traceback redacted."""

    def __init__(self, worker: str = "") -> None:
        super().__init__()
        self._worker = worker

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {"message": redact(record.getMessage())}
        if self._worker:
            fields["worker"] = self._worker
        if record.exc_info:
            fields["exception"] = redact(self.formatException(record.exc_info))
        ids = trace_ids()
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
        return json_line(record.created, record.levelname, record.name, fields)


def setup_logging(level: str = "info", log_format: str = "text", worker: str = "") -> None:
    """``worker``: this process's name among several (``worker 2``), put before every message (a field of its
    own in JSON)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(worker))
    else:
        tag = f"[{worker}] " if worker else ""
        handler.setFormatter(RedactingFormatter(f"%(asctime)s %(levelname)s %(name)s {tag}%(message)s"))
    root = logging.getLogger("ocigate")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # uvicorn's own errors go through the same redaction.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
