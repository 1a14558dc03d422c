"""junit.xml, in the shape pytest writes (xunit2), from summary.json's data: one test case per check.

CI systems read it for the per-check view; the verdict is the exit code and summary.json.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from conformance.report.records import Status


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
