"""Every report format in one list: each writer turns summary.json's data into one file of the report folder.

`write_reports` writes them (all, or the ones a command asks for), summary.json first: every other file names
its SHA-256 (summary.md, report.html and junit.xml; `hems-conformance report verify` checks they agree).
`reports_line` is the one line every command prints about them. Adding a format is a module with its render
function and one entry in WRITERS.

GitHub annotations are no entry here: GitHub reads workflow commands (`::error ...`) only from a step's standard
output, never from a file, so `run` and `check` print them (`markdown.github_annotations`) after the reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.report.baseline import BaselineUpdate
from conformance.report.codequality import CODE_QUALITY, code_quality_json
from conformance.report.html import report_page
from conformance.report.junit import junit_xml
from conformance.report.markdown import write_markdown
from conformance.report.redaction import Redactor
from conformance.report.summary import HTML, JUNIT, MARKDOWN, SUMMARY, file_sha256, write_report_file, write_summary


@dataclass(frozen=True)
class Sealed:
    """What a writer gets beside the summary: the run's redactor, and the SHA-256 of the summary.json in the
    folder ("" when there is none), which the other reports name."""

    redactor: Redactor
    summary_sha256: str


@dataclass(frozen=True)
class Writer:
    """One report format: the file it writes in the report folder, and how (from the redacted summary)."""

    name: str
    write: Callable[[Path, dict[str, Any], Sealed], None]


def _rendered(render: Callable[[dict[str, Any]], str]) -> Callable[[Path, dict[str, Any], Sealed], None]:
    return lambda path, summary, _sealed: write_report_file(path, render(summary))


def _naming_summary(render: Callable[[dict[str, Any], str], str]) -> Callable[[Path, dict[str, Any], Sealed], None]:
    """A format that states summary.json's SHA-256."""
    return lambda path, summary, sealed: write_report_file(path, render(summary, sealed.summary_sha256))


WRITERS = (
    Writer(SUMMARY, lambda path, summary, sealed: write_summary(path, summary, sealed.redactor)),  # first
    Writer(HTML, _naming_summary(report_page)),
    Writer(JUNIT, _naming_summary(junit_xml)),
    Writer(MARKDOWN, lambda path, summary, sealed: write_markdown(path, summary, sealed.redactor,
                                                                   sealed.summary_sha256)),
    Writer(CODE_QUALITY, _rendered(code_quality_json)),
)
ALL = tuple(writer.name for writer in WRITERS)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex ("" if it cannot be read)."""
    try:
        return file_sha256(path)
    except OSError:
        return ""


def write_reports(folder: Path, summary: dict[str, Any], redactor: Redactor, names: Sequence[str] = ALL) -> None:
    """Write the reports `names` of WRITERS (summary already masked by `redactor`) into `folder`, summary.json
    first. UsageError if the folder cannot be written."""
    try:
        sealed = Sealed(redactor, sha256_of(folder / SUMMARY))
        for writer in WRITERS:
            if writer.name in names:
                writer.write(folder / writer.name, summary, sealed)
                if writer.name == SUMMARY:
                    sealed = Sealed(redactor, sha256_of(folder / SUMMARY))
    except OSError as exc:
        raise UsageError(f"cannot write the reports to {folder}: {exc.strerror or exc}") from None


def reports_line(folder: Path) -> str:
    """The one line every command prints about its reports: the folder and the reports in it."""
    return f"hems-conformance: reports in {folder}/ ({', '.join(n for n in ALL if (folder / n).exists())})"


def write_baseline(path: str, update: BaselineUpdate) -> str:
    """`--baseline-update FILE`: the updated baseline, written as a report file is (whole or not at all, a
    symlink replaced, never followed); the one line that says what was written. UsageError if it cannot be."""
    try:
        write_report_file(Path(path), update.text)
    except OSError as exc:
        raise UsageError(f"cannot write the baseline {path}: {exc.strerror or exc}") from None
    return f"hems-conformance: baseline: wrote {path}: {update.line}"


def open_line(folder: Path) -> list[str]:
    """A command's last line: the page to open next (none if it was not written)."""
    return [f"hems-conformance: open {folder / HTML}"] if (folder / HTML).exists() else []
