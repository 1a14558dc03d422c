"""gl-code-quality-report.json: the findings as a GitLab Code Quality report (the subset of the Code Climate
issue format GitLab documents: description, check_name, fingerprint, severity, location.path and
location.lines.begin), for the merge request's Code Quality widget (`artifacts:reports:codequality`).

One issue per finding kept in summary.json (findings only counted are in report.html's counts), at most one per
fingerprint. The fingerprint is stable across runs and ports: the check ID, the JSON pointer and the file, never
a time, port or request ID, so GitLab tells new findings from old ones. A live finding points at the spec file
(the contract it breaks), a `check` finding at its payload file (and line, for JSON Lines). Severity by what
the finding does to the verdict: a failing MUST is critical, a failing SHOULD (--strict) major, a SHOULD warning
minor, an INFO note info; accepted findings (a baseline) are left out, and a run without a verdict or an unreadable
input is one blocker.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from conformance.report.records import SIBLING_KIND, Status
from conformance.report.summary import every_check, finding_line, local_path

CODE_QUALITY = "gl-code-quality-report.json"
# a payload's label (file, file:LINE, file[INDEX]) or an input error's source (file:LINE:COLUMN)
_LABEL = re.compile(r"(?P<path>.*?)(?::(?P<line>[0-9]+)(?::[0-9]+)?|\[[0-9]+\])?")


def code_quality_json(summary: dict[str, Any]) -> str:
    """The Code Quality report of a run's or a check's summary: a JSON array of issues."""
    spec = local_path(str(summary["metadata"].get("spec", {}).get("path") or "openapi.yaml"))
    siblings = summary.get("siblings") or {}
    contracts = {SIBLING_KIND: local_path(str(siblings.get("contract") or spec))}
    strict = bool(summary["metadata"].get("strict"))
    issues: dict[str, dict[str, Any]] = {}
    for check in every_check(summary):
        if check["status"] == Status.ACCEPTED.value:  # a baseline accepted them: known, reasoned, not new
            continue
        for finding in check["findings"]:
            severity = _severity(str(finding.get("level")), strict)
            path, line = _location(finding, contracts.get(check["kind"], spec))
            issue = _issue(check["id"], finding_line(finding), severity, path, line, str(finding.get("pointer") or "/"))
            seen = issues.setdefault(issue["fingerprint"], issue)
            if seen is not issue:  # the same check at the same pointer of the same file: one issue, counted
                seen["count"] = seen.get("count", 1) + 1
    for issue in issues.values():
        issue["description"] += f" (and {issue.pop('count') - 1} more at this pointer)" if "count" in issue else ""
    stopped = summary["metadata"].get("target_error")
    if summary["kind"] == "run" and summary["exit_code"] not in (0, 1):
        issues["run"] = _issue("hems-conformance", f"no verdict: {summary['verdict']}: {stopped or 'see the log'}",
                               "blocker", spec, 1, "target-testable")
    for error in summary.get("input_errors") or []:
        path, line = _location(error, spec)
        issue = _issue("hems-conformance", f"unreadable input: {error['source']}: {error['message']}", "blocker",
                       path, line, "readable input")
        issues.setdefault(issue["fingerprint"], issue)
    return json.dumps(list(issues.values()), indent=2, ensure_ascii=False) + "\n"


def _severity(level: str, strict: bool) -> str:
    """A failing MUST is critical, a SHOULD major when --strict fails it and minor otherwise, INFO info."""
    return {"MUST": "critical", "SHOULD": "major" if strict else "minor"}.get(level, "info")


def _location(finding: dict[str, Any], spec: str) -> tuple[str, int]:
    """The file a finding is about and its line: a payload's label (`check`), or the spec (`run`)."""
    source = finding.get("source")
    if not source:
        return spec, 1
    label = _LABEL.fullmatch(str(source))
    if label is None:  # a label over several lines: as it is
        return local_path(str(source)), 1
    return local_path(label["path"]), int(label["line"] or 1)


def _issue(check_name: str, description: str, severity: str, path: str, line: int, pointer: str) -> dict[str, Any]:
    fingerprint = hashlib.sha256("\0".join((check_name, pointer, path)).encode("utf-8")).hexdigest()
    return {"description": description, "check_name": check_name, "fingerprint": fingerprint,
            "severity": severity, "location": {"path": path, "lines": {"begin": line}}}
