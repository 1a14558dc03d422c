"""`hems-conformance report verify DIR`: do a report folder's files belong together, and to the spec it names?

summary.json is the record; summary.md, report.html and junit.xml each name the SHA-256 of the summary.json
they were written with, and summary.json names the SHA-256 of the spec it was judged against. An auditor
recomputes both here: one line per check, exit 0 when all match, 1 on a mismatch, 2 when the folder or a file
named on the command line cannot be read. This proves consistency, not authorship: whoever rewrites a report can
rewrite its hashes too; keep the SHA-256 printed here (or the folder) where it cannot be changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from conformance.contract.clipping import printable
from conformance.contract.spec import bundled_spec_path
from conformance.errors import InputError
from conformance.report.summary import (
    HTML,
    JUNIT,
    MARKDOWN,
    RUNNING,
    SEAL_LABEL,
    SUMMARY,
    SUMMARY_FORMAT,
    file_sha256,
)

_HEX = "([0-9a-f]{64})"
# how each report names summary.json's SHA-256 (written by markdown.render, html.report_page, junit.junit_xml)
NAMED_IN = {MARKDOWN: re.compile(re.escape(SEAL_LABEL) + r" `" + _HEX + "`"),
            HTML: re.compile(re.escape(SEAL_LABEL) + r" <code>" + _HEX + "</code>"),
            JUNIT: re.compile(r'<property name="summary_sha256" value="' + _HEX + '"')}


def verify_lines(folder: Path, spec: str | None = None) -> tuple[list[str], bool]:
    """The lines of `report verify` and whether everything matched. InputError if the folder has no readable
    summary.json of a finished run, or `spec` cannot be read."""
    raw, summary = _summary(folder)
    digest = hashlib.sha256(raw).hexdigest()
    lines, ok = [f"{SUMMARY}: SHA-256 {digest}"], True
    for name, pattern in NAMED_IN.items():
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            lines.append(f"absent   {name}: not in the folder")
            continue
        except OSError as exc:
            raise InputError(f"{folder / name}: cannot read: {exc.strerror or exc}") from None
        named = pattern.search(text)
        if named is None:
            lines.append(f"MISMATCH {name}: names no SHA-256 of {SUMMARY}")
        elif named[1] != digest:
            lines.append(f"MISMATCH {name}: names {named[1]}, written with another {SUMMARY}")
        else:
            lines.append(f"ok       {name}: names this {SUMMARY}")
        ok = ok and named is not None and named[1] == digest
    line, spec_ok = _spec_line(summary, spec)
    return [*lines, line], ok and spec_ok


def _summary(folder: Path) -> tuple[bytes, dict[str, Any]]:
    if not folder.is_dir():
        raise InputError(f"{folder}: not a report folder")
    try:
        raw = (folder / SUMMARY).read_bytes()
        summary = json.loads(raw)
    except OSError as exc:
        raise InputError(f"{folder / SUMMARY}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise InputError(f"{folder / SUMMARY}: not a summary.json (not JSON)") from None
    if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
        raise InputError(f"{folder / SUMMARY}: not a hems-conformance summary.json (format {SUMMARY_FORMAT})")
    if summary.get("verdict") == RUNNING:
        raise InputError(f"{folder / SUMMARY}: the run never finished (verdict {RUNNING}: still running, or killed)")
    return raw, summary


def _spec_line(summary: dict[str, Any], spec: str | None) -> tuple[str, bool]:
    """The spec's SHA-256 recorded in summary.json against the file: `spec` if given (InputError if unreadable),
    else the file summary.json names, when it is here."""
    recorded = (summary.get("metadata") or {}).get("spec") or {}
    expected = str(recorded.get("sha256") or "")
    if not expected:
        return "MISMATCH spec: summary.json records no SHA-256 of its spec", False
    named = spec or str(recorded.get("path") or "")
    try:
        actual = _file_sha256(named)
    except OSError as exc:
        if spec is not None:
            raise InputError(f"{spec}: cannot read: {exc.strerror or exc}") from None
        bundled = bundled_spec_path(Path(named).name) if named else None
        with contextlib.suppress(OSError):  # the pinned spec this installation carries, when it is the same file
            if bundled is not None and _file_sha256(str(bundled)) == expected:
                return f"ok       spec {named}: SHA-256 {expected} as recorded (the copy bundled with the suite)", True
        return f"unchecked spec: {named or 'no file'} is not here (pass --spec FILE); recorded SHA-256 {expected}", True
    if actual != expected:
        return f"MISMATCH spec {named}: SHA-256 {actual}, summary.json records {expected}", False
    return f"ok       spec {named}: SHA-256 {actual} as recorded", True


def _file_sha256(path: str) -> str:
    """The SHA-256 of a regular file (the path a report names is untrusted: no FIFO, no device); OSError else."""
    if not Path(path).is_file():
        raise FileNotFoundError(2, "not a file")
    return file_sha256(path)


def verify_command(folder: str, spec: str | None, out: Any) -> int:
    """`hems-conformance report verify`: 0 all match, 1 a mismatch, 2 unreadable (InputError)."""
    lines, ok = verify_lines(Path(folder), spec)
    for line in lines:
        print(printable(line), file=out)
    print(f"verify: {'all match' if ok else 'MISMATCH: these files do not belong together'}", file=out)
    return 0 if ok else 1
