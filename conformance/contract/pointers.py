"""JSON Pointers (RFC 6901), the one way every room names a place in a payload: '~' and '/' escaped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join(tokens: Iterable[Any]) -> str:
    """The pointer to a path of keys and indexes ("" is the whole document)."""
    return "".join("/" + escape(token) for token in tokens)


def child(pointer: str, token: Any) -> str:
    return f"{pointer}/{escape(token)}"


def tokens(pointer: str) -> list[str]:
    return [unescape(token) for token in pointer.split("/")[1:]] if pointer.startswith("/") else []


def resolve(document: Any, pointer: str) -> Any:
    """The value `pointer` names in `document`, or None where it names nothing."""
    for token in tokens(pointer):
        if isinstance(document, list) and token.isdigit() and int(token) < len(document):
            document = document[int(token)]
        elif isinstance(document, dict):
            document = document.get(token)
        else:
            return None
    return document
