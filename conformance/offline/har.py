"""HAR files (what Schemathesis --report=har, browsers and proxies record): every GET answered 200 with a
recorded body is judged with its request path, so the session id the path names is checked as in a live run;
entries of other endpoints, other methods or statuses, or without a recorded body are counted and skipped.
Entries are labelled FILE:ENTRY, counted from 1.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from conformance.offline.remote import open_path
from conformance.offline.sources import MAX_DOCUMENT, Payload, Progress, Skipped, SourceError, parse_document, why


def read_har(path: str, label: str, progress: Progress) -> Iterator[Payload | Skipped | SourceError]:
    try:
        with open_path(path) as handle:
            data = handle.read(MAX_DOCUMENT + 1)  # a larger recording is refused as any JSON document is
    except (OSError, ValueError, ImportError) as exc:
        yield SourceError(label, f"cannot read: {why(exc)}")
        return
    progress.read += len(data)
    har = parse_document(label, data)
    if isinstance(har, SourceError):
        yield har
        return
    entries = har.get("log", {}).get("entries") if isinstance(har, dict) and isinstance(har.get("log"), dict) else None
    if not isinstance(entries, list):
        yield SourceError(label, "not a HAR file: no log.entries list")
        return
    for number, entry in enumerate(entries, start=1):
        yield _entry(f"{label}:{number}", entry)


def _entry(label: str, entry: Any) -> Payload | Skipped | SourceError:
    request = entry.get("request") if isinstance(entry, dict) else None
    response = entry.get("response") if isinstance(entry, dict) else None
    if not isinstance(request, dict) or not isinstance(response, dict):
        return SourceError(label, "not a HAR entry: no request and response")
    content = response["content"] if isinstance(response.get("content"), dict) else {}
    text = content.get("text")
    if request.get("method") != "GET" or response.get("status") != 200 or not isinstance(text, str):
        return Skipped(label)
    try:
        path = urlsplit(str(request.get("url", ""))).path
        data = base64.b64decode(text, validate=True) if content.get("encoding") == "base64" else text.encode(
            "utf-8", "surrogatepass")
    except (ValueError, binascii.Error) as exc:
        return SourceError(label, f"unreadable entry: {exc}")
    body = parse_document(label, data)
    return body if isinstance(body, SourceError) else Payload(label, body, path)
