"""The reports of `hems-conformance run` against the reference deployment: the three files and `latest`,
what summary.json states, JUnit XML that validates with one test case per check, an HTML report that
opens offline in a real browser and shows the failing invariant with its evidence, the 5 MB bound, and
`report compare` over real runs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from browser_support import browse

from conformance import __version__
from conformance.cli import main
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.spec import load_contract
from conformance.live.live_cases import bundled_cases_dir, load_live_cases
from conformance.reference.dataset import build_fleet
from conformance.reference.faults import Faults
from conformance.reference.server import Deployment, start_in_thread, write_target_config
from conformance.report.summary import SUMMARY_SCHEMA, ReportFolder

JUNIT_XSD = Path(__file__).resolve().parents[1] / "support" / "junit.xsd"
CHECK_IDS = set(CATALOGUE) | {case.id for case in load_live_cases()}
FAULTS = ("counters-off-by-one", "stack-trace-in-errors")
# Every response of the session endpoint is wrong in several ways at once: the most evidence a run can collect.
EVERYTHING_BROKEN = ("counters-off-by-one", "stale-ineffective-counter", "sent-counter-drift",
                     "dangling-command-reference", "hold-dispatched", "verdict-without-evidence",
                     "verdict-dispatch-mismatch", "outcome-contradicts-verdicts", "command-before-decision",
                     "duplicate-command-ids", "impossible-phases", "amps-out-of-range", "naive-timestamps",
                     "wrong-session-id", "stack-trace-in-errors", "intermittent-500", "unstable-reads",
                     "html-error-pages", "token-cacheable", "missing-www-authenticate")


@contextlib.contextmanager
def inside(folder: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        yield


def run_cli(folder: Path, *argv: str) -> int:
    with inside(folder):
        return main(["run", "--profile", "quick", *argv])


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Path:
    """A quick run of the bundled deployment with two faults, reports in their default place."""
    cwd = tmp_path_factory.mktemp("faulty")
    assert run_cli(cwd, *(a for f in FAULTS for a in ("--fault", f))) == 1
    return cwd


@pytest.fixture(scope="module")
def folder(faulty) -> Path:
    return (faulty / "reports" / "latest").resolve()


@pytest.fixture(scope="module")
def summary(folder) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def by_id(summary: dict) -> dict[str, dict]:
    return {check["id"]: check for check in summary["checks"]}


# --- the folder ---


def test_a_run_writes_three_files_into_reports_utc_time_and_latest_points_there(faulty, folder):
    [made] = [p for p in (faulty / "reports").iterdir() if p.name != "latest"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", made.name)
    assert os.readlink(faulty / "reports" / "latest") == made.name and folder == made
    assert sorted(p.name for p in made.iterdir()) == ["gl-code-quality-report.json", "junit.xml", "report.html", "summary.json", "summary.md"]
    assert sorted(p.name for p in faulty.iterdir()) == ["reports"]  # nothing else is written


# --- summary.json ---


def test_summary_states_the_verdict_and_how_to_reproduce_the_run(summary):
    contract = load_contract()
    assert (summary["verdict"], summary["exit_code"], summary["kind"]) == ("non-conformant", 1, "run")
    meta = summary["metadata"]
    assert meta["spec"] == {"title": contract.title, "version": contract.version, "sha256": contract.sha256,
                            "path": "openapi.yaml"}  # the pinned spec, outside the working directory
    assert meta["suite_version"] == __version__ and meta["target_url"].startswith("http://127.0.0.1:")
    assert (meta["profile"], meta["seed"], meta["strict"], meta["readings"]) == ("quick", 0, False, {})
    assert meta["command"] == "hems-conformance run --profile quick --seed 0 " + " ".join(f"--fault {f}" for f in FAULTS)
    assert datetime.fromisoformat(meta["started_at"]).utcoffset().total_seconds() == 0
    assert 0 < meta["duration_s"] < 600


def test_summary_json_of_a_run_validates_against_its_shipped_schema(summary, tmp_path):
    validator = jsonschema.Draft202012Validator(json.loads(SUMMARY_SCHEMA.read_text(encoding="utf-8")))
    validator.validate(summary)
    assert all(c["findings"] for c in summary["checks"] if c["status"] == "failed")
    assert not validator.is_valid(summary | {"format": "hems-conformance-summary/2"})
    assert not validator.is_valid({k: v for k, v in summary.items() if k != "checks"})  # a finished run has checks
    broken = json.loads(json.dumps(summary))
    broken["checks"][0]["status"] = "fine"
    assert not validator.is_valid(broken)
    with inside(tmp_path):  # a folder whose run was stopped holds a marker, which the schema accepts too
        ReportFolder.create("stopped").started().interrupted_early()
    validator.validate(json.loads((tmp_path / "stopped" / "summary.json").read_text(encoding="utf-8")))


def test_summary_lists_every_check_with_its_counts(summary):
    checks = by_id(summary)
    assert set(checks) == CHECK_IDS and len(summary["checks"]) == len(CHECK_IDS)
    failed = {i for i, c in checks.items() if c["status"] == "failed"}
    assert failed == {"CNT-002", "RSP-003"}
    assert summary["counts"]["checks"]["failed"] == 2
    assert summary["counts"]["findings_by_level"]["MUST"] == sum(
        c["findings_by_level"].get("MUST", 0) for c in summary["checks"])
    for check in summary["checks"]:
        assert check["statement"] and check["citation"] and check["level"] in ("MUST", "SHOULD", "INFO", "OFF")
        assert (check["status"] == "skipped") == bool(check["skip_reason"])
    assert checks["CNT-002"]["judged"] > 0 and checks["CNT-002"]["findings_by_level"]["MUST"] > 0
    assert summary["spec_findings"] and all(s["count"] > 0 for s in summary["spec_findings"])


def test_statements_messages_and_probe_notes_are_not_garbled_by_secret_masking(summary):
    checks = by_id(summary)
    assert checks["AUTH-004"]["statement"] == "Every 401 carries a WWW-Authenticate challenge for the Bearer scheme."
    assert "Bearer not a token" in json.dumps(summary)  # a probe's note: the made-up token is no secret


def test_a_finding_carries_request_response_window_and_reproduction(summary):
    finding = by_id(summary)["CNT-002"]["findings"][0]
    assert finding["pointer"] == "/session/commands_applied" and finding["actual"] == finding["expected"] + 1
    assert finding["request"]["method"] == "GET" and "/hems-sessions/" in finding["request"]["url"]
    assert finding["request"]["headers"]["Authorization"] == "Bearer [REDACTED]"
    assert finding["response"]["status"] == 200 and finding["response"]["headers"]["content-type"] == "application/json"
    window = finding["excerpt"]
    low, high = window["marked"]
    assert low == high and window["lines"][low - window["first_line"]].strip().startswith('"commands_applied": ')
    assert finding["curl"].startswith("curl ") and '"Authorization: Bearer $HEMS_TOKEN"' in finding["curl"]
    assert finding["request"]["url"] in finding["curl"]
    trace = by_id(summary)["RSP-003"]["findings"][0]
    assert trace["response"]["status"] >= 400 and any("traceback" in line for line in trace["excerpt"]["lines"])


# --- junit.xml ---


def test_junit_xml_validates_and_has_one_test_case_per_catalogue_entry_and_live_case(folder):
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    schema.validate(str(folder / "junit.xml"))
    names = [case.get("name") for case in ET.parse(folder / "junit.xml").iter("testcase")]
    assert sorted(names) == sorted([*CHECK_IDS, "target-testable"])  # plus: did the run reach a verdict
    text = (folder / "junit.xml").read_text(encoding="utf-8")
    assert len(re.findall(r"<failure ", text)) == 2


def test_junit_of_a_run_is_ours_with_the_runs_properties_and_no_local_path(faulty, folder, summary):
    suite = ET.parse(folder / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "hems-conformance"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    meta = summary["metadata"]
    assert properties["target"] == meta["target_url"] and properties["spec_sha256"] == meta["spec"]["sha256"]
    assert (properties["seed"], properties["profile"], properties["strict"]) == ("0", "quick", "false")
    assert properties["command"] == meta["command"] and properties["suite_version"] == __version__
    text = (folder / "junit.xml").read_text(encoding="utf-8")
    assert str(faulty) not in text and str(Path(__file__).resolve().parents[2]) not in text  # no install path
    assert all(not skipped.text for skipped in suite.iter("skipped"))


def test_the_junit_schema_rejects_what_junit_readers_do_not_accept(folder):
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    text = (folder / "junit.xml").read_text(encoding="utf-8")
    late_properties = re.sub(r'(<testcase [^>]*?) />', r'\1><skipped /><properties /></testcase>', text, count=1)
    assert not schema.is_valid(late_properties)  # a case's properties come first, as readers expect
    assert not schema.is_valid(text.replace('tests="', 'tests="many', 1))


# --- report.html ---


def test_html_is_one_self_contained_file(folder):
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|url)\s*[=(]\s*["']?(https?:)?//""", html)
    assert 'id="hems-verdict"' in html and "NON-CONFORMANT" in html
    assert not (folder / "assets").exists()


def test_the_html_report_renders_offline_in_chromium_with_the_failing_invariant_and_its_evidence(folder, summary,
                                                                                                    tmp_path):
    dom = browse(folder / "report.html", tmp_path / "profile-dom", "--dump-dom")
    banner = re.search(r'<div class="hems-banner[^"]*" id="hems-verdict">([^<]*)', dom)
    assert banner and banner.group(1).strip() == "NON-CONFORMANT"
    assert "Podero Partner API 2.0" in dom and load_contract().sha256 in dom
    # one row per check, in the layout of `check`'s page
    rows = re.findall(r'<td class="col-status status-(\w+)">', dom)
    assert len(rows) == len(CHECK_IDS) and rows.count("failed") == 2
    assert '<td class="col-status status-failed">failed (' in dom
    finding = dom[dom.index('<div class="hems-finding lvl-MUST"><div class="hems-finding-head"><b>CNT-002</b>'):]
    finding = finding[: finding.index("</pre></div>") + 12]
    assert re.search(r'<mark><span class="ln">\d+</span>\s*"commands_applied": \d+,</mark>', finding)
    assert "HTTP 200" in finding and "Bearer $HEMS_TOKEN" in finding and "content-type: application/json" in finding
    shot = tmp_path / "report.png"
    browse(folder / "report.html", tmp_path / "profile-shot", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


# --- size, whatever the run saw ---


def test_a_ci_run_with_faults_on_every_response_writes_under_5_mb(tmp_path):
    with inside(tmp_path):
        code = main(["run", "--profile", "ci", "--report-dir", "r", *(a for f in EVERYTHING_BROKEN for a in ("--fault", f))])
    assert code == 1
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "r").iterdir()}
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["checks"]["failed"] >= 15 and summary["counts"]["findings"] > 200
    print(f"ci run, {len(EVERYTHING_BROKEN)} faults: {sizes}, total {sum(sizes.values()) / 1e6:.2f} MB")
    assert sum(sizes.values()) < 5_000_000


# --- other ways a run ends ---


def test_an_untestable_target_still_gets_a_summary_that_says_so(tmp_path):
    assert run_cli(tmp_path, "--fault", "token-endpoint-500", "--report-dir", "r") == 3
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["verdict"], summary["exit_code"]) == ("target could not be tested", 3)
    assert "HTTP 500" in summary["metadata"]["target_error"]


@contextlib.contextmanager
def reference_config(tmp_path: Path):
    deployment = Deployment(build_fleet(0), Faults(["counters-off-by-one"]))
    with start_in_thread(deployment) as url:
        path = tmp_path / "target.toml"
        write_target_config(str(path), deployment.target_config(url))
        yield path


def test_plain_pytest_writes_reports_only_when_asked(tmp_path):
    cases = str(bundled_cases_dir())
    common = ["-p", "no:cacheprovider", "-q", "--hems-profile", "quick", "--rootdir", str(tmp_path)]
    with reference_config(tmp_path) as config, inside(tmp_path):
        assert pytest.main([cases, "--target", str(config), *common]) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["target.toml"]
        assert pytest.main([cases, "--target", str(config), *common, "--hems-report-dir", "mine"]) == 1
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == \
        ["gl-code-quality-report.json", "junit.xml", "summary.json", "summary.md"]
    assert '<testsuite name="hems-conformance"' in (tmp_path / "mine" / "junit.xml").read_text(encoding="utf-8")
    with reference_config(tmp_path) as config, inside(tmp_path):  # pytest's own, where the user points it
        assert pytest.main([cases, "--target", str(config), *common, "--hems-report-dir", "theirs",
                            "--junitxml", "theirs/junit.xml", "-o", "junit_suite_name=mine"]) == 1
    assert '<testsuite name="mine"' in (tmp_path / "theirs" / "junit.xml").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "mine" / "summary.json").read_text(encoding="utf-8"))
    assert summary["metadata"]["command"].startswith("pytest live --target target.toml")  # no absolute path


def test_pytest_with_only_a_target_collects_the_bundled_live_cases(tmp_path, capsys):
    common = ["-p", "no:cacheprovider", "--hems-profile", "quick", "--rootdir", str(tmp_path)]
    with reference_config(tmp_path) as config, inside(tmp_path):
        assert pytest.main(["--target", str(config), *common]) == 1
        out = capsys.readouterr().out
        assert "hems-conformance: NON-CONFORMANT: 1 check(s) failed (CNT-002)" in out
        assert pytest.main(["cases/", "--target", str(config), *common]) == pytest.ExitCode.USAGE_ERROR
        assert "hems-conformance: no verdict: pytest stopped the session (exit 4)" in capsys.readouterr().out


# --- compare over real runs ---


def test_compare_real_runs_new_fixed_and_deterministic(faulty, folder, tmp_path, capsys):
    assert run_cli(tmp_path, "--report-dir", "clean") == 0
    assert run_cli(tmp_path, "--report-dir", "again", *(a for f in FAULTS for a in ("--fault", f))) == 1
    capsys.readouterr()
    clean, again = str(tmp_path / "clean"), str(tmp_path / "again")
    assert main(["report", "compare", clean, str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "changed: CNT-002 passed -> failed" in out and any(line.startswith("new: CNT-002 MUST") for line in out)
    assert out[-1].endswith("verdict conformant -> non-conformant; CNT-002 now fails; RSP-003 now fails")
    assert main(["report", "compare", str(folder), clean]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("fixed: RSP-003 MUST") for line in out) and out[-1].endswith("nothing got worse")
    assert main(["report", "compare", str(folder), again]) == 0  # same seed, same faults: the same findings
    assert capsys.readouterr().out.splitlines()[-1] == "0 new finding(s), 0 fixed, 0 changed verdict(s): nothing got worse"
