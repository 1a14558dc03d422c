"""Where recorded payloads come from: JSON files, directories of them, JSON Lines, or stdin.

Payloads are yielded one at a time, so a JSON Lines file of any size is judged in bounded memory.
A file that cannot be read or parsed yields a `SourceError` in place and the walk goes on.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

JSON_SUFFIXES = (".json",)
_TOO_DEEP = "invalid JSON: nested too deeply to parse"
LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Payload:
    label: str  # "file", "file:LINE" (JSON Lines) or "file[INDEX]" (a JSON array of payloads)
    body: Any


@dataclass(frozen=True)
class SourceError:
    label: str
    message: str

    def line(self) -> str:
        return f"{self.label}: {self.message}"


@dataclass
class Progress:
    """Bytes read so far, for a progress line on long inputs."""

    read: int = 0
    total: int = 0


def _expand(paths: Iterable[str]) -> Iterator[str | Path]:
    for raw in paths:
        if raw == "-":
            yield raw
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in JSON_SUFFIXES + LINES_SUFFIXES)
            if not found:
                yield SourceError(raw, "directory holds no .json, .jsonl or .ndjson file")  # type: ignore[misc]
            yield from found
        else:
            yield path


def iter_payloads(paths: Iterable[str], progress: Progress | None = None) -> Iterator[Payload | SourceError]:
    """Every payload under `paths`, in a stable order: arguments as given, directories sorted."""
    progress = progress or Progress()
    for item in _expand(paths):
        if isinstance(item, SourceError):
            yield item
        elif item == "-":
            yield from _read_stream("<stdin>", sys.stdin.buffer, progress, lines=None)
        else:
            try:
                handle = open(item, "rb")
            except OSError as exc:
                yield SourceError(str(item), f"cannot read: {exc.strerror or exc}")
                continue
            with handle:
                try:
                    progress.total += Path(item).stat().st_size
                except OSError:
                    pass
                lines = True if item.suffix in LINES_SUFFIXES else None if item.suffix not in JSON_SUFFIXES else False
                yield from _read_stream(str(item), handle, progress, lines=lines)


def _read_stream(label: str, stream: BinaryIO, progress: Progress, lines: bool | None) -> Iterator[Payload | SourceError]:
    """`lines`: True JSON Lines, False one JSON document, None sniff (one document if it parses whole)."""
    if lines is False:
        data = stream.read()
        progress.read += len(data)
        yield from _document(label, data)
        return
    reader: Iterable[bytes] = stream
    if lines is None:  # JSON Lines if the first line is a whole JSON value and more lines follow
        first = stream.readline()
        if not _parses(first) or not _more(stream):
            data = first + stream.read()
            progress.read += len(data)
            yield from _document(label, data)
            return
        reader = itertools.chain([first], stream)
    yield from _json_lines(label, reader, progress)


def _more(stream: BinaryIO) -> bool:
    peek = getattr(stream, "peek", None)
    return bool(peek(1)) if peek else True


def _parses(line: bytes) -> bool:
    try:
        _loads(line.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return False
    return True


_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def _loads(text: str) -> Any:
    """`json.loads`, except that NaN and Infinity, which Python accepts and JSON does not, are errors."""

    def reject(name: str) -> None:
        found = (m.start(1) for m in _STRING_OR_CONSTANT.finditer(text) if m.group(1))
        raise json.JSONDecodeError(f"{name} is not a JSON value", text, next(found, 0))

    return json.loads(text, parse_constant=reject)


def _document(label: str, data: bytes) -> Iterator[Payload | SourceError]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield SourceError(label, f"not UTF-8 (byte {exc.start})")
        return
    if not text.strip():
        yield SourceError(label, "empty: no JSON document")
        return
    try:
        body = _loads(text)
    except json.JSONDecodeError as exc:
        yield SourceError(f"{label}:{exc.lineno}:{exc.colno}", f"invalid JSON: {exc.msg}")
        return
    except RecursionError:
        yield SourceError(label, _TOO_DEEP)
        return
    if isinstance(body, list):
        for index, item in enumerate(body):
            yield Payload(f"{label}[{index}]", item)
    else:
        yield Payload(label, body)


def _json_lines(label: str, reader: Iterable[bytes], progress: Progress) -> Iterator[Payload | SourceError]:
    for number, raw in enumerate(reader, start=1):
        progress.read += len(raw)
        if not raw.strip():
            continue
        try:
            body = _loads(raw.rstrip(b"\r\n").decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            yield SourceError(f"{label}:{number}", f"not UTF-8 (byte {exc.start})")
            continue
        except json.JSONDecodeError as exc:
            yield SourceError(f"{label}:{number}:{exc.colno}", f"invalid JSON: {exc.msg}")
            continue
        except RecursionError:
            yield SourceError(f"{label}:{number}", _TOO_DEEP)
            continue
        yield Payload(f"{label}:{number}", body)
