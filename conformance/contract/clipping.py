"""Clipping text for messages, evidence and reports: one rule everywhere, an ellipsis marks the cut."""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
