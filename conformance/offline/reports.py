"""The reports of `hems-conformance check`: summary.json, report.html, junit.xml and summary.md, like a live run's.

Payloads stream past and are gone, so the evidence is taken as they pass: per invariant, the first few
findings keep their payload's label (file, file:LINE or file[INDEX]) and a window of the payload around
the pointer; every other finding is only counted. Memory stays flat however large the input.
"""

from __future__ import annotations

import socket
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from conformance.contract.judge import Judge
from conformance.errors import UsageError
from conformance.offline.evidence import CheckEvidence
from conformance.offline.remote import refuse_secrets
from conformance.offline.sources import display
from conformance.offline.stream import Tally, run_check
from conformance.report.baseline import Acceptance, Baseline
from conformance.report.markdown import github_annotations
from conformance.report.records import Status
from conformance.report.redaction import Redactor
from conformance.report.summary import (
    HTML,
    JUNIT,
    MARKDOWN,
    SUMMARY,
    SUMMARY_FORMAT,
    ReportFolder,
    base_metadata,
    check_entry,
    command_line,
    counts,
    redact_tree,
    write_report_file,
    write_summary,
)


def check_summary(evidence: CheckEvidence, tally: Tally, judge: Judge, *, paths: list[str], strict: bool,
                  command: str, started: float, acceptance: Acceptance | None = None) -> dict[str, Any]:
    evidence.settle(strict)
    checks = [check_entry(record, strict, evidence.kept[check_id]) for check_id, record in evidence.records.items()]
    metadata = base_metadata(judge.contract, judge.settings, strict=strict, command=command, started=started,
                             finished=time.time())
    code = tally.exit_code()
    totals = counts(checks) | {"payloads": tally.payloads, "failing_payloads": tally.failing_payloads,
                               "not_evaluated": tally.not_evaluated, "input_errors": evidence.error_count}
    if tally.skipped:  # only recordings (HAR) have exchanges that are not responses of the session endpoint
        totals["skipped_exchanges"] = tally.skipped
    return {
        "format": SUMMARY_FORMAT,
        "kind": "check",
        "verdict": tally.verdict(),
        "exit_code": code,
        "metadata": metadata | {"inputs": paths},
        "counts": totals,
        "checks": checks,
        "coverage": evidence.coverage.to_dict(),
        "sessions": evidence.sessions.to_dict(),
        "input_errors": evidence.errors,
        "spec_findings": [],
        "notes": [],
        **({"baseline": acceptance.to_dict()} if acceptance else {}),
    }


def junit_xml(summary: dict[str, Any]) -> str:
    """JUnit XML in the shape pytest writes (xunit2): one test case per catalogue invariant."""
    checks = summary["checks"]
    by_status = Counter(c["status"] for c in checks)
    errors = summary.get("input_errors", [])
    suite = ET.Element("testsuite", name="hems-conformance check", errors="0",
                       failures=str(by_status[Status.FAILED.value] + bool(errors)),
                       skipped=str(by_status[Status.SKIPPED.value] + by_status[Status.NOT_EXERCISED.value]), tests=str(len(checks) + bool(errors)),
                       time=f"{summary['metadata']['duration_s']:.3f}",
                       timestamp=datetime.now(UTC).isoformat(timespec="seconds"), hostname=socket.gethostname())
    properties = ET.SubElement(suite, "properties")
    meta = summary["metadata"]
    for name, value in (("spec_sha256", meta["spec"]["sha256"]), ("spec_version", meta["spec"]["version"]),
                        ("suite_version", meta["suite_version"]), ("command", meta["command"])):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname="catalogue", name=check["id"], time="0.000")
        if check["status"] == Status.FAILED.value:
            failure = ET.SubElement(case, "failure", message=f"{check['findings_total']} finding(s): {check['statement']}")
            failure.text = "\n".join(f"{f['source']}: {f['id']} {f['level']} {f['pointer'] or '/'}: {f['message']}"
                                     for f in check["findings"])
        elif check["status"] == Status.SKIPPED.value:
            ET.SubElement(case, "skipped", type="pytest.skip", message=check["skip_reason"])
        elif check["status"] == Status.NOT_EXERCISED.value:
            ET.SubElement(case, "skipped", type="pytest.skip", message=f"not exercised: needs {check['needs']}")
        elif check["status"] in (Status.WARNING.value, Status.INFO.value):
            ET.SubElement(case, "system-out").text = f"{check['findings_total']} {check['status']} finding(s)"
    if errors:  # unreadable input is no invariant's failure, but CI must not show the run as green
        case = ET.SubElement(suite, "testcase", classname="input", name="readable input", time="0.000")
        failure = ET.SubElement(case, "failure", message=f"{summary['counts']['input_errors']} input error(s)")
        failure.text = "\n".join(f"{e['source']}: {e['message']}" for e in errors)
    root = ET.Element("testsuites", name="hems-conformance")
    root.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode") + "\n"


def write_reports(folder: ReportFolder, summary: dict[str, Any], redactor: Redactor | None = None) -> None:
    """The reports of a check (summary.json, report.html, junit.xml, summary.md), every string masked by the
    redactor (Bearer credentials in payloads)."""
    from conformance.report.html import report_page
    from conformance.report.markdown import write_markdown

    redactor = redactor or Redactor()
    summary = redact_tree(summary, redactor)
    try:
        write_summary(folder.file(SUMMARY), summary, redactor)
        write_report_file(folder.file(HTML), report_page(summary))
        write_report_file(folder.file(JUNIT), junit_xml(summary))
        write_markdown(folder.path, summary, redactor)
    except OSError as exc:
        raise UsageError(f"cannot write the reports to {folder.path}: {exc.strerror or exc}") from None
    folder.publish()


def check_with_reports(judge: Judge, paths: list[str], *, strict: bool, output: str, report_dir: str | None,
                       argv: list[str], baseline: Baseline | None = None, annotations: str = "none",
                       workers: int = 1, column: str | None = None, dask: str | None = None,
                       dask_timeout_s: float | None = None) -> int:
    """`hems-conformance check`: judge the inputs as they stream (here, in `workers` processes, or on a Dask
    cluster), then write the reports (and with `annotations="github"`, print one workflow annotation per failing
    check)."""
    for path in paths:
        refuse_secrets(path)
    acceptance = Acceptance(baseline) if baseline else None
    partials = None
    as_json = output == "json"
    if dask is not None:
        from conformance.offline.dask_engine import DEFAULT_TIMEOUT_S, dask_partials

        partials = dask_partials(judge, paths, strict=strict, as_json=as_json, address=dask, column=column,
                                 workers=workers, acceptance=acceptance,
                                 timeout_s=DEFAULT_TIMEOUT_S if dask_timeout_s is None else dask_timeout_s)
    elif workers > 1:
        from conformance.offline.parallel import pool_partials

        partials = pool_partials(judge, paths, strict=strict, as_json=as_json, workers=workers, column=column,
                                 acceptance=acceptance)
    folder = ReportFolder.create(report_dir)
    started = time.time()
    evidence, tally = CheckEvidence(judge), Tally()
    try:
        run_check(judge, paths, strict=strict, output=output, evidence=evidence, tally=tally, acceptance=acceptance,
                  partials=partials, column=column)
    except KeyboardInterrupt:  # reports of what was judged, saying "interrupted", as `run` writes them
        tally.interrupted = True
        print("hems-conformance: interrupted: no verdict", file=sys.stderr)
    summary = check_summary(evidence, tally, judge, paths=[display(p) for p in paths], strict=strict,
                            command=command_line([display(a) for a in argv]), started=started, acceptance=acceptance)
    write_reports(folder, summary)
    for line in acceptance.lines() if acceptance else ():
        print(f"hems-conformance: baseline: {line}", file=sys.stderr)
    for line in github_annotations(summary, Redactor()) if annotations == "github" else ():
        print(line, flush=True)
    if tally.exit_code() in (0, 1):  # a verdict was reached: say what it does not cover
        for check in summary["checks"]:
            if check["status"] == Status.NOT_EXERCISED.value:
                print(f"hems-conformance: not exercised: {check['id']}: the input would need {check['needs']}",
                      file=sys.stderr)
    print(f"hems-conformance: reports in {folder.path}/ ({SUMMARY}, {HTML}, {JUNIT}, {MARKDOWN})", file=sys.stderr)
    return tally.exit_code()
