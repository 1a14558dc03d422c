"""What a live run prints when it ends, written here once for `hems-conformance run` and the pytest plugin:
the checks that failed or warned (with `run`'s summary), notes, the baseline's account, the checks not
exercised, GitHub annotations, the command that reproduces the run, where the reports are, and the verdict in
one line, last.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.live.items import unexercised_lines, verdict_line
from conformance.live.runner import LiveRun
from conformance.report.baseline import exercised_checks
from conformance.report.summary import console_lines, trouble_line
from conformance.report.writers import reports_line


def closing_lines(run: LiveRun, *, summary: dict[str, Any] | None = None, folder: Path | None = None,
                  annotations: Sequence[str] = (), pytest_status: int | None = None,
                  written: Sequence[str] = ()) -> list[str]:
    """The run's last lines on the console. With its `summary`, each failing, warning and skipped check is
    named (pytest's own report does that under the plugin); `pytest_status` explains a session pytest
    stopped itself; `written` says what --baseline-update wrote."""
    if summary is not None:
        lines = console_lines(summary)
    else:
        trouble = trouble_line({"transient": run.client.trouble()})
        lines = [f"hems-conformance: note: {note}" for note in ([trouble] if trouble else []) + run.ledger.notes]
    acceptance = run.ledger.acceptance
    exercised = exercised_checks(run.ledger.records.values())
    lines += [f"hems-conformance: baseline: {run.redactor.text(line)}" for line in acceptance.lines(exercised)] \
        if acceptance else []
    lines += written
    command = (summary or {}).get("metadata", {}).get("command")
    if not run.halted and run.verdict in (0, 1):  # no verdict: nothing was judged, nothing to reproduce
        lines += [f"hems-conformance: {line}" for line in unexercised_lines(run)]
        lines += [f"hems-conformance: reproduce: {command}"] if command else []
    lines += annotations
    lines += [reports_line(folder)] if folder is not None else []
    return [*lines, f"hems-conformance: {verdict_line(run, run.verdict, pytest_code=pytest_status)}"]
