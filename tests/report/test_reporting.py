"""The report building blocks without a server: the folder and `latest`, the JSON window at a pointer,
`report compare`, and the evidence cap that keeps a report small however many findings a run has."""

from __future__ import annotations

import copy
import html
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.contract.findings import Finding
from conformance.contract.spec import load_contract
from conformance.live.live_cases import load_live_cases
from conformance.live.report_plugin import RunReport
from conformance.live.runner import LiveRun, RunOptions
from conformance.live.target import config_from_mapping
from conformance.report.compare import compare
from conformance.report.excerpt import CONTEXT_LINES, MARKED_LINES, body_excerpt, excerpt
from conformance.report.html import findings_html
from conformance.report.records import EVIDENCE_PER_CHECK, Evidence, Exchange
from conformance.report.redaction import Redactor
from conformance.report.summary import FULL_EVIDENCE, SUMMARY, SUMMARY_FORMAT, ReportFolder

NOW = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)
DOC = {"session": {"id": 7, "commands_applied": 3, "outcome": "no_surplus"},
       "decisions": [{"time": f"2026-06-01T09:{n:02d}:00Z", "kind": "hold"} for n in range(40)],
       "commands": []}


# --- the folder and `latest` ---


def test_default_folder_is_reports_utc_time_and_latest_follows_once_the_summary_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = ReportFolder.create(None, NOW)
    assert first.path == Path("reports/2026-06-01T09-00-00Z") and first.path.is_dir()
    first.publish()
    assert not Path("reports/latest").exists()  # nothing written yet: latest must not point at an empty run
    first.file(SUMMARY).write_text("{}", encoding="utf-8")
    first.publish()
    assert os.readlink("reports/latest") == "2026-06-01T09-00-00Z"
    second = ReportFolder.create(None, NOW)  # same second: a sibling, never the same folder
    assert second.path == Path("reports/2026-06-01T09-00-00Z-2")
    second.file(SUMMARY).write_text("{}", encoding="utf-8")
    second.publish()
    assert Path("reports/latest/summary.json").resolve() == second.file(SUMMARY).resolve()


def test_latest_is_a_text_file_where_symlinks_fail(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    folder = ReportFolder.create(None, NOW)
    folder.file(SUMMARY).write_text("{}", encoding="utf-8")
    folder.publish()
    assert Path("reports/latest").read_text(encoding="utf-8") == "2026-06-01T09-00-00Z\n"
    assert sorted(p.name for p in Path("reports").iterdir()) == ["2026-06-01T09-00-00Z", "latest"]


def test_report_dir_is_used_as_given_without_latest(tmp_path):
    folder = ReportFolder.create(str(tmp_path / "a" / "b"))
    folder.file(SUMMARY).write_text("{}", encoding="utf-8")
    folder.publish()
    assert folder.path == tmp_path / "a" / "b" and not (tmp_path / "a" / "latest").exists()


def test_an_unwritable_report_dir_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    code = main(["check", "--report-dir", str(blocker / "reports"), str(blocker)])
    assert code == 2
    assert capsys.readouterr().err.startswith(f"hems-conformance: error: cannot create report folder {blocker}")


# --- the window at a pointer ---


def test_excerpt_is_the_pretty_printed_document_around_the_pointer():
    lines = json.dumps(DOC, indent=2).splitlines()
    window = excerpt(DOC, "/decisions/20/kind")
    assert window.lines == tuple(lines[window.first_line - 1: window.first_line - 1 + len(window.lines)])
    low, high = window.marked
    assert low == high and lines[low - 1].strip() == '"kind": "hold"'
    assert low - window.first_line == CONTEXT_LINES and window.more


def test_excerpt_marks_a_whole_object_and_caps_a_long_one():
    window = excerpt(DOC, "/session")
    assert window.marked == (2, 6) and window.lines[1] == '  "session": {'
    window = excerpt(DOC, "/decisions")
    assert window.marked[1] - window.marked[0] + 1 == MARKED_LINES and window.more


def test_excerpt_falls_back_to_the_nearest_existing_parent():
    window = excerpt(DOC, "/session/commands_sent")  # a required property that is missing
    assert window.pointer == "/session"
    assert excerpt(DOC, "/decisions/99/time").pointer == "/decisions"
    assert excerpt({"a/b": {"~": 1}}, "/a~1b/~0").pointer == "/a~1b/~0"


def test_a_body_that_is_not_json_shows_its_head():
    window = body_excerpt("<html><body>\n<h1>Error 500</h1>\n</body></html>", "/session/id")
    assert window.lines == ("<html><body>", "<h1>Error 500</h1>", "</body></html>") and window.marked is None


# --- compare ---


def summary(*checks: dict, exit_code: int | None = None) -> dict:
    failing = any(c["status"] == "failed" for c in checks)
    code = (1 if failing else 0) if exit_code is None else exit_code
    return {"format": SUMMARY_FORMAT, "kind": "run", "verdict": "non-conformant" if code else "conformant",
            "exit_code": code, "metadata": {"strict": False}, "checks": list(checks)}


def check(check_id: str, status: str, *findings: dict, total: int | None = None) -> dict:
    return {"id": check_id, "status": status, "findings": list(findings),
            "findings_total": len(findings) if total is None else total}


def finding(check_id: str, message: str, level: str = "MUST", port: int = 8000) -> dict:
    return {"id": check_id, "level": level, "pointer": "/session/id", "message": message,
            "request": {"method": "GET", "url": f"http://127.0.0.1:{port}/api/x/1"}}


def test_compare_names_new_and_fixed_findings_and_changed_verdicts():
    old = summary(check("CNT-002", "failed", finding("CNT-002", "off by one")), check("RSP-003", "passed"))
    new = summary(check("CNT-002", "passed"), check("RSP-003", "failed", finding("RSP-003", "traceback")))
    result = compare(old, new)
    assert [f["id"] for f in result.new_findings] == ["RSP-003"]
    assert [f["id"] for f in result.fixed_findings] == ["CNT-002"]
    assert result.changed == [("CNT-002", "failed", "passed"), ("RSP-003", "passed", "failed")]
    assert result.worse == ["RSP-003 now fails"]
    fixed_only = summary(check("CNT-002", "passed"), check("RSP-003", "passed"))
    assert compare(old, fixed_only).worse == [] and compare(new, fixed_only).worse == []


def test_the_same_findings_on_another_port_are_the_same():
    old = summary(check("CNT-002", "failed", finding("CNT-002", "off by one", port=8000)))
    new = summary(check("CNT-002", "failed", finding("CNT-002", "off by one", port=9999)))
    result = compare(old, new)
    assert (result.new_findings, result.fixed_findings, result.changed, result.worse) == ([], [], [], [])


def test_a_new_failing_finding_in_a_failing_check_is_worse_unless_the_old_evidence_was_capped():
    old = summary(check("CNT-002", "failed", finding("CNT-002", "a")))
    new = summary(check("CNT-002", "failed", finding("CNT-002", "a"), finding("CNT-002", "b")))
    assert compare(old, new).worse == ["CNT-002 fails in new ways"]
    capped = summary(check("CNT-002", "failed", finding("CNT-002", "a"), total=50))
    result = compare(capped, new)
    assert len(result.new_findings) == 1 and result.worse == []  # "b" may be one of the 49 not kept
    warned = summary(check("CNT-002", "failed", finding("CNT-002", "a"), finding("CNT-002", "c", "SHOULD")))
    assert compare(old, warned).worse == []  # a new SHOULD finding does not fail without --strict


def test_one_defect_seen_through_several_requests_compares_as_one_finding_whichever_request_was_kept():
    def grouped(kept_port: int, kept: str) -> dict:
        entry = finding("CNT-002", "off by one", port=kept_port) | {"requests": 3, "seen_in": [
            {"method": "GET", "url": f"http://127.0.0.1:{kept_port}/api/x/{n}", "status": 200} for n in (1, 2, 3)]}
        entry["request"]["url"] = f"http://127.0.0.1:{kept_port}/api/x/{kept}"
        return summary(check("CNT-002", "failed", entry))

    result = compare(grouped(8000, "1"), grouped(9999, "3"))
    assert (result.new_findings, result.fixed_findings, result.worse) == ([], [], [])
    assert compare(summary(check("CNT-002", "passed")), grouped(8000, "2")).lines()[2] == (
        "new: CNT-002 MUST /session/id: off by one [GET http://127.0.0.1:8000/api/x/1 and 2 more request(s)]")


def test_comparing_a_run_with_a_check_warns():
    checked = summary() | {"kind": "check"}
    assert compare(summary(), checked).lines()[0].startswith("warning: comparing a run summary with a check one")
    assert compare(summary(), summary()).warnings == []


def test_a_run_that_became_untestable_is_worse():
    assert compare(summary(), summary(exit_code=3)).worse == ["verdict conformant -> non-conformant"]


def write(path: Path, body: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / SUMMARY).write_text(json.dumps(body), encoding="utf-8")
    return path


def test_compare_command_exit_codes_and_output(tmp_path, capsys):
    old = write(tmp_path / "old", summary(check("CNT-002", "failed", finding("CNT-002", "off by one"))))
    new = write(tmp_path / "new", summary(check("CNT-002", "passed")))
    assert main(["report", "compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "changed: CNT-002 failed -> passed" in out
    assert out[-1] == "0 new finding(s), 1 fixed, 1 changed verdict(s): nothing got worse"
    assert main(["report", "compare", str(new / SUMMARY), str(old / SUMMARY), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["worse"] == ["verdict conformant -> non-conformant", "CNT-002 now fails"]
    assert report["exit_code"] == 1


@pytest.mark.parametrize(("content", "message"), [(None, "cannot read"), ("{", "not a summary.json"),
                                                  ('{"format": "other"}', "not a hems-conformance summary.json")])
def test_compare_unreadable_input_is_exit_2_in_one_line(tmp_path, capsys, content, message):
    good = write(tmp_path / "good", summary())
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    assert main(["report", "compare", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(bad) in err


# --- the cap ---


@pytest.mark.e2e
def test_a_hundred_thousand_findings_make_a_report_of_bounded_size():
    """Every check fails 100k/len times on 64 KiB bodies: the summary keeps 10 per check, 5 in full, and the
    HTML evidence 3 in full; both stay far below the 5 MB a report may take."""
    contract = load_contract()
    config = config_from_mapping({"base_url": "http://127.0.0.1:9", "auth": {"grant": "none"}, "sessions": [
        {"org_id": "0f64da7c-b525-5788-8be1-d5140534f4db", "user_id": "d19f9bfb-07c9-513c-9e82-0f3bfaa3304f",
         "wallbox_id": "59c32d97-6624-50d9-b4a8-e5baedb9a040", "session_id": 1}]},
        default_token_url=contract.token_url)
    run = LiveRun(config, contract, RunOptions(profile="ci"))
    for case in load_live_cases():
        run.add_case(case)
    body = copy.deepcopy(DOC)
    body["padding"] = "x" * 65536
    text = json.dumps(body)
    headers = {f"x-header-{n}": "v" * 100 for n in range(20)}
    exchange = Exchange("GET", "http://127.0.0.1:9/api/" + "p" * 2000, {"Authorization": "Bearer [REDACTED]"},
                        200, headers, text, 1.0)
    ids = list(run.ledger.records)
    for n in range(100_000):
        check_id = ids[n % len(ids)]
        message = f"{'m' * 300} {n}"  # distinct findings: the same one through many requests is one
        finding = Finding("/decisions/3/time", message, "e" * 1000, "a" * 1000, check_id, run.level_of(check_id))
        run.ledger.add(Evidence(finding, exchange, "curl " + "c" * 2000))
    report = RunReport(run, "hems-conformance run", None)
    report.finish(1)
    data = report.summary()
    assert sum(c["findings_total"] for c in data["checks"]) == 100_000
    assert all(1 <= len(c["findings"]) <= EVIDENCE_PER_CHECK for c in data["checks"])
    assert all(len([f for f in c["findings"] if "excerpt" in f]) <= FULL_EVIDENCE for c in data["checks"])
    summary_bytes = len(json.dumps(data, indent=2).encode())
    # pytest-html keeps each check's evidence HTML as JSON in an HTML attribute: measure it that way
    html_bytes = sum(len(html.escape(json.dumps(findings_html(c))).encode()) for c in data["checks"])
    print(f"100k findings over {len(ids)} checks: summary.json {summary_bytes / 1e6:.2f} MB, "
          f"evidence HTML {html_bytes / 1e6:.2f} MB")
    assert summary_bytes + html_bytes < 4_000_000  # and the rest of the HTML, the JUnit XML: well under 5 MB


# --- what the redactor masks in report text ---


@pytest.mark.parametrize(("text", "shown"), [
    ('{"detail": "bad header Authorization: Bearer abc.def-ghi"}',
     '{"detail": "bad header Authorization: Bearer [REDACTED]"}'),
    ("'Bearer tok=='", "'Bearer [REDACTED]'"),
    ('Bearer realm="hems", error="invalid_token", error_description="expired"',
     'Bearer realm="hems", error="invalid_token", error_description="expired"'),
    ("curl -H 'Authorization: Bearer $HEMS_TOKEN'", "curl -H 'Authorization: Bearer $HEMS_TOKEN'"),
    ('{"received": "Basic Y2xpZW50OnMzY3JldA=="}', '{"received": "Basic [REDACTED]"}'),
    ('Basic realm="hems", charset="UTF-8"', 'Basic realm="hems", charset="UTF-8"'),
    ("basic authentication is not offered", "basic authentication is not offered"),
    ("Every 401 carries a WWW-Authenticate challenge for the Bearer scheme.",
     "Every 401 carries a WWW-Authenticate challenge for the Bearer scheme."),
    ("401 without a Bearer challenge", "401 without a Bearer challenge"),
    ("Authorization: Bearer not a token", "Authorization: Bearer not a token"),
    ("expected WWW-Authenticate: Bearer ...", "expected WWW-Authenticate: Bearer ..."),  # AUTH-004's expected value
    ("Bearer AbCdEfGhIjKlMnOpQrStUvWx", "Bearer [REDACTED]"),  # letters only, but as long as a token
])
def test_bearer_and_basic_credentials_are_masked_anywhere_and_challenges_stay_readable(text, shown):
    assert Redactor().text(text) == shown


def test_a_known_secret_is_masked_whatever_its_shape():
    assert Redactor(["hunter"]).text("Bearer hunter, said the log") == "Bearer [REDACTED], said the log"
