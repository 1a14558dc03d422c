"""Inputs in object storage or compressed: fsspec URLs (s3://, gs://, az://, file://, memory://, ...) and files
ending in .gz, .bz2, .xz or .zst, read as a stream and decompressed on the way.

Credentials come from each store's own environment (AWS_* variables and profiles for s3fs, Application Default
Credentials for gcsfs, AZURE_STORAGE_* for adlfs), never from the command line: a URL with a password is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from conformance.errors import UsageError
from conformance.offline.sources import Payload, Progress, SourceError, display, guarded, layout, read_stream, why

COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
NEEDS_FSSPEC = "reading URLs and compressed files needs fsspec: pip install 'hems-conformance[remote]'"


def is_url(path: str) -> bool:
    return "://" in path


def is_remote(path: str) -> bool:
    """Read through fsspec: a URL, or a compressed local file."""
    return is_url(path) or PurePosixPath(path).suffix in COMPRESSION


def inner_suffix(path: str) -> str:
    """The suffix that says what a file holds, under any compression suffix (x.jsonl.gz -> .jsonl)."""
    pure = PurePosixPath(path.split("?", 1)[0])
    if pure.suffix in COMPRESSION:
        pure = pure.with_suffix("")
    return pure.suffix


def refuse_secrets(url: str) -> None:
    """A password in a URL would land in shell history, logs and reports: credentials belong to the environment."""
    if not is_url(url):
        return
    try:
        password = urlsplit(url).password
    except ValueError:
        return  # fsspec says what is wrong with it
    if password is not None:
        raise UsageError(f"{urlsplit(url).scheme}:// URL with a password: give credentials through the store's "
                         "environment (e.g. AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_KEY)")


def expand_url(url: str, suffixes: tuple[str, ...]) -> Iterator[str | SourceError]:
    """The objects a URL names, sorted: a glob (s3://bucket/2026/*.jsonl.gz) its matches, a prefix ending in /
    the objects below it whose suffix (under any compression) is in `suffixes`, anything else itself."""
    if not (url.endswith("/") or any(c in url for c in "*?[")):
        yield url
        return
    try:
        import fsspec
    except ImportError:
        yield SourceError(display(url), NEEDS_FSSPEC)
        return
    try:
        fs, path = fsspec.core.url_to_fs(url)
        found = fs.glob(path) if any(c in url for c in "*?[") else [p for p in fs.find(path)
                                                                   if inner_suffix(p) in suffixes]
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own (reference:// without options: TypeError)
        yield SourceError(display(url), f"cannot list: {why(exc)}")
        return
    if not found:
        yield SourceError(display(url), "no object matches")
    yield from sorted(fs.unstrip_protocol(p) for p in found)


class _Held:
    """The file object of an fsspec OpenFile, holding the OpenFile for as long as it is open: without it, the
    OpenFile is collected and closes the files under a chained URL (zip://x::file://a.zip: "seek of closed
    file")."""

    def __init__(self, opened: Any) -> None:
        self._opened, self._file = opened, opened.open()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._file)

    def close(self) -> None:
        self._opened.close()

    def __enter__(self) -> _Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_binary(url: str, compression: str | None = None) -> Any:
    """A binary file object for `url` (the caller closes it); errors as OSError, ValueError or ImportError, also
    a store's own (a tar:: or zip:: URL on another kind of file, reference:// without its options)."""
    import fsspec

    try:
        return _Held(fsspec.open(url, "rb", compression=compression))
    except (OSError, ValueError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own (tarfile.ReadError, BadZipFile, TypeError)
        raise OSError(f"{type(exc).__name__}: {why(exc)}") from None


def open_path(path: str) -> BinaryIO:
    """A binary file object for a local path or a URL, as given (the caller closes it); errors as open_binary's."""
    return open_binary(path) if is_remote(path) else open(path, "rb")


def read_remote(url: str, label: str, progress: Progress) -> Iterator[Payload | SourceError]:
    try:
        import fsspec  # noqa: F401
    except ImportError:
        yield SourceError(label, NEEDS_FSSPEC)
        return
    compression = COMPRESSION.get(PurePosixPath(url.split("?", 1)[0]).suffix)
    try:
        handle = open_binary(url, compression)
    except (OSError, ValueError, ImportError, RuntimeError) as exc:
        yield SourceError(label, f"cannot read: {why(exc)}")
        return
    with handle:
        yield from guarded(label, read_stream(label, handle, progress, lines=layout(inner_suffix(url))))

