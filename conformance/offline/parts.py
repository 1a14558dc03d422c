"""Partitions of `check`'s inputs, and judging one: the unit a process pool or a Dask cluster runs.

`plan` turns the command's paths into parts in input order: a local file, a byte range of a large local
JSON Lines file (split on line boundaries, each range knowing the number of its first line), a file in
object storage or compressed, a Parquet file, a HAR file, or an input error found while walking. `judge_part`
reads one part and judges it into a `Partial`; it depends on nothing but the part, so any engine can run it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from conformance.contract.judge import Judge
from conformance.offline.evidence import PartialEvidence, Settled
from conformance.offline.partial import Partial, judge_items
from conformance.offline.remote import expand_url, inner_suffix, is_remote, read_remote
from conformance.offline.sources import (
    JSON_SUFFIXES,
    LINES_SUFFIXES,
    Payload,
    Progress,
    Skipped,
    SourceError,
    display,
    expand,
    guarded,
    iter_payloads,
    json_lines,
    lines_of,
)
from conformance.report.baseline import Acceptance

BLOCK = 8 << 20  # a JSON Lines file larger than this is judged in ranges of about this size
SCAN = 1 << 20  # bytes read at a time while finding the ranges' line boundaries
PARQUET_SUFFIXES = (".parquet", ".arrow", ".feather")
HAR_SUFFIXES = (".har",)


@dataclass(frozen=True)
class Part:
    """One partition: `kind` is file, range, parquet, har or error (then `label: message` is the error)."""

    kind: str
    path: str
    label: str
    start: int = 0
    end: int = 0
    first: int = 1  # the number of the first line of a range
    size: int = 0
    column: str | None = None
    message: str = ""


def plan(paths: Iterable[str], *, split: int | None = None, column: str | None = None) -> Iterator[Part]:
    """The parts of `paths` in input order; with `split`, local JSON Lines files larger than it in ranges."""
    for raw in paths:
        if raw != "-" and is_remote(raw):
            for url in expand_url(raw, JSON_SUFFIXES + LINES_SUFFIXES + PARQUET_SUFFIXES + HAR_SUFFIXES):
                if isinstance(url, SourceError):
                    yield Part("error", "", url.label, message=url.message)
                else:
                    yield _part(url, display(url), column, size=0)
            continue
        for item in expand([raw]):
            if isinstance(item, SourceError):
                yield Part("error", "", item.label, message=item.message)
            elif item == "-":
                yield Part("file", "-", "<stdin>")
            else:
                try:
                    size = item.stat().st_size
                except OSError:
                    size = 0  # opening it says why
                if split and item.suffix in LINES_SUFFIXES and size > split:
                    yield from _ranges(item, size, split)
                else:
                    yield _part(str(item), display(item), column, size)


def _part(path: str, label: str, column: str | None, size: int) -> Part:
    suffix = inner_suffix(path)
    kind = "parquet" if suffix in PARQUET_SUFFIXES else "har" if suffix in HAR_SUFFIXES else "file"
    return Part(kind, path, label, size=size, column=column)


def _ranges(path: Path, size: int, block: int) -> Iterator[Part]:
    """Byte ranges of about `block` bytes, each starting at a line start, with the number of its first line,
    yielded as one pass over the file (a piece at a time) finds them, so workers start at once. A file of blank
    lines only stays whole (it is one error): ranges wait until a piece with content is seen."""
    whole = Part("file", str(path), display(path), size=size)
    waiting: list[Part] = []  # ranges found while every piece so far was blank
    blank = True
    piece = bytearray(SCAN)  # one buffer read into again and again: no new object, no fresh pages, per read
    start, first, lines, position = 0, 1, 0, 0  # lines: newlines in [start, position)
    try:
        with open(path, "rb") as handle:
            while length := handle.readinto(piece):
                blank = blank and piece[:length].isspace()
                counted = 0  # newlines of the piece before this index are in `lines` or an earlier range
                while (goal := start + block - 1 - position) < length:
                    newline = piece.find(b"\n", max(goal, counted), length)
                    if newline < 0:
                        break
                    end = position + newline + 1
                    lines += _newlines(piece, counted, newline + 1)
                    waiting.append(_range_part(path, start, end, first))
                    start, first, lines, counted = end, first + lines, 0, newline + 1
                lines += _newlines(piece, counted, length)
                position += length
                if not blank:
                    yield from waiting
                    waiting.clear()
            if start < position:
                waiting.append(_range_part(path, start, position, first))
    except OSError:  # the rest as one range (or the file whole), whose reading reports the error
        waiting.append(_range_part(path, start, max(size, start + 1), first))
    yield from [whole] if blank else waiting


def _newlines(piece: bytearray, start: int, end: int) -> int:
    """The newlines in piece[start:end]. Session payloads are kilobytes long, and `find` reaches each line end by
    memchr in about half the time `count` takes to test every byte; past 64 of them (short lines), `count` does
    the rest. The scan runs in the command while the workers judge, so it takes a share of their cores."""
    found, at = 0, piece.find(b"\n", start, end)
    while at >= 0:
        found += 1
        if found == 64:
            return found + piece.count(b"\n", at + 1, end)
        at = piece.find(b"\n", at + 1, end)
    return found


def _range_part(path: Path, start: int, end: int, first: int) -> Part:
    return Part("range", str(path), display(path), start=start, end=end, first=first, size=end - start)


def read_part(part: Part, progress: Progress) -> Iterator[Payload | Skipped | SourceError]:
    """The payloads and input errors of one part, in order."""
    if part.kind == "error":
        yield SourceError(part.label, part.message)
    elif part.kind == "range":
        yield from guarded(part.label, _range(part, progress))
    elif part.kind == "parquet":
        from conformance.offline.parquet import read_parquet

        yield from read_parquet(part.path, part.label, part.column, progress)
    elif part.kind == "har":
        from conformance.offline.har import read_har

        yield from read_har(part.path, part.label, progress)
    elif is_remote(part.path):
        yield from read_remote(part.path, part.label, progress)
    else:
        yield from iter_payloads([part.path], progress)


def _range(part: Part, progress: Progress) -> Iterator[Payload | SourceError]:
    try:
        handle = open(part.path, "rb")
    except OSError as exc:
        yield SourceError(part.label, f"cannot read: {exc.strerror or exc}")
        return
    with handle:
        handle.seek(part.start)
        yield from json_lines(part.label, lines_of(handle, part.end - part.start), progress, first=part.first,
                              whole=False)


def iter_inputs(paths: Iterable[str], progress: Progress,
                column: str | None = None) -> Iterator[Payload | Skipped | SourceError]:
    """Every payload and input error of `paths` in input order, read here, without splitting."""
    for part in plan(paths, column=column):
        yield from read_part(part, progress)


def judge_part(judge: Judge, part: Part, *, strict: bool, as_json: bool, acceptance: Acceptance | None = None,
               settled: Settled | None = None) -> Partial:
    """Read and judge one part: what a worker of any engine runs (with a baseline, its own fresh `acceptance`;
    with `settled`, what the run's evidence holds in full already, which the part need not build)."""
    progress = Progress()
    partial = judge_items(judge, read_part(part, progress), strict=strict, as_json=as_json,
                          into=Partial(acceptance=acceptance.fresh() if acceptance else None,
                                       evidence=PartialEvidence(settled=settled)))
    partial.read = progress.read
    return partial
