"""Clipping text for messages, evidence and reports: one rule everywhere, an ellipsis marks the cut."""

from __future__ import annotations

MESSAGE_LIMIT = 240  # a finding's message, and the offending value spelt in it, as the judges write them


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
