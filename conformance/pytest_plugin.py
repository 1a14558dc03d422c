"""The pytest plugin: `pytest cases/ --target conformance.toml` judges a live deployment.

Every live case in `cases/live/*.json` and every catalogue invariant becomes one test item, so JUnit XML
and pytest-html report per case. Procedures run first, then the checks judged on every response, then
the catalogue (which sums up all the 200s the run received). `hems-conformance run` is this plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.cli import seed
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.spec import load_contract
from conformance.errors import TargetError, UsageError
from conformance.live.cases import PROCEDURES, LiveCase, load_case_file
from conformance.live.ledger import CheckRecord, Status
from conformance.live.runner import EXIT_INTERRUPTED, PROFILES, LiveRun, RunOptions
from conformance.live.target import load_target
from conformance.report import summary as reporting

RUN_KEY = pytest.StashKey[LiveRun]()
VERDICT_KEY = pytest.StashKey[int]()  # the run's exit code, set when the session finishes
_ORDER = {"procedure": 0, "response_check": 1, "catalogue": 2, "last": 3}
TESTABLE = "target-testable"  # the one item that is not a check: did the run reach a verdict at all?


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hems-conformance", "judge a live HEMS session endpoint")
    group.addoption("--target", metavar="TOML", help="target configuration; turns on collection of cases/live")
    group.addoption("--hems-base-url", metavar="URL", help="override base_url of --target")
    group.addoption("--hems-profile", choices=PROFILES, default="ci", help="example budget (default: ci)")
    group.addoption("--hems-seed", type=seed, default=0, help="generation seed: same seed, same requests")
    group.addoption("--hems-strict", action="store_true", help="SHOULD findings fail the verdict too")
    group.addoption("--hems-workers", type=int, default=1, help="concurrent requests while fuzzing")
    group.addoption("--hems-spec", metavar="FILE", help="judge against this OpenAPI document")
    reporting.add_options(group)


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("target", default=None))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    try:
        contract = load_contract(config.getoption("hems_spec"))
        target = load_target(config.getoption("target"), default_token_url=contract.token_url)
        if config.getoption("hems_base_url"):
            target = target.with_base_url(config.getoption("hems_base_url"))
    except UsageError as exc:  # one line from pytest, not an INTERNALERROR traceback
        raise pytest.UsageError(str(exc)) from None
    options = RunOptions(profile=config.getoption("hems_profile"), seed=config.getoption("hems_seed"),
                         strict=config.getoption("hems_strict"), workers=max(1, config.getoption("hems_workers")))
    config.stash[RUN_KEY] = LiveRun(target, contract, options)
    if target.tenant.auth.grant == "none":
        config.stash[RUN_KEY].ledger.note("auth.grant = none: the authentication checks are skipped")
    reporting.register(config, config.stash[RUN_KEY])


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _enabled(parent.config) and file_path.suffix == ".json" and file_path.parent.name == "live":
        return LiveCaseFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Procedures first, then per-response checks, then the catalogue: each judges what came before."""
    items.sort(key=lambda item: _ORDER.get(getattr(item, "stage", ""), -1))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's exit code replaces pytest's, first, so the reports and the console all state the same one."""
    run = session.config.stash.get(RUN_KEY, None)
    if run is not None:
        session.exitstatus = run.exit_code(int(session.exitstatus))
        session.config.stash[VERDICT_KEY] = session.exitstatus


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The verdict in one line, last thing on the console: what CI logs show first."""
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    for note in run.ledger.notes:
        terminalreporter.write_line(f"hems-conformance: note: {note}")
    terminalreporter.write_line(f"hems-conformance: {verdict_line(run, config.stash.get(VERDICT_KEY, None))}",
                                bold=True)


_HALTED = {2: "error", 3: "target could not be tested"}


def verdict_line(run: LiveRun, code: int | None = None) -> str:
    if code == EXIT_INTERRUPTED:
        return "interrupted: no verdict"
    if run.halted:
        return f"{_HALTED[run.halt_code]}: {run.halted}"
    if code not in (None, 0, 1):
        return f"no verdict: pytest stopped the session (exit {code})"
    statuses = {r.id: r.status(run.options.strict) for r in run.ledger.records.values()}
    failed = sorted(i for i, status in statuses.items() if status is Status.FAILED)
    warned = sum(status is Status.WARNING for status in statuses.values())
    tail = f"; {warned} check(s) with warnings" if warned else ""
    if failed:
        return f"NON-CONFORMANT: {len(failed)} check(s) failed ({', '.join(failed)}){tail}"
    return f"conformant{tail} ({run.client.requests} requests to {run.config.base_url})"


class LiveCaseFile(pytest.File):
    def collect(self) -> Any:
        import json

        if json.loads(self.path.read_text(encoding="utf-8")).get("catalogue"):
            for invariant in CATALOGUE.values():
                yield CheckItem.from_parent(self, name=invariant.id, case=None)
            yield VerdictItem.from_parent(self, name=TESTABLE)
            return
        for case in load_case_file(self.path):
            self.config.stash[RUN_KEY].add_case(case)
            yield CheckItem.from_parent(self, name=case.id, case=case)


class CheckFailed(Exception):
    """A check found failing findings; the message lists them."""


class _HemsItem(pytest.Item):
    """Items of this plugin: a failure reads as its message, not as a traceback into the suite."""

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class CheckItem(_HemsItem):
    """One catalogue invariant or live case, judged within the shared LiveRun."""

    def __init__(self, *, case: LiveCase | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        if case is None:
            self.stage = "catalogue"
        else:
            self.stage = "response_check" if case.procedure == "response_check" else "procedure"

    @property
    def run(self) -> LiveRun:
        return self.config.stash[RUN_KEY]

    def runtest(self) -> None:
        run = self.run
        run.ran.add(self.name)
        if not run.halted and self.case is not None and self.stage == "procedure":
            try:
                run.preflight()
                PROCEDURES[self.case.procedure](run, self.case)
            except (TargetError, UsageError) as exc:
                run.halt(exc)
            except Exception as exc:  # a suite bug or an answer it cannot handle: no verdict, and no traceback
                run.halt(TargetError(f"{self.name} stopped on {type(exc).__name__}: {exc}"))
        if run.halted:
            pytest.skip(f"not judged: {verdict_line(run)}")
        record = run.ledger.records[self.name]
        status = record.status(run.options.strict)
        if status is Status.FAILED:
            raise CheckFailed(run.redactor.text(_describe(record)))  # the console is as careful as the reports
        if status is Status.SKIPPED:
            pytest.skip(record.skip_reason())


class VerdictItem(_HemsItem):
    """Last of all: fails when the run stopped without a verdict, so a CI system that reads only JUnit
    XML does not show an untestable target as green (every check is skipped then). The exit code stays 3."""

    stage = "last"

    def runtest(self) -> None:
        run = self.config.stash[RUN_KEY]
        if run.halted:
            raise CheckFailed(verdict_line(run))


def _describe(record: CheckRecord) -> str:
    lines = [f"{record.id} {record.level.value}: {record.statement}",
             f"{record.total_findings} finding(s) over {record.judged} judged"]
    for finding in record.findings:
        where = f" {finding.pointer}" if finding.pointer else ""
        request = f" [{finding.exchange.method} {finding.exchange.url} -> {finding.exchange.status}]" if finding.exchange else ""
        lines.append(f"  {finding.level.value}{where}: {finding.message}{request}")
    return "\n".join(lines)
