"""The reports of a live run, as a pytest plugin: summary.json when the session ends, pytest-html's hooks
for report.html, and secrets masked in every file pytest wrote.

It lives with the live run because it speaks pytest and holds the run's exchanges; the report room
(`conformance.report`) renders plain data and imports neither.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.contract.clipping import clip
from conformance.live.runner import ReportOptions
from conformance.report.html import (
    STYLE,
    attention_list,
    banner,
    evidence_sections,
    findings_html,
    metadata_table,
    spec_and_notes,
    status_text,
)
from conformance.report.proof import proof_html
from conformance.report.summary import (
    EXIT_VERDICTS,
    HTML,
    JUNIT,
    Produced,
    base_metadata,
    build_summary,
    check_entry,
    command_line,
    file_record,
    local_path,
    redact_file,
    redact_tree,
)
from conformance.report.writers import ALL, write_reports

if TYPE_CHECKING:
    import pluggy

    from conformance.live.runner import LiveRun

REPORT_PLUGIN = "hems-conformance-report"
LOG_LIMIT = 2000  # characters of pytest's log per check row; the findings above carry the evidence


@dataclass
class RunReport:
    """The report side of one live run: how it was started, where its files go, its summary once finished."""

    run: LiveRun
    command: str
    folder: Path | None
    page: bool = False  # also write report.html (the page `check` writes) beside summary.json
    pytest_status: int | None = None  # pytest's exit status: stated only where the run reached no exit code
    finished: float | None = None
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    def finish(self, pytest_status: int) -> None:
        self.pytest_status = pytest_status
        self.finished = time.time()
        self._summary = None

    def check(self, check_id: str) -> dict[str, Any]:
        record = self.run.ledger.records[check_id]
        return redact_tree(check_entry(record, self.run.options.strict), self.run.redactor)

    def summary(self) -> dict[str, Any]:
        if self._summary is None:
            if self.finished is None:  # pytest-html asks before the session finished
                self.finished = time.time()
            self._summary = redact_tree(self._build(), self.run.redactor)
        return self._summary

    def _build(self) -> dict[str, Any]:
        run = self.run
        code = run.verdict if run.verdict is not None else \
            self.pytest_status if self.pytest_status is not None else run.exit_code()
        metadata = base_metadata(run.contract, run.config.settings, strict=run.options.strict, command=self.command,
                                 started=run.started, finished=self.finished or time.time())
        metadata |= {"target_url": run.config.base_url, "target_config": local_path(run.config.source),
                     **({"config": file_record(run.config.source)} if Path(run.config.source).is_file() else {}),
                     "profile": run.options.profile, "seed": run.options.seed, "workers": run.options.workers,
                     "target_error": run.halted, "token_body": {key: tenant.auth.token_body for key, tenant in
                                                                run.config.tenants()},
                     "sessions": judged_sessions(run)}
        produced = Produced("run", run.ledger.records, run.coverage, run.sessions, run.ledger.acceptance,
                            run.ledger.spec_findings.values(), run.ledger.notes,
                            transient=run.client.trouble(),
                            siblings={"contract": local_path(run.siblings.path), "sha256": run.siblings.sha256})
        return build_summary(produced, strict=run.options.strict, exit_code=code,
                             verdict=EXIT_VERDICTS.get(code, "incomplete"), metadata=metadata)


def judged_sessions(run: LiveRun) -> list[dict[str, Any]]:
    """Every session the run judged, per tenant, and whether it was configured or discovered."""
    return [{"tenant": key, **ref.path_parameters,
             "source": "discovered" if ref in run.discovered.get(key, ()) else "configured"}
            for key, tenant in run.config.tenants() for ref in tenant.sessions]


def add_options(group: Any) -> None:
    group.addoption("--hems-report-dir", metavar="DIR",
                    help="write the reports there (summary.json, summary.md, junit.xml, gl-code-quality-report.json; "
                         "report.html with --hems-report-page)")
    group.addoption("--hems-command", metavar="TEXT", help="the command line to record as the way to reproduce")
    group.addoption("--hems-report-page", action="store_true",
                    help="with --hems-report-dir: write report.html there too (the layout of `check`)")


def register(config: pytest.Config, run: LiveRun) -> None:
    """Plug the reports into a pytest session that judges a target (and pytest-html's hooks if it is on)."""
    reports = run.options.reports
    if reports is None:  # plain pytest: the report options are its own
        folder = config.getoption("hems_report_dir", None)
        reports = ReportOptions(Path(folder) if folder else None, config.getoption("hems_command", None) or
                                command_line(config.invocation_params.args, program="pytest"),
                                config.getoption("hems_report_page", False))
    report = RunReport(run, reports.command, reports.folder, reports.page)
    config.pluginmanager.register(ReportPlugin(report), REPORT_PLUGIN)
    if config.pluginmanager.hasplugin("html") and config.getoption("htmlpath", None):
        config.pluginmanager.register(HtmlHooks(report), "hems-conformance-html")


class ReportPlugin:
    """Writes summary.json when the session finishes and masks secrets in every report pytest wrote."""

    def __init__(self, report: RunReport) -> None:
        self.report = report

    def pytest_sessionfinish(self, session: pytest.Session) -> None:  # after the plugin's (tryfirst): the run's code
        self.report.finish(int(session.exitstatus))
        if self.report.folder is not None:
            self.report.folder.mkdir(parents=True, exist_ok=True)
            write_reports(self.report.folder, self.report.summary(), self.report.run.redactor,
                          self._names(session.config, self.report.folder))

    def _names(self, config: pytest.Config, folder: Path) -> list[str]:
        """Every format of the writer list; report.html when asked (pytest-html's page is the plugin's other HTML);
        junit.xml unless pytest's own --junitxml was pointed at that very file (the user asked for pytest's)."""
        xmlpath = config.getoption("xmlpath", None)
        own_junit = bool(xmlpath) and Path(xmlpath).resolve() == (folder / JUNIT).resolve()
        return [name for name in ALL if (self.report.page or name != HTML) and not (own_junit and name == JUNIT)]

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for option in ("htmlpath", "xmlpath"):
            path = config.getoption(option, None)
            if path:
                redact_file(Path(path), self.report.run.redactor)



_COLUMNS = (("level", "Level", True), ("basis", "Basis", True), ("statement", "Statement", False),
            ("citation", "Spec citation", False), ("status", "Status", True), ("judged", "Judged", True),
            ("proof", "Proof it can fail", False))


class HtmlHooks:
    """pytest-html hooks: banner, metadata and spec findings around the table; per-check columns and evidence."""

    def __init__(self, report: RunReport) -> None:
        self.report = report

    def pytest_html_report_title(self, report: Any) -> None:
        contract = self.report.run.contract
        report.title = f"hems-conformance: {contract.title} {contract.version}"

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        data = self.report.summary()
        prefix.extend([f"<style>{STYLE}</style>", banner(data), attention_list(data, linked=False),
                       metadata_table(data)])
        postfix.append(spec_and_notes(data) + evidence_sections(data))

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[:] = [c for c in cells if ">Links<" not in c]
        cells[2:2] = [f'<th class="sortable" data-column-type="{key}">{title}</th>' if sortable else f"<th>{title}</th>"
                      for key, title, sortable in _COLUMNS]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        check = getattr(report, "hems_check", None) or {}
        values = {"level": check.get("level", ""), "basis": check.get("basis", ""),
                  "statement": check.get("statement", ""),
                  "citation": check.get("citation", ""), "status": status_text(check) if check else "",
                  "judged": check.get("judged", "")}
        cells[:] = [c for c in cells if 'class="col-links"' not in c]
        css = f" status-{check['status']}" if check else ""
        cells[2:2] = [f'<td class="col-{key}{css if key == "status" else ""}">'
                      f'{proof_html(check["proof"]) if key == "proof" and check else escape(str(values.get(key, "")))}'
                      "</td>" for key, _, _ in _COLUMNS]

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        if getattr(report, "hems_check", None):  # the evidence above says it all: keep the log short
            data[:] = [clip(entry, LOG_LIMIT) for entry in data]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, pluggy.Result[pytest.TestReport]]:
        outcome = yield
        from pytest_html import extras

        from conformance.live.items import CheckItem

        if call.when != "call" or not isinstance(item, CheckItem):
            return
        report: Any = outcome.get_result()  # gains attributes TestReport does not declare (hems_check, extras)
        check = self.report.check(item.name)
        report.hems_check = {k: v for k, v in check.items() if k != "findings"}
        if check["findings"]:
            report.extras = [*getattr(report, "extras", []), extras.html(findings_html(check))]


