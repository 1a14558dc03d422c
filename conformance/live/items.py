"""The pytest items of a live run: one per live check and catalogue invariant, plus the verdict item.

Each item reports what the shared `LiveRun` found for its check; the stash key lets the plugin face and
the reports reach that run.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.contract.levels import Level
from conformance.errors import TargetError, UsageError
from conformance.live.discovery import discover
from conformance.live.fuzzing import generate_before_procedures
from conformance.live.procedures import fuzz
from conformance.live.registry import LiveCheck, load_check_file
from conformance.live.runner import EXIT_INTERRUPTED, LiveRun
from conformance.report.records import CheckRecord, Status

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr  # what pytest's own repr_failure returns; not exported by pytest

RUN_KEY = pytest.StashKey[LiveRun]()
TESTABLE = "target-testable"  # the one item that is not a check: did the run reach a verdict at all?


_HALTED = {2: "error", 3: "target could not be tested"}


def verdict_line(run: LiveRun, code: int | None = None, pytest_code: int | None = None) -> str:
    """The verdict in one line: `code` is the run's exit code, None where pytest stopped the session itself
    (its own `pytest_code` then stands, and the line says so)."""
    if code == EXIT_INTERRUPTED:
        return "interrupted: no verdict"
    if run.halted:
        return f"{_HALTED[run.halt_code]}: {run.halted}"
    if code is None and pytest_code == pytest.ExitCode.NO_TESTS_COLLECTED:
        return f"no verdict: no check was collected (exit {pytest_code})"
    if code is None and pytest_code is not None:
        return f"no verdict: pytest stopped the session (exit {pytest_code})"
    statuses = {r.id: r.status(run.options.strict) for r in run.ledger.records.values()}
    failed = sorted(i for i, status in statuses.items() if status is Status.FAILED)
    warned = sum(status is Status.WARNING for status in statuses.values())
    notes = sum(r.levels_seen[Level.INFO] - r.accepted_levels[Level.INFO] for r in run.ledger.records.values()
                if r.level is not Level.OFF)
    idle = sorted(i for i, status in statuses.items() if status is Status.NOT_EXERCISED)
    tail = f"; {warned} check(s) with warnings" if warned else ""
    tail += f"; {notes} INFO note{'' if notes == 1 else 's'}" if notes else ""
    accepted = sum(status is Status.ACCEPTED for status in statuses.values())
    tail += f"; {accepted} failing check(s) accepted by the baseline" if accepted else ""
    stale = run.ledger.stale_entries()
    tail += f"; {len(idle)} check(s) not exercised ({', '.join(idle)})" if idle else ""
    if failed:
        return f"NON-CONFORMANT: {len(failed)} check(s) failed ({', '.join(failed)}){tail}"
    if stale:  # the deployment passed: the baseline is what needs work (exit 1 all the same)
        one, named = len(stale) == 1, ", ".join(e.describe() for e in stale[:3]) + (", …" if len(stale) > 3 else "")
        return (f"conformant; baseline has {len(stale)} stale entr{'y' if one else 'ies'} "
                f"({named}): {'its defect is' if one else 'their defects are'} gone, "
                f"delete {'it' if one else 'them'} from {run.ledger.acceptance and run.ledger.acceptance.baseline.path}"
                f"{tail}")
    return f"conformant{tail} ({run.client.requests} requests to {run.config.base_url})"


def not_exercised(record: CheckRecord) -> str:
    return f"not exercised: {record.id}: the run would need {record.missing()}"


def unexercised_lines(run: LiveRun) -> list[str]:
    """One console line per check that ran but never met what it judges."""
    return [not_exercised(r) for r in run.ledger.records.values() if r.status(run.options.strict) is Status.NOT_EXERCISED]


class LiveCasesDir(pytest.Directory):
    """A `live` folder of case files: an item per live case, then the catalogue and the verdict item."""

    def collect(self) -> Any:
        for path in sorted(self.path.glob("*.json")):
            yield LiveCaseFile.from_parent(self, path=path)
        yield Catalogue.from_parent(self, name="catalogue", nodeid=f"{self.nodeid}/catalogue".lstrip("/"))


class LiveCaseFile(pytest.File):
    def collect(self) -> Any:
        for check in load_check_file(self.path):
            run = self.config.stash[RUN_KEY]
            run.add_case(check.case, check.on_every_response)
            run.ledger.records[check.id].need = check.need
            yield CheckItem.from_parent(self, name=check.id, check=check)


class Catalogue(pytest.Collector):
    """The invariant catalogue, judged over every 200 the run received: collected after the live cases."""

    def collect(self) -> Any:
        for invariant in self.config.stash[RUN_KEY].invariants:
            yield CheckItem.from_parent(self, name=invariant.id, check=None)
        yield VerdictItem.from_parent(self, name=TESTABLE)


class CheckFailed(Exception):
    """A check found failing findings; the message lists them."""


class _HemsItem(pytest.Item):
    """Items of this plugin: a failure reads as its message, not as a traceback into the suite."""

    def repr_failure(self, excinfo: Any, style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class CheckItem(_HemsItem):
    """One catalogue invariant or live case, judged within the shared LiveRun."""

    def __init__(self, *, check: LiveCheck | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        if check is None:
            self.stage = "catalogue"
        else:
            self.stage = "procedure" if check.procedure else "response_check"

    @property
    def run(self) -> LiveRun:
        return self.config.stash[RUN_KEY]

    def runtest(self) -> None:
        run = self.run
        run.ran.add(self.name)
        if not run.halted and self.check is not None and self.check.procedure is not None:
            whose = self.name
            try:
                run.preflight(discover)
                if any(isinstance(item, CheckItem) and item.check and item.check.procedure is fuzz
                       for item in self.session.items):
                    generate_before_procedures(run)
                run.run_procedures([(item.name, functools.partial(item.check.procedure, run, item.check.case))
                                    for item in self.session.items
                                    if isinstance(item, CheckItem) and item.check and item.check.procedure])
                failure = run.procedure_error(self.name)
                if failure is not None:
                    whose, error = failure
                    raise error
            except (TargetError, UsageError) as exc:
                run.halt(exc)
            except Exception as exc:  # a suite bug or an answer it cannot handle: no verdict, and no traceback
                run.halt(TargetError(f"{whose} stopped on {_cause(exc)}"))
        if run.halted:
            pytest.skip(f"not judged: {verdict_line(run)}")
        if self.stage == "catalogue":
            run.settle_coverage()
        record = run.ledger.records[self.name]
        status = record.status(run.options.strict)
        if status is Status.FAILED:
            raise CheckFailed(run.redactor.text(_describe(record)))  # the console is as careful as the reports
        if status is Status.ACCEPTED:
            pytest.xfail(f"accepted by the baseline: {'; '.join(f'until {e.expires}: {e.reason}' for e in record.accepted_by)}")
        if status is Status.SKIPPED:
            pytest.skip(record.skip_reason())
        if status is Status.NOT_EXERCISED:
            pytest.skip(not_exercised(record))


class VerdictItem(_HemsItem):
    """Last of all: fails when the run stopped without a verdict, so a CI system that reads only JUnit
    XML does not show an untestable target as green (every check is skipped then). The exit code stays 3.
    A stale baseline entry (exit 1) is no failure of the target: the target was testable, and JUnit says so."""

    stage = "last"

    def runtest(self) -> None:
        run = self.config.stash[RUN_KEY]
        if run.halted:
            raise CheckFailed(verdict_line(run))


def _describe(record: CheckRecord) -> str:
    lines = [f"{record.id} {record.level.value}: {record.statement}",
             f"{record.total_findings} finding(s) over {record.judged} judged"]
    for evidence in record.findings:
        finding, exchange = evidence.finding, evidence.exchange
        where = f" {finding.pointer}" if finding.pointer else ""
        request = f" [{exchange.method} {exchange.url} -> {exchange.status}]" if exchange else ""
        if evidence.requests > 1:
            request += f" and {evidence.requests - 1} more request(s)"
        lines.append(f"  {finding.level.value}{where}: {finding.message}{request}")
        lines += [f"    also {line}" for line in evidence.also]
    return "\n".join(lines)


def _cause(exc: BaseException) -> str:
    """An unexpected error in one line, naming what lies under a group (Hypothesis's FlakyFailure wraps the error
    its first attempt met): the line a user reports is the one that says what went wrong."""
    line = f"{type(exc).__name__}: {exc}"
    inner = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and exc.exceptions else None
    return f"{line}; first: {_cause(inner)}" if inner is not None else line
