"""A pretty-printed window of a JSON document around a JSON pointer, for the evidence in reports.

A reader of a finding wants to see the offending value in its context, not the whole body: the window
holds a few lines before and after the value, the value's own lines marked, and nothing else. Lines are
generated lazily and the walk stops once the window is full, so a huge document costs little.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.contract import pointers
from conformance.contract.clipping import clip

CONTEXT_LINES = 5
MARKED_LINES = 16
LINE_WIDTH = 160
TEXT_LINES = 30


@dataclass(frozen=True)
class Excerpt:
    """Lines `first_line`.. of the pretty-printed document; `marked` is the inclusive line range of the value."""

    pointer: str  # the pointer shown: the finding's, or its nearest existing ancestor
    first_line: int
    lines: tuple[str, ...]
    marked: tuple[int, int] | None
    more: bool  # lines follow that the window leaves out

    def to_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "first_line": self.first_line, "lines": list(self.lines),
                "marked": list(self.marked) if self.marked else None, "more": self.more}


def existing_pointer(document: Any, pointer: str) -> str:
    """The longest prefix of `pointer` that names a value in `document` ("" is the whole document)."""
    found, node = "", document
    for token in pointers.tokens(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            break
        found = pointers.child(found, token)
    return found


def _lines(value: Any, pointer: str, depth: int, label: str, comma: str) -> Iterator[tuple[str, str, int]]:
    """(line, pointer, event) in `json.dumps(indent=2)` layout; event 1 opens the value at pointer, -1 closes
    it, 0 is a value on one line."""
    pad = "  " * depth
    if isinstance(value, (dict, list)) and value:
        is_dict = isinstance(value, dict)
        yield f"{pad}{label}{'{' if is_dict else '['}", pointer, 1
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for n, (key, item) in enumerate(items):
            child_label = json.dumps(key, ensure_ascii=False) + ": " if is_dict else ""
            yield from _lines(item, pointers.child(pointer, key), depth + 1, child_label,
                              "," if n < len(items) - 1 else "")
        yield f"{pad}{'}' if is_dict else ']'}{comma}", pointer, -1
    else:
        yield f"{pad}{label}{json.dumps(value, ensure_ascii=False)}{comma}", pointer, 0


def excerpt(document: Any, pointer: str) -> Excerpt:
    """The window of `document` around the value at `pointer` (or its nearest existing ancestor)."""
    target = existing_pointer(document, pointer or "")
    before: deque[str] = deque(maxlen=CONTEXT_LINES)
    kept: list[str] = []
    first = marked_from = marked_to = 0
    after = -1  # lines still to take after the marked value; -1 while it has not closed
    for number, (line, at, event) in enumerate(_lines(document, "", 0, "", ""), start=1):
        if not marked_from:
            if at == target and event >= 0:
                first, marked_from = number - len(before), number
                kept = [*before]
                marked_to = number if event == 0 else 0
                after = CONTEXT_LINES if event == 0 else -1
                kept.append(clip(line, LINE_WIDTH))
            else:
                before.append(clip(line, LINE_WIDTH))
            continue
        if after == 0:
            return Excerpt(target, first, tuple(kept), (marked_from, marked_to), True)
        if after < 0:  # inside the marked value
            kept.append(clip(line, LINE_WIDTH))
            if at == target and event < 0:
                marked_to, after = number, CONTEXT_LINES
            elif number - marked_from + 1 >= MARKED_LINES:  # a long value: its head is enough
                return Excerpt(target, first, tuple(kept), (marked_from, number), True)
            continue
        kept.append(clip(line, LINE_WIDTH))
        after -= 1
    return Excerpt(target, first, tuple(kept), (marked_from, marked_to) if marked_from else None, False)


def text_excerpt(text: str) -> Excerpt:
    """The head of a body that is not JSON (an HTML error page, a truncated body)."""
    lines = text.splitlines()
    return Excerpt("", 1, tuple(clip(line, LINE_WIDTH) for line in lines[:TEXT_LINES]), None, len(lines) > TEXT_LINES)


def body_excerpt(text: str, pointer: str) -> Excerpt:
    """The window of a response body: around the pointer when the body is JSON, else its head."""
    try:
        return excerpt(json.loads(text), pointer)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return text_excerpt(text)
