"""JSON with comments and trailing commas (VS Code's settings files) reduced to plain JSON."""

from __future__ import annotations


def _string_end(text: str, start: int) -> int:
    """The index just past the JSON string that opens at ``start``."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return len(text)


def strip_jsonc(text: str) -> str:
    """``text`` without ``//`` and ``/* */`` comments or commas before ``]`` and ``}``; strings are untouched."""
    out: list[str] = []
    held_comma = False  # a comma is written only once we know a value, not a closing bracket, follows it
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("//", i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        if text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise ValueError("a /* comment is not closed")
            i = close + 2
            continue
        if ch.isspace():
            out.append(ch)
            i += 1
            continue
        if held_comma and ch not in "]}":
            out.append(",")
        held_comma = ch == ","
        if ch == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
            continue
        if ch != ",":
            out.append(ch)
        i += 1
    if held_comma:
        out.append(",")
    return "".join(out)
