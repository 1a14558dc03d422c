"""The reports of `hems-conformance check`: summary.json, report.html, junit.xml and summary.md, like a live run's.

Payloads stream past and are gone, so the evidence is taken as they pass: per invariant, the first few
findings keep their payload's label (file, file:LINE or file[INDEX]) and a window of the payload around
the pointer; every other finding is only counted. Memory stays flat however large the input.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from conformance.contract.judge import Judge
from conformance.offline.evidence import CheckEvidence
from conformance.offline.remote import refuse_secrets
from conformance.offline.sources import display
from conformance.offline.stream import Tally, run_check
from conformance.report.baseline import Acceptance, Baseline, BaselineDays, account_lines
from conformance.report.markdown import github_annotations
from conformance.report.records import Status
from conformance.report.redaction import Redactor
from conformance.report.summary import (
    Produced,
    ReportFolder,
    base_metadata,
    build_summary,
    command_line,
    local_names,
    redact_tree,
)
from conformance.report.writers import open_line, reports_line, write_baseline, write_reports


def check_summary(evidence: CheckEvidence, tally: Tally, judge: Judge, *, paths: list[str], strict: bool,
                  command: str, started: float, acceptance: Acceptance | None = None) -> dict[str, Any]:
    evidence.settle(strict)
    metadata = base_metadata(judge.contract, judge.settings, strict=strict, command=command, started=started,
                             finished=time.time())
    counted = {"payloads": tally.payloads, "failing_payloads": tally.failing_payloads,
               "not_evaluated": tally.not_evaluated, "input_errors": evidence.error_count}
    if tally.skipped:  # only recordings (HAR) have exchanges that are not responses of the session endpoint
        counted["skipped_exchanges"] = tally.skipped
    produced = Produced("check", evidence.records, evidence.coverage, evidence.sessions, acceptance,
                        input_errors=evidence.errors)
    summary = build_summary(produced, strict=strict, exit_code=tally.exit_code(), verdict=tally.verdict(),
                            metadata=metadata | {"inputs": paths}, counted=counted)
    return summary | {"finding_groups": evidence.groups.to_dict()}


def check_with_reports(judge: Judge, paths: list[str], *, strict: bool, output: str, report_dir: str | None,
                       argv: list[str], baseline: Baseline | None = None, annotations: str = "none",
                       workers: int = 1, column: str | None = None, dask: str | None = None,
                       dask_timeout_s: float | None = None, baseline_days: BaselineDays | None = None,
                       baseline_update: str | None = None, verbose: bool = False) -> int:
    """`hems-conformance check`: judge the inputs as they stream (here, in `workers` processes, or on a Dask
    cluster), then write the reports (and with `annotations="github"`, print one workflow annotation per failing
    check; with `baseline_update`, write that baseline file after the verdict)."""
    for path in paths:
        refuse_secrets(path)
    baseline_days = baseline_days or BaselineDays()
    acceptance = Acceptance(baseline, warn_days=baseline_days.warn, recording=bool(baseline_update)) \
        if baseline else None
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
                  partials=partials, column=column, verbose=verbose)
    except KeyboardInterrupt:  # reports of what was judged, saying "interrupted", as `run` writes them
        tally.interrupted = True
        print("hems-conformance: interrupted: no verdict", file=sys.stderr)
    redactor = Redactor()  # a check holds no credentials of its own: it masks those the payloads carry
    summary = redact_tree(local_names(check_summary(evidence, tally, judge, paths=[display(p) for p in paths],
                                                    strict=strict, command=command_line([display(a) for a in argv]),
                                                    started=started, acceptance=acceptance),
                                      [display(p) for p in paths]), redactor)
    write_reports(folder.path, summary, redactor)
    folder.publish()
    for line in account_lines(summary["baseline"]) if acceptance else ():
        print(f"hems-conformance: baseline: {line}", file=sys.stderr)
    if baseline_update and acceptance is not None and tally.exit_code() in (0, 1):
        update = acceptance.updated(evidence.records.values(), strict, expiry_days=baseline_days.expiry)
        print(write_baseline(baseline_update, update), file=sys.stderr)
    elif baseline_update:
        print(f"hems-conformance: baseline: {baseline_update} not updated: the check reached no verdict", file=sys.stderr)
    for line in github_annotations(summary, redactor) if annotations == "github" else ():
        print(line, flush=True)
    if tally.exit_code() in (0, 1):  # a verdict was reached: say what it does not cover
        for check in summary["checks"]:
            if check["status"] == Status.NOT_EXERCISED.value:
                print(f"hems-conformance: not exercised: {check['id']}: the input would need {check['needs']}",
                      file=sys.stderr)
    print(reports_line(folder.path), file=sys.stderr)
    for line in open_line(folder.path) if tally.exit_code() in (0, 1) else ():
        print(line, file=sys.stderr)
    return tally.exit_code()
