"""Clipping text for messages, evidence and reports: one rule everywhere, an ellipsis marks the cut."""

from __future__ import annotations

MESSAGE_LIMIT = 240  # a finding's message, and the offending value spelt in it, as the judges write them


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def printable(text: str) -> str:
    """Untrusted text for one output line: control characters (line breaks, terminal escapes) spelt as escapes, so
    a tampered report can neither forge a line (a `::error::` workflow command) nor drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
