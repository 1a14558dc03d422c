"""Every report format in one list: each writer turns summary.json's data into one file of the report folder.

`write_reports` writes them (all, or the ones a command asks for); `reports_line` is the one line every
command prints about them. Adding a format is a module with its render function and one entry in WRITERS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.report.html import report_page
from conformance.report.junit import junit_xml
from conformance.report.markdown import write_markdown
from conformance.report.redaction import Redactor
from conformance.report.summary import HTML, JUNIT, MARKDOWN, SUMMARY, write_report_file, write_summary


@dataclass(frozen=True)
class Writer:
    """One report format: the file it writes in the report folder, and how (from the redacted summary)."""

    name: str
    write: Callable[[Path, dict[str, Any], Redactor], None]


def _rendered(render: Callable[[dict[str, Any]], str]) -> Callable[[Path, dict[str, Any], Redactor], None]:
    return lambda path, summary, _redactor: write_report_file(path, render(summary))


WRITERS = (
    Writer(SUMMARY, write_summary),
    Writer(HTML, _rendered(report_page)),
    Writer(JUNIT, _rendered(junit_xml)),
    Writer(MARKDOWN, write_markdown),
)
ALL = tuple(writer.name for writer in WRITERS)


def write_reports(folder: Path, summary: dict[str, Any], redactor: Redactor, names: Sequence[str] = ALL) -> None:
    """Write the reports `names` of WRITERS (summary already masked by `redactor`) into `folder`. UsageError if
    the folder cannot be written."""
    try:
        for writer in WRITERS:
            if writer.name in names:
                writer.write(folder / writer.name, summary, redactor)
    except OSError as exc:
        raise UsageError(f"cannot write the reports to {folder}: {exc.strerror or exc}") from None


def reports_line(folder: Path) -> str:
    """The one line every command prints about its reports: the folder and the reports in it."""
    return f"hems-conformance: reports in {folder}/ ({', '.join(n for n in ALL if (folder / n).exists())})"


def open_line(folder: Path) -> list[str]:
    """A command's last line: the page to open next (none if it was not written)."""
    return [f"hems-conformance: open {folder / HTML}"] if (folder / HTML).exists() else []
