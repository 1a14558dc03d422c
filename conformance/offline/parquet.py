"""Parquet and Arrow files whose column holds each raw JSON body (`check archive.parquet --column body`).

Only a string or binary column of raw bodies can be judged: a column of structs or typed numbers has already
erased what the contract judges (7.0 versus 7, UTC offsets, a missing field versus null, extra properties).
Rows are read a batch at a time; each row's body is labelled FILE:ROW, rows counted from 1 like lines. A small
compressed file may hold one value of hundreds of MiB: a row group whose column decompresses to more than the
document limit per row is refused from the file's metadata, and elsewhere a value over the limit is refused from
its length in the Arrow offsets, before it becomes a Python string. A column is read as a dictionary (a value
repeated in many rows is decoded once per row, as it comes), and a batch holds at most BATCH_BYTES of column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.offline import sources
from conformance.offline.remote import open_path
from conformance.offline.sources import Payload, Progress, SourceError, document, why

BATCH = 1024
BATCH_BYTES = 64 * 2**20  # a batch holds at most this much decompressed column (or one row, if a row is larger)
NEEDS_PYARROW = "reading Parquet and Arrow files needs pyarrow: pip install 'hems-conformance[parquet]'"
ERASED = ("typed columns have already erased what the contract judges (7.0 versus 7, UTC offsets, a missing field "
          "versus null, extra properties): keep the raw response body in a string or binary column")


def read_parquet(path: str, label: str, column: str | None, progress: Progress) -> Iterator[Payload | SourceError]:
    try:
        import pyarrow as pa
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        yield SourceError(label, NEEDS_PYARROW)
        return
    if column is None:
        yield SourceError(label, "a Parquet or Arrow file needs --column NAME: the column that holds each raw JSON body")
        return
    try:
        handle = open_path(path)
    except (OSError, ValueError, ImportError) as exc:
        yield SourceError(label, f"cannot read: {why(exc)}")
        return
    with handle:
        try:
            if path.endswith(".parquet"):
                source = pyarrow.parquet.ParquetFile(handle)
                names = source.schema_arrow.names
                if column in names and _is_text(source.schema_arrow.field(column).type):  # repeated values: one copy
                    source = pyarrow.parquet.ParquetFile(handle, read_dictionary=[column])
                schema, batches = source.schema_arrow, _parquet_batches(source, column)
            else:
                source = pyarrow.ipc.open_file(handle)
                schema, batches = source.schema, (source.get_batch(i) for i in range(source.num_record_batches))
        except (OSError, pa.ArrowException) as exc:
            yield SourceError(label, f"not a readable {'Parquet' if path.endswith('.parquet') else 'Arrow'} file: "
                              f"{why(exc)}")
            return
        if column not in schema.names:
            yield SourceError(label, f"no column {column!r} (columns: {', '.join(schema.names) or 'none'})")
            return
        kind = schema.field(column).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if not _is_text(kind):
            yield SourceError(label, f"column {column!r} is {str(kind).split('<', 1)[0]}, not raw JSON text: {ERASED}")
            return
        row = 0
        try:
            for batch in batches:
                if isinstance(batch, _Refused):
                    for _ in range(batch.rows):
                        row += 1
                        yield SourceError(f"{label}:{row}", batch.why)
                    continue
                for value in _values(batch.column(column)):
                    row += 1
                    if value is None:
                        yield SourceError(f"{label}:{row}", "null: no JSON body")
                    elif value is _TOO_LARGE:
                        yield SourceError(f"{label}:{row}", sources.too_large())
                    else:
                        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
                        progress.read += len(data)
                        yield from document(f"{label}:{row}", data)
        except (OSError, pa.ArrowException) as exc:
            yield SourceError(f"{label}:{row + 1}", f"cannot read: {why(exc)}")
        except MemoryError:
            yield SourceError(f"{label}:{row + 1}", "cannot read: out of memory decoding the batch of rows here "
                                                    f"(rows are read {BATCH} at a time)")


_TOO_LARGE = object()  # a value over the document limit, in place of its text
_ROW_OVERHEAD = 4096  # bytes per row a column chunk may hold besides the values (lengths, page headers, statistics)


@dataclass(frozen=True)
class _Refused:
    """The rows of a row group not read: its column holds more than MAX_DOCUMENT bytes per row once decompressed,
    so a value there is over the limit (and decoding the group would hold all of it)."""

    rows: int
    why: str


def _parquet_batches(source: Any, column: str) -> Iterator[Any]:
    """The column's record batches, row group by row group; a group whose column decompresses to more than
    MAX_DOCUMENT bytes per row (from the file's metadata) is _Refused without being decompressed."""
    metadata = source.metadata
    for group in range(metadata.num_row_groups):
        meta = metadata.row_group(group)
        size = sum(meta.column(i).total_uncompressed_size for i in range(meta.num_columns)
                   if meta.column(i).path_in_schema == column)
        if meta.num_rows and size > (sources.MAX_DOCUMENT + _ROW_OVERHEAD) * meta.num_rows:
            yield _Refused(meta.num_rows, f"in row group {group + 1}, whose {column!r} holds {size / 2**20:,.0f} MiB for "
                                          f"{meta.num_rows} row(s): a value there is {sources.too_large()}")
            continue
        rows = max(1, min(BATCH, BATCH_BYTES // max(1, size // max(1, meta.num_rows))))
        yield from source.iter_batches(batch_size=rows, columns=[column], row_groups=[group])


def _values(array: Any) -> Iterator[Any]:
    """The column's values of one batch as Python objects, a value over MAX_DOCUMENT bytes as _TOO_LARGE: its
    length is read from the Arrow offsets, so it is never copied into a Python string."""
    import pyarrow as pa
    import pyarrow.compute

    if pa.types.is_dictionary(array.type):  # read as a dictionary: each distinct value decoded once, when its row comes
        sizes = pyarrow.compute.binary_length(array.dictionary).to_pylist()
        for index in array.indices.to_pylist():
            yield None if index is None else _TOO_LARGE if sizes[index] > sources.MAX_DOCUMENT else \
                array.dictionary[index].as_py()
        return
    lengths = pyarrow.compute.binary_length(array).to_pylist()
    if not any(n is not None and n > sources.MAX_DOCUMENT for n in lengths):
        yield from array.to_pylist()
        return
    for n, length in enumerate(lengths):
        yield _TOO_LARGE if length is not None and length > sources.MAX_DOCUMENT else array[n].as_py()


def _is_text(kind: Any) -> bool:
    """Whether an Arrow type holds raw bodies (string or binary); pyarrow reads only these as dictionaries."""
    import pyarrow as pa

    return any(test(kind) for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                       pa.types.is_large_binary))
