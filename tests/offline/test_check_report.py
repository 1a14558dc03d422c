"""The reports of `hems-conformance check`: the same three files as a run, with the catalogue's counts and
the first findings of each invariant shown in their payload (file and line), bounded on large inputs."""

from __future__ import annotations

import copy
import json
import os
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from browser_support import browse

from conformance.cli import main
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.model.loop import RandomDraw, draw_scenario, simulate
from conformance.offline.evidence import CheckEvidence
from conformance.offline.stream import run_check
from conformance.report.records import EVIDENCE_PER_CHECK
from conformance.report.summary import SUMMARY_SCHEMA

JUNIT_XSD = Path(__file__).resolve().parents[1] / "support" / "junit.xsd"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXZhbHVl"


def drawn(count: int, seed: int = 5) -> list[dict]:
    draw = RandomDraw(random.Random(seed))
    return [simulate(draw_scenario(draw, 100 + i, 1000 * (i + 1))) for i in range(count)]


def broken(body: dict) -> dict:
    body = copy.deepcopy(body)
    body["session"]["commands_sent"] += 1  # CNT-004, MUST
    return body


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    """`check` over JSON Lines (line 3 broken, with a Bearer token beside the broken counter), one bad file;
    reports in their default place."""
    cwd = tmp_path_factory.mktemp("check")
    bodies = drawn(4)
    bodies[2] = broken(bodies[2])
    bodies[2]["session"]["operator_note"] = f"Authorization: Bearer {TOKEN}"  # an extra property: allowed
    (cwd / "capture.jsonl").write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    (cwd / "bad.json").write_text("{", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        assert main(["check", "capture.jsonl", "bad.json"]) == 2  # input errors win
    return cwd


def summary_of(cwd: Path) -> dict:
    return json.loads((cwd / "reports" / "latest" / "summary.json").read_text(encoding="utf-8"))


def test_check_writes_the_three_files_without_flags(reported, capsys):
    [made] = [p for p in (reported / "reports").iterdir() if p.name != "latest"]
    assert os.readlink(reported / "reports" / "latest") == made.name
    assert sorted(p.name for p in made.iterdir()) == ["gl-code-quality-report.json", "junit.xml", "report.html", "summary.json", "summary.md"]


def test_summary_json_of_a_check_validates_against_the_schema_a_run_uses(reported):
    schema = json.loads(SUMMARY_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    summary = summary_of(reported)
    jsonschema.Draft202012Validator(schema).validate(summary)
    assert summary["input_errors"] and any(c["findings"] for c in summary["checks"])


def test_summary_counts_every_invariant_and_shows_findings_in_their_payload(reported):
    summary = summary_of(reported)
    assert (summary["kind"], summary["exit_code"], summary["verdict"]) == ("check", 2, "incomplete (input errors)")
    assert summary["counts"] | {"checks": None} == {
        "checks": None, "findings_by_level": {"MUST": 1}, "findings": 1, "payloads": 4, "failing_payloads": 1,
        "not_evaluated": 0, "input_errors": 1}
    assert summary["metadata"]["command"] == "hems-conformance check capture.jsonl bad.json"
    assert summary["metadata"]["inputs"] == ["capture.jsonl", "bad.json"]
    checks = {c["id"]: c for c in summary["checks"]}
    assert set(checks) == set(CATALOGUE)
    assert all(c["judged"] == 4 for c in checks.values())
    assert checks["CNT-004"]["status"] == "failed" and checks["CNT-004"]["findings_by_level"] == {"MUST": 1}
    [finding] = checks["CNT-004"]["findings"]
    assert finding["source"] == "capture.jsonl:3" and finding["pointer"] == "/session/commands_sent"
    window = finding["excerpt"]
    low, high = window["marked"]
    assert low == high and window["lines"][low - window["first_line"]].strip().startswith('"commands_sent": ')
    assert summary["input_errors"] == [{"source": "bad.json:1:2",
                                        "message": "invalid JSON: Expecting property name enclosed in double quotes"}]


def test_every_check_states_its_basis_in_the_summary_and_the_html_table(reported):
    checks = {c["id"]: c for c in summary_of(reported)["checks"]}
    assert {check_id: c["basis"] for check_id, c in checks.items()} == {i.id: i.basis for i in CATALOGUE.values()}
    html = (reported / "reports" / "latest" / "report.html").read_text(encoding="utf-8")
    assert "<th>Basis</th>" in html
    assert '<td>PHY-006</td><td>INFO</td><td>title</td>' in html


def test_junit_has_one_test_case_per_invariant_and_validates(reported):
    path = reported / "reports" / "latest" / "junit.xml"
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(path))
    cases = {case.get("name"): case for case in ET.parse(path).iter("testcase") if case.get("classname") == "catalogue"}
    assert set(cases) == set(CATALOGUE)
    first = cases["CNT-004"].find("failure").text.splitlines()[0]
    assert first.startswith("CNT-004 MUST /session/commands_sent") and first.endswith("[capture.jsonl:3]")
    [unreadable] = [c for c in ET.parse(path).iter("testcase") if c.get("classname") == "input"]
    assert "bad.json:1:2" in unreadable.find("failure").text


@pytest.mark.e2e
def test_html_shows_the_catalogue_and_the_evidence_offline(reported, tmp_path):
    page = reported / "reports" / "latest" / "report.html"
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and not re.search(r"(src|href)=\"?https?:", html)
    dom = browse(page, tmp_path / "profile", "--dump-dom")
    assert re.search(r'id="hems-verdict">INCOMPLETE \(INPUT ERRORS\)', dom)
    assert len(re.findall(r'<tr class="hems-row"', dom)) == len(CATALOGUE)
    assert re.search(r'<mark><span class="ln">\d+</span>\s*"commands_sent": \d+,</mark>', dom)
    assert "capture.jsonl:3" in dom and "bad.json:1:2" in dom


def test_bearer_credentials_in_payloads_are_masked_in_every_report(reported):
    for path in (reported / "reports").rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(encoding="utf-8"), path
    [finding] = [c for c in summary_of(reported)["checks"] if c["id"] == "CNT-004"][0]["findings"]
    assert '    "operator_note": "Authorization: Bearer [REDACTED]"' in finding["excerpt"]["lines"]


@pytest.mark.e2e
def test_evidence_stays_bounded_however_many_findings_stream_by(tmp_path):
    bodies = [broken(b) for b in drawn(3)] * 400  # 1200 failing payloads
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    judge = Judge()
    evidence = CheckEvidence(judge)
    with open(os.devnull, "w", encoding="utf-8") as out:
        tally = run_check(judge, [str(path)], strict=False, output="json", out=out, evidence=evidence)
    assert tally.failing_payloads == 1200 and evidence.records["CNT-004"].total_findings == 1200
    assert all(len(kept) <= EVIDENCE_PER_CHECK for kept in evidence.kept.values())
    assert main(["check", str(path), "--report-dir", str(tmp_path / "r")]) == 1
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    [cnt] = [c for c in summary["checks"] if c["id"] == "CNT-004"]
    assert cnt["findings_total"] == 1200 and 1 <= len(cnt["findings"]) <= EVIDENCE_PER_CHECK
    assert sum(p.stat().st_size for p in (tmp_path / "r").iterdir()) < 500_000
