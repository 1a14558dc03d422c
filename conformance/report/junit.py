"""junit.xml for CI dashboards, from summary.json's data alone, for `run` and `check` alike.

One suite named `hems-conformance`, its `<properties>` saying what was judged and how (target, spec SHA-256,
seed, profile, strict, command, suite version, the SHA-256 of summary.json); one test case per check:
`failure` for a check that fails the verdict, `skipped` for one skipped, not exercised or accepted by the
baseline (its reason as the message, no body: no install path), `system-out` listing the findings of a
check with SHOULD warnings or INFO notes, and a `warning` (or `info`) property marking it. Three cases belong
to no check, so that a CI system that reads only JUnit never shows a run without a verdict as green:
`target-testable` (run), `readable input` (check) and `baseline entries` (a stale entry).
The same summary gives the same bytes: times and names come from it, not from the machine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.report.records import Status
from conformance.report.summary import every_check, finding_line, local_path

SUITE = "hems-conformance"
SHOWN = 20  # findings listed per test case; the rest are in report.html and summary.json
_CLASSNAMES = {"invariant": "catalogue"}  # the catalogue's invariants; live cases, fuzz and sibling checks by kind
_SKIPS = {Status.SKIPPED.value: "pytest.skip", Status.NOT_EXERCISED.value: "pytest.skip",
          Status.ACCEPTED.value: "pytest.xfail"}


def junit_xml(summary: dict[str, Any], summary_sha256: str = "") -> str:
    """The JUnit XML of a run's or a check's summary (xunit2 with properties on the cases that warn)."""
    meta = summary["metadata"]
    suite = ET.Element("testsuite", name=SUITE, errors="0", failures="0", skipped="0", tests="0",
                       time=f"{meta['duration_s']:.3f}", timestamp=meta["started_at"])
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(summary, summary_sha256):
        ET.SubElement(properties, "property", name=name, value=value)
    for check in every_check(summary):
        _check_case(suite, check)
    for classname, name, failure, lines in _verdict_cases(summary):
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0.000")
        if failure:
            ET.SubElement(case, "failure", message=failure).text = "\n".join(lines) or None
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(case.find("failure") is not None for case in cases)))
    suite.set("skipped", str(sum(case.find("skipped") is not None for case in cases)))
    root = ET.Element("testsuites", name=SUITE)
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _properties(summary: dict[str, Any], summary_sha256: str) -> list[tuple[str, str]]:
    """What was judged and how: every value from summary.json; no credentials, no absolute local path."""
    meta = summary["metadata"]
    target = _without_credentials(meta["target_url"]) if meta.get("target_url") else \
        " ".join(local_path(p) for p in meta.get("inputs", []))
    pairs = [("target", target), ("spec_sha256", meta["spec"]["sha256"]), ("spec_version", meta["spec"]["version"]),
             ("seed", meta.get("seed")), ("profile", meta.get("profile")), ("strict", str(meta["strict"]).lower()),
             ("command", meta["command"]), ("suite_version", meta["suite_version"]), ("kind", summary["kind"]),
             ("verdict", summary["verdict"]), ("exit_code", summary["exit_code"]), ("summary_sha256", summary_sha256)]
    return [(name, str(value)) for name, value in pairs if value not in (None, "")]


def _without_credentials(url: str) -> str:
    """A base URL without user:password@ and query (where a careless config would carry a key)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _check_case(suite: ET.Element, check: dict[str, Any]) -> None:
    case = ET.SubElement(suite, "testcase", classname=_CLASSNAMES.get(check["kind"], check["kind"]), name=check["id"],
                         time="0.000")
    status = check["status"]
    if status in (Status.WARNING.value, Status.INFO.value):  # passes the verdict, but is not a plain pass
        marks = ET.SubElement(case, "properties")
        ET.SubElement(marks, "property", name=status, value=f"{check['findings_total']} {check['level']} finding(s)")
    if status == Status.FAILED.value:
        failure = ET.SubElement(case, "failure", message=f"{check['findings_total']} finding(s): {check['statement']}")
        failure.text = _findings(check)
    elif status in _SKIPS:
        ET.SubElement(case, "skipped", type=_SKIPS[status], message=_skip_message(check))
    elif status in (Status.WARNING.value, Status.INFO.value):
        ET.SubElement(case, "system-out").text = (f"{status.upper()} {check['id']} {check['level']}: "
                                                  f"{check['statement']}\n{_findings(check)}")


def _findings(check: dict[str, Any]) -> str:
    lines = [finding_line(finding) for finding in check["findings"][:SHOWN]]
    more = check["findings_total"] - len(lines)
    return "\n".join(lines + ([f"... {more} more in report.html and summary.json"] if more > 0 else []))


def _skip_message(check: dict[str, Any]) -> str:
    if check["status"] == Status.NOT_EXERCISED.value:
        return f"not exercised: needs {check['needs']}"
    if check["status"] == Status.ACCEPTED.value:
        return "accepted by the baseline: " + "; ".join(f"until {e['expires']}: {e['reason']}"
                                                          for e in check.get("accepted_by", []))
    return str(check["skip_reason"])


def _verdict_cases(summary: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    """The cases that belong to no check: (classname, name, failure message or "", failure lines)."""
    cases: list[tuple[str, str, str, list[str]]] = []
    if summary["kind"] == "run":  # fails only without a verdict (exit 2, 3 or 130): every check is skipped then
        stopped = summary["exit_code"] not in (0, 1)
        cause = summary["metadata"].get("target_error") or f"exit {summary['exit_code']}"
        cases.append(("run", "target-testable", f"no verdict: {summary['verdict']}: {cause}" if stopped else "", []))
    errors = summary.get("input_errors") or []
    if summary["kind"] == "check" and errors:  # unreadable input is no invariant's failure
        cases.append(("input", "readable input", f"{summary['counts']['input_errors']} input error(s)",
                      [f"{e['source']}: {e['message']}" for e in errors]))
    baseline = summary.get("baseline")
    if isinstance(baseline, dict):  # a stale entry fails the run (exit 1) and belongs to no check
        stale = baseline.get("stale") or []
        cases.append(("baseline", "baseline entries", f"{len(stale)} stale entry(ies)" if stale else "",
                      [f"accept[{e['entry']}] ({e['check']}) matched nothing: delete it from "
                       f"{local_path(baseline['file'])}" for e in stale]))
    return cases
