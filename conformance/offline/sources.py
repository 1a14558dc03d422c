"""Where recorded payloads come from: JSON files, directories of them, JSON Lines, or stdin.

Payloads are yielded one at a time, so a JSON Lines file of any size is judged in bounded memory.
A file that cannot be read or parsed yields a `SourceError` in place and the walk goes on.
"""

from __future__ import annotations

import itertools
import json
import lzma
import math
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec

from conformance.contract import pointers

JSON_SUFFIXES = (".json",)
MAX_DOCUMENT = 128 * 1024 * 1024  # a JSON document, or one JSON Lines line, is parsed whole: larger ones are refused
_TOO_DEEP = "invalid JSON: nested too deeply to parse"
_EMPTY = "empty: no JSON document"
LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Payload:
    label: str  # "file", "file:LINE" (JSON Lines) or "file[INDEX]" (a JSON array of payloads)
    body: Any
    path: str | None = None  # the request path it answered, where the recording keeps it (HAR)


@dataclass(frozen=True)
class Skipped:
    """A recorded exchange that is no response of the session endpoint (a HAR entry): counted, not judged."""

    label: str


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


def display(path: str | os.PathLike[str]) -> str:
    """A path as one printable line for output and reports: bytes that are not UTF-8 as \\xff, control
    characters escaped (a file name may hold both; printing them raw breaks lines or the encoder)."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def expand(paths: Iterable[str]) -> Iterator[Literal["-"] | Path | SourceError]:
    for raw in paths:
        if raw == "-":
            yield "-"
            continue
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(directory: Path) -> Iterator[Path | SourceError]:
    """Files with a payload suffix under `directory`, sorted; a subdirectory it cannot list is an error.

    Symbolic links to directories are not followed (no loops); a dangling link to a file is kept, so
    that opening it reports it. FIFOs and other special files are left out: reading one could block.
    """
    unreadable: list[SourceError] = []
    found = []
    for root, _, names in os.walk(directory, onerror=lambda exc: unreadable.append(
            SourceError(display(exc.filename or directory), f"cannot read: {exc.strerror or exc}"))):
        for name in names:
            candidate = Path(root, name)
            if candidate.suffix in JSON_SUFFIXES + LINES_SUFFIXES and (candidate.is_file() or not candidate.exists()):
                found.append(candidate)
    yield from unreadable
    if not found and not unreadable:
        yield SourceError(display(directory), "directory holds no .json, .jsonl or .ndjson file")
    yield from sorted(found)


def iter_payloads(paths: Iterable[str], progress: Progress | None = None) -> Iterator[Payload | SourceError]:
    """Every payload under `paths`, in a stable order: arguments as given, directories sorted."""
    progress = progress or Progress()
    for item in expand(paths):
        if isinstance(item, SourceError):
            yield item
        elif item == "-" and sys.stdin is None:  # the process started with fd 0 closed
            yield SourceError("<stdin>", "cannot read: standard input is closed")
        elif item == "-":
            yield from guarded("<stdin>", read_stream("<stdin>", sys.stdin.buffer, progress, lines=None))
        else:
            try:
                handle = open(item, "rb")
            except OSError as exc:
                yield SourceError(display(item), f"cannot read: {exc.strerror or exc}")
                continue
            with handle:
                try:
                    progress.total += Path(item).stat().st_size
                except OSError:
                    pass
                lines = layout(item.suffix)
                yield from guarded(display(item), read_stream(display(item), handle, progress, lines=lines))


def layout(suffix: str) -> bool | None:
    """How a file with this suffix is read: True JSON Lines, False one JSON document, None sniff."""
    return True if suffix in LINES_SUFFIXES else False if suffix in JSON_SUFFIXES else None


def guarded(label: str, items: Iterator[Payload | SourceError]) -> Iterator[Payload | SourceError]:
    """`items`, ending in a SourceError where reading fails after the open (EIO, a vanished mount)."""
    try:
        yield from items
    except OSError as exc:
        yield SourceError(label, f"cannot read: {exc.strerror or exc}")
    except (EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError) as exc:  # a truncated or corrupt archive
        yield SourceError(label, f"cannot read: {type(exc).__name__}: {why(exc)}")


def why(exc: BaseException) -> str:
    """One line on why a file or store could not be read."""
    if isinstance(exc, FileNotFoundError):
        return "no such file or object"
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def read_stream(label: str, stream: BinaryIO, progress: Progress, lines: bool | None) -> Iterator[Payload | SourceError]:
    """`lines`: True JSON Lines, False one JSON document, None sniff (one document if it parses whole)."""
    if lines is False:
        data = stream.read(MAX_DOCUMENT + 1)
        progress.read += len(data)
        yield from document(label, data)
        return
    reader: Iterable[bytes | None] = lines_of(stream)
    if lines is None:  # JSON Lines if the first line is a whole JSON value and more lines follow
        first = stream.readline(MAX_DOCUMENT + 1)
        if not _parses(first) or not _more(stream):
            data = first + stream.read(MAX_DOCUMENT + 1 - len(first))
            progress.read += len(data)
            yield from document(label, data)
            return
        reader = itertools.chain([first], reader)
    yield from json_lines(label, reader, progress)


def too_large() -> str:
    return f"larger than {MAX_DOCUMENT / 2**20:g} MiB: not read (split it into JSON Lines, one payload a line)"


def lines_of(stream: BinaryIO, length: float = math.inf) -> Iterator[bytes | None]:
    """The lines of `stream` (of its next `length` bytes, a range's, ending on a line end), each read up to
    MAX_DOCUMENT bytes: a longer one is None (and skipped to its end)."""
    while length > 0 and (line := stream.readline(MAX_DOCUMENT + 1)):
        length -= len(line)
        if len(line) > MAX_DOCUMENT and not line.endswith(b"\n"):
            while rest := stream.readline(MAX_DOCUMENT):
                length -= len(rest)
                if rest.endswith(b"\n"):
                    break
            yield None
        else:
            yield line


def _more(stream: BinaryIO) -> bool:
    peek = getattr(stream, "peek", None)
    return bool(peek(1)) if peek else True


def _parses(line: bytes) -> bool:
    if _quick(line) is not _REFUSED:
        return True
    try:
        _loads(line.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return False
    return True


_STRING = r'"(?:[^"\\]|\\.)*"'


class _Unsupported(json.JSONDecodeError):
    """Valid JSON holding a number Python cannot represent faithfully (RFC 8259 §6 lets parsers limit them)."""


def _position(text: str, token: str) -> int:
    """Where `token` first stands outside a string in `text` (0 if nowhere)."""
    pattern = re.compile(f"{_STRING}|(?<![0-9A-Za-z.+-])({re.escape(token)})")
    return next((m.start(1) for m in pattern.finditer(text) if m.group(1)), 0)


_REFUSED = object()
_DECODE = msgspec.json.Decoder().decode
# msgspec refuses integers of more than 4300 digits; Python's own limit may be set lower than that
_QUICK = not 0 < sys.get_int_max_str_digits() < 4300


def _quick(data: bytes) -> Any:
    """`data` parsed by msgspec, which reads what `_loads` reads (ints stay ints, floats correctly rounded, big
    integers exact, the last of duplicate keys wins) about twice as fast; `_REFUSED` for whatever it refuses
    (invalid JSON or UTF-8, a byte order mark, NaN, 1e400, unpaired surrogates, deep nesting), which `_loads`
    then reads again to say why in its own words."""
    if not _QUICK:
        return _REFUSED
    try:
        return _DECODE(data)
    except (msgspec.DecodeError, RecursionError):
        return _REFUSED


def _loads(text: str) -> Any:
    """`json.loads`, except that NaN and Infinity, which Python accepts and JSON does not, are errors, and so
    are numbers beyond a 64-bit float (1e400, which Python reads as infinity) or Python's digit limit."""

    def reject(name: str) -> None:
        raise json.JSONDecodeError(f"{name} is not a JSON value", text, _position(text, name))

    def finite(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            raise _Unsupported(f"number {literal} is beyond the range of a 64-bit float", text, _position(text, literal))
        return value

    try:
        body = json.loads(text, parse_constant=reject, parse_float=finite)
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() past sys.get_int_max_str_digits(); json.loads gives no position
        limit = sys.get_int_max_str_digits()
        digits = re.compile(f"{_STRING}|(-?[0-9]{{{limit + 1},}})")
        where = next((m.start(1) for m in digits.finditer(text) if m.group(1)), 0)
        raise _Unsupported(f"number with more than {limit} digits", text, where) from None
    if "\\u" in text:  # only an escape can put an unpaired surrogate into a str
        _check_unicode(body, "")
    return body


class NotUnicode(ValueError):
    """A JSON string escapes an unpaired surrogate (RFC 8259 §8.2): no UTF-8 text, so nothing can judge it."""


def _check_unicode(value: Any, pointer: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            surrogate = value[exc.start].encode("unicode_escape").decode("ascii")
            raise NotUnicode(f"the string at {pointer or '/'} is not Unicode text (unpaired surrogate {surrogate})") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            where = pointers.child(pointer, key)
            _check_unicode(key, pointer + " (a property name)")
            _check_unicode(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_unicode(item, f"{pointer}/{index}")


def _invalid(exc: json.JSONDecodeError) -> str:
    return exc.msg if isinstance(exc, _Unsupported) else f"invalid JSON: {exc.msg}"


def document(label: str, data: bytes) -> Iterator[Payload | SourceError]:
    body = parse_document(label, data)
    if isinstance(body, SourceError):
        yield body
    elif body == []:
        yield SourceError(label, "empty array: no payload")
    elif isinstance(body, list):
        for index, item in enumerate(body):
            yield Payload(f"{label}[{index}]", item)
    else:
        yield Payload(label, body)


def parse_document(label: str, data: bytes) -> Any:
    """One JSON document: its value, or the `SourceError` that says why it has none."""
    if len(data) > MAX_DOCUMENT:
        return SourceError(label, too_large())
    body = _quick(data)
    if body is not _REFUSED:
        return body
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return SourceError(label, f"not UTF-8 (byte {exc.start})")
    if not text.strip():
        return SourceError(label, _EMPTY)
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        return SourceError(f"{label}:{exc.lineno}:{exc.colno}", _invalid(exc))
    except RecursionError:
        return SourceError(label, _TOO_DEEP)
    except NotUnicode as exc:
        return SourceError(label, str(exc))


def parse_line(label: str, number: int, raw: bytes) -> Payload | SourceError:
    """Line `number` (from 1) of a JSON Lines file labelled `label`, not blank, as a payload or an error."""
    body = _quick(raw)
    if body is not _REFUSED:
        return Payload(f"{label}:{number}", body)
    try:
        body = _loads(raw.rstrip(b"\r\n").decode("utf-8-sig" if number == 1 else "utf-8"))
    except UnicodeDecodeError as exc:
        return SourceError(f"{label}:{number}", f"not UTF-8 (byte {exc.start})")
    except json.JSONDecodeError as exc:
        return SourceError(f"{label}:{number}:{exc.colno}", _invalid(exc))
    except RecursionError:
        return SourceError(f"{label}:{number}", _TOO_DEEP)
    except NotUnicode as exc:
        return SourceError(f"{label}:{number}", str(exc))
    return Payload(f"{label}:{number}", body)


def json_lines(label: str, reader: Iterable[bytes | None], progress: Progress, *, first: int = 1,
               whole: bool = True) -> Iterator[Payload | SourceError]:
    """The lines of a JSON Lines file (None: one over MAX_DOCUMENT), numbered from `first`; `whole`: the reader
    has the whole file, so a file of blank lines only is an error (a byte range of a larger file may be blank)."""
    empty = whole
    for number, raw in enumerate(reader, start=first):
        if raw is None:
            empty = False
            yield SourceError(f"{label}:{number}", too_large())
            continue
        progress.read += len(raw)
        if not raw or raw.isspace():  # blank (bytes.isspace knows the whitespace bytes.strip strips), without a copy
            continue
        empty = False
        yield parse_line(label, number, raw)
    if empty:
        yield SourceError(label, _EMPTY)
