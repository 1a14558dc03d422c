"""The reports CI systems read, from a summary alone: junit.xml (one writer for `run` and `check`), the GitLab Code
Quality report, summary.json's SHA-256 named by the other reports, and `report verify` that recomputes it."""

from __future__ import annotations

import copy
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from conformance import __version__
from conformance.cli import main
from conformance.report.codequality import CODE_QUALITY, code_quality_json
from conformance.report.junit import junit_xml
from conformance.report.redaction import Redactor
from conformance.report.summary import SUMMARY_SCHEMA
from conformance.report.writers import ALL, WRITERS, write_reports

JUNIT_XSD = Path(__file__).resolve().parents[1] / "support" / "junit.xsd"
SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"


def _check(check_id: str, status: str, level: str = "MUST", findings: list[dict] | None = None, **extra) -> dict:
    findings = findings or []
    return {"id": check_id, "kind": "invariant", "level": level, "statement": f"{check_id} holds.", "citation": "c",
            "basis": "normative", "status": status, "skip_reason": "", "needs": "", "proof": {"cases": [], "faults": []},
            "judged": 3, "findings_total": len(findings), "findings_by_level": {level: len(findings)} if findings else {},
            "findings": findings, **extra}


def _finding(check_id: str, level: str, pointer: str, port: int = 8000, **extra) -> dict:
    return {"id": check_id, "level": level, "message": f"{pointer} is wrong", "pointer": pointer, "expected": 1,
            "actual": 2, "request": {"method": "GET", "url": f"http://127.0.0.1:{port}/api/x/hems-sessions/7"}, **extra}


def summary_of(kind: str = "run", exit_code: int = 1, port: int = 8000, **extra) -> dict:
    """A summary.json of the shape build_summary writes (validated against its schema below)."""
    checks = [_check("CNT-002", "failed", findings=[_finding("CNT-002", "MUST", "/session/commands_applied", port),
                                                    _finding("CNT-002", "MUST", "/session/commands_applied", port)]),
              _check("TIM-003", "warning", "SHOULD", [_finding("TIM-003", "SHOULD", "/decisions/0/time", port)]),
              _check("PHY-006", "info", "INFO", [_finding("PHY-006", "INFO", "/commands/1", port)]),
              _check("AUTH-005", "skipped", skip_reason="no [tenant_b] configured"),
              _check("OUT-003", "not_exercised", needs="an ended session whose outcome is no_surplus"),
              _check("CNT-004", "accepted", findings=[_finding("CNT-004", "MUST", "/session/commands_sent", port)],
                     accepted_by=[{"entry": 0, "check": "CNT-004", "reason": "fix in 2.4", "expires": "2099-12-31"}]),
              _check("SCH-001", "passed")]
    metadata = {"suite": "hems-conformance", "suite_version": __version__,
                "spec": {"title": "Podero Partner API", "version": "2.0", "sha256": hashlib.sha256(SPEC.read_bytes()).hexdigest(),
                         "path": str(SPEC)},
                "strict": False, "readings": {}, "started_at": "2026-06-01T09:00:00+00:00", "duration_s": 12.5,
                "command": "hems-conformance run --profile quick", "python": "3.11.9"}
    if kind == "run":
        metadata |= {"target_url": f"https://user:hunter2@api.example.com:{port}/base?key=k1", "profile": "quick",
                     "seed": 7, "target_error": "" if exit_code in (0, 1) else "the token endpoint answered 503"}
    else:
        metadata |= {"inputs": ["payloads/a.jsonl", str(Path.cwd().parent / "elsewhere" / "b.json")]}
    verdict = {0: "conformant", 1: "non-conformant", 2: "incomplete", 3: "target could not be tested"}[exit_code]
    summary = {"format": "hems-conformance-summary/1", "kind": kind, "verdict": verdict, "exit_code": exit_code,
               "metadata": metadata, "counts": {"checks": {}, "findings_by_level": {}, "findings": 0}, "checks": checks,
               "coverage": {}, "sessions": {"sessions_with_findings": 0, "full": [], "by_outcome": []},
               "spec_findings": [], "notes": [], **extra}
    jsonschema.Draft202012Validator(json.loads(SUMMARY_SCHEMA.read_text(encoding="utf-8"))).validate(summary)
    return summary


def cases(xml: str) -> dict[str, ET.Element]:
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(xml)
    return {case.get("name"): case for case in ET.fromstring(xml).iter("testcase")}


# --- junit.xml ---


def test_junit_names_its_suite_and_says_what_was_judged_and_how():
    xml = junit_xml(summary_of(), "ab" * 32)
    suite = ET.fromstring(xml).find("testsuite")
    assert suite.get("name") == "hems-conformance" and ET.fromstring(xml).get("name") == "hems-conformance"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["target"] == "https://api.example.com:8000/base"  # no credentials, no query
    assert properties["spec_sha256"] == hashlib.sha256(SPEC.read_bytes()).hexdigest()
    assert (properties["seed"], properties["profile"], properties["strict"]) == ("7", "quick", "false")
    assert properties["command"] == "hems-conformance run --profile quick"
    assert properties["suite_version"] == __version__ and properties["summary_sha256"] == "ab" * 32
    assert "hunter2" not in xml and "k1" not in xml
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("8", "1", "3")


@pytest.mark.parametrize(("url", "shown"), [("http://[::1]:8080/gw/", "http://[::1]:8080/gw/"),
                                            ("https://u:p%40ss@api.example.com/v2", "https://api.example.com/v2"),
                                            ("https://api.example.com", "https://api.example.com")])
def test_junit_target_is_the_base_url_as_configured_without_credentials(url, shown):
    summary = summary_of()
    summary["metadata"]["target_url"] = url
    properties = {p.get("name"): p.get("value") for p in ET.fromstring(junit_xml(summary)).find("testsuite/properties")}
    assert properties["target"] == shown


def test_junit_marks_should_warnings_and_info_notes_and_lists_their_findings():
    found = cases(junit_xml(summary_of()))
    warning = found["TIM-003"]
    assert {p.get("name"): p.get("value") for p in warning.iter("property")} == {"warning": "1 SHOULD finding(s)"}
    assert "TIM-003 SHOULD /decisions/0/time: /decisions/0/time is wrong" in warning.find("system-out").text
    assert warning.find("failure") is None and warning.find("skipped") is None  # a warning passes the verdict
    assert [p.get("name") for p in found["PHY-006"].iter("property")] == ["info"]
    assert not list(found["SCH-001"]) and not list(found["CNT-002"].iter("property"))


def test_junit_skips_carry_their_reason_and_no_body():
    found = cases(junit_xml(summary_of()))
    assert found["AUTH-005"].find("skipped").get("message") == "no [tenant_b] configured"
    assert found["OUT-003"].find("skipped").get("message") == "not exercised: needs an ended session whose outcome is no_surplus"
    accepted = found["CNT-004"].find("skipped")
    assert (accepted.get("type"), accepted.get("message")) == ("pytest.xfail", "accepted by the baseline: until 2099-12-31: fix in 2.4")
    assert all(not skipped.text for case in found.values() for skipped in case.iter("skipped"))


@pytest.mark.parametrize(("exit_code", "fails"), [(0, False), (1, False), (2, True), (3, True)])
def test_target_testable_fails_only_when_the_run_reached_no_verdict(exit_code, fails):
    case = cases(junit_xml(summary_of(exit_code=exit_code)))["target-testable"]
    assert (case.find("failure") is not None) is fails
    if fails:
        assert "the token endpoint answered 503" in case.find("failure").get("message")


def test_check_has_readable_input_only_with_input_errors_and_no_absolute_paths():
    clean = cases(junit_xml(summary_of("check")))
    assert "readable input" not in clean and "target-testable" not in clean
    errors = [{"source": "bad.json:1:2", "message": "invalid JSON"}]
    summary = summary_of("check", exit_code=2, input_errors=errors)
    summary["counts"]["input_errors"] = 1
    xml = junit_xml(summary)
    failure = cases(xml)["readable input"].find("failure")
    assert failure.get("message") == "1 input error(s)" and failure.text == "bad.json:1:2: invalid JSON"
    properties = {p.get("name"): p.get("value") for p in ET.fromstring(xml).find("testsuite/properties")}
    assert properties["target"] == "payloads/a.jsonl b.json" and str(Path.cwd().parent) not in xml
    assert "seed" not in properties and "profile" not in properties


def test_a_stale_baseline_entry_fails_its_own_case_not_target_testable():
    stale = {"file": "baseline.toml", "today": "2026-06-01", "accepted": [], "expired": [],
             "stale": [{"entry": 1, "check": "OUT-001", "reason": "r", "expires": "2099-01-01"}]}
    found = cases(junit_xml(summary_of(baseline=stale)))
    assert "accept[1] (OUT-001) matched nothing" in found["baseline entries"].find("failure").text
    assert found["target-testable"].find("failure") is None
    fresh = cases(junit_xml(summary_of(baseline=stale | {"stale": []})))
    assert fresh["baseline entries"].find("failure") is None


def test_the_same_summary_gives_the_same_junit():
    assert junit_xml(summary_of()) == junit_xml(summary_of())


# --- gl-code-quality-report.json ---


def test_code_quality_has_one_issue_per_defect_with_gitlabs_fields_and_severities():
    issues = json.loads(code_quality_json(summary_of()))
    assert {i["check_name"]: i["severity"] for i in issues} == {"CNT-002": "critical", "TIM-003": "minor",
                                                                 "PHY-006": "info"}  # accepted CNT-004 left out
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["location"] == {"path": "openapi.yaml", "lines": {"begin": 1}} or \
            issue["location"]["path"].endswith("spec/openapi.yaml")
    cnt = next(i for i in issues if i["check_name"] == "CNT-002")
    assert cnt["description"].startswith("CNT-002 MUST /session/commands_applied") and "(and 1 more" in cnt["description"]
    strict = summary_of()
    strict["metadata"]["strict"] = True
    assert {i["check_name"]: i["severity"] for i in json.loads(code_quality_json(strict))}["TIM-003"] == "major"


def test_code_quality_fingerprints_are_stable_across_runs_and_ports_and_differ_by_pointer():
    first = {i["check_name"]: i["fingerprint"] for i in json.loads(code_quality_json(summary_of(port=8000)))}
    again = {i["check_name"]: i["fingerprint"] for i in json.loads(code_quality_json(summary_of(port=9999)))}
    assert first == again and len(set(first.values())) == len(first)


def test_code_quality_of_check_points_at_the_payload_file_and_line():
    summary = summary_of("check", exit_code=1)
    summary["checks"][0]["findings"] = [_finding("CNT-002", "MUST", "/session/commands_applied", source="payloads/a.jsonl:3"),
                                        _finding("CNT-002", "MUST", "/session/commands_applied", source="payloads/b.json[4]")]
    issues = [i for i in json.loads(code_quality_json(summary)) if i["check_name"] == "CNT-002"]
    assert [i["location"] for i in issues] == [{"path": "payloads/a.jsonl", "lines": {"begin": 3}},
                                               {"path": "payloads/b.json", "lines": {"begin": 1}}]
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]  # GitLab shows one issue per fingerprint


def test_code_quality_points_an_unreadable_input_at_its_file_and_line():
    summary = summary_of("check", exit_code=2, input_errors=[{"source": "bad.json:4:2", "message": "invalid JSON"}])
    [blocker] = [i for i in json.loads(code_quality_json(summary)) if i["severity"] == "blocker"]
    assert blocker["location"] == {"path": "bad.json", "lines": {"begin": 4}}


def test_code_quality_names_a_run_without_a_verdict_as_a_blocker():
    issues = json.loads(code_quality_json(summary_of(exit_code=3)))
    assert any(i["severity"] == "blocker" and "the token endpoint answered 503" in i["description"] for i in issues)
    assert all(i["severity"] != "blocker" for i in json.loads(code_quality_json(summary_of())))


# --- the writer list and summary.json's SHA-256 ---


def test_every_format_is_one_writer_and_summary_json_comes_first():
    assert ALL[0] == "summary.json" and CODE_QUALITY in ALL and "junit.xml" in ALL
    assert len({w.name for w in WRITERS}) == len(WRITERS)


def written(tmp_path: Path, summary: dict | None = None) -> Path:
    tmp_path.mkdir(exist_ok=True)
    write_reports(tmp_path, summary or summary_of(), Redactor())
    return tmp_path


def test_the_other_reports_name_the_sha256_of_the_summary_json_written_first(tmp_path):
    folder = written(tmp_path)
    digest = hashlib.sha256((folder / "summary.json").read_bytes()).hexdigest()
    assert f"summary.json SHA-256: `{digest}`" in (folder / "summary.md").read_text(encoding="utf-8")
    assert f"summary.json SHA-256: <code>{digest}</code>" in (folder / "report.html").read_text(encoding="utf-8")
    assert f'<property name="summary_sha256" value="{digest}" />' in (folder / "junit.xml").read_text(encoding="utf-8")


def verify(capsys, *argv: str) -> tuple[int, str]:
    code = main(["report", "verify", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_verify_passes_a_folder_whose_files_belong_together(tmp_path, capsys):
    code, out = verify(capsys, str(written(tmp_path)))
    assert code == 0, out
    assert out.count("\nok ") == 4 and "ok       spec " in out and out.endswith("verify: all match\n")


def test_verify_accepts_a_folder_without_some_reports(tmp_path, capsys):
    folder = written(tmp_path)  # e.g. plain pytest without --hems-report-page writes no report.html
    (folder / "report.html").unlink()
    code, out = verify(capsys, str(folder))
    assert code == 0 and "absent   report.html: not in the folder" in out, out


@pytest.mark.parametrize("tampered", ["summary.json", "summary.md", "report.html", "junit.xml"])
def test_verify_finds_a_file_that_was_changed_or_swapped(tmp_path, capsys, tampered):
    folder = written(tmp_path)
    other = written(tmp_path / "other", summary_of(exit_code=0))  # another run's file, whole and consistent
    (folder / tampered).write_bytes((other / tampered).read_bytes())
    code, out = verify(capsys, str(folder))
    assert code == 1 and "MISMATCH" in out, out


def test_verify_recomputes_the_spec_hash_from_the_file_named_or_given(tmp_path, capsys):
    folder = written(tmp_path)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("openapi: 3.1.0\n", encoding="utf-8")
    code, out = verify(capsys, str(folder), "--spec", str(wrong))
    assert code == 1 and "MISMATCH spec" in out
    summary = copy.deepcopy(summary_of())
    summary["metadata"]["spec"]["path"] = "nowhere/openapi.yaml"  # a relative name: the bundled copy, if the same
    code, out = verify(capsys, str(written(tmp_path / "moved", summary)))
    assert code == 0 and "as recorded (the copy bundled with the suite)" in out, out
    summary["metadata"]["spec"]["path"] = "nowhere/their-spec.yaml"
    code, out = verify(capsys, str(written(tmp_path / "theirs", summary)))
    assert code == 0 and "unchecked spec: nowhere/their-spec.yaml is not here (pass --spec FILE)" in out


def test_verify_exits_2_on_what_it_cannot_read(tmp_path, capsys):
    assert verify(capsys, str(tmp_path / "none"))[0] == 2
    (tmp_path / "summary.json").write_text("{}", encoding="utf-8")
    assert verify(capsys, str(tmp_path))[0] == 2
    code, out = verify(capsys, str(written(tmp_path / "ok")), "--spec", str(tmp_path / "absent.yaml"))
    assert code == 2 and "absent.yaml: cannot read" in out and "Traceback" not in out
