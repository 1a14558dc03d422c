"""Accepted-failure baselines (`--baseline FILE`) for `run` and `check`, and the summaries people read:
summary.md in every report folder, the GitHub job summary and workflow annotations."""

from __future__ import annotations

import copy
import json
import pathlib
import random
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.live.live_cases import known_check_ids
from conformance.model.loop import RandomDraw, draw_scenario, simulate
from conformance.report.baseline import load_baseline

FAULT = "counters-off-by-one"  # breaks CNT-002 in many sessions, session 964 among them
ACCEPT = """
[[accept]]
check = "CNT-002"
reason = "counter fix ships in 2.4 (TICKET-123)"
expires = {expires}
{extra}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def baseline(tmp_path: Path, expires: str = "2099-12-31", extra: str = "") -> str:
    path = tmp_path / "baseline.toml"
    path.write_text(ACCEPT.format(expires=expires, extra=extra), encoding="utf-8")
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, dict]:
    code = main(["run", "--profile", "quick", "--report-dir", "r", *args])
    captured = capsys.readouterr()
    summary = json.loads(Path("r/summary.json").read_text(encoding="utf-8"))
    return code, captured.out + captured.err, summary


def check_of(summary: dict, check_id: str) -> dict:
    return next(c for c in summary["checks"] if c["id"] == check_id)


@pytest.mark.e2e
def test_an_accepted_fault_passes_and_is_listed_with_its_reason_and_expiry(tmp_path, capsys):
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline", baseline(tmp_path))
    assert code == 0, output
    assert "accepted: accept[0] (CNT-002)" in output and "until 2099-12-31: counter fix ships in 2.4" in output
    assert summary["verdict"] == "conformant" and summary["exit_code"] == 0
    cnt = check_of(summary, "CNT-002")
    assert cnt["status"] == "accepted" and cnt["findings_total"] > 0
    assert cnt["accepted_by"][0]["reason"] == "counter fix ships in 2.4 (TICKET-123)"
    assert summary["baseline"]["accepted"][0]["findings"] == cnt["findings_total"]
    assert summary["baseline"]["stale"] == [] and summary["counts"]["checks"]["accepted"] == 1
    markdown = Path("r/summary.md").read_text(encoding="utf-8")
    assert "### Accepted by the baseline" in markdown and "expires 2099-12-31" in markdown
    assert "### Failing checks" not in markdown
    assert f"accepted ({cnt['findings_total']} finding(s); accepted until 2099-12-31: counter fix ships in 2.4 (TICKET-123))" in \
        Path("r/report.html").read_text(encoding="utf-8").replace("&#x27;", "'")
    junit = Path("r/junit.xml").read_text(encoding="utf-8")
    assert '<skipped type="pytest.xfail" message="accepted by the baseline: until 2099-12-31: counter fix' in junit


@pytest.mark.e2e
def test_an_entry_narrowed_to_one_session_leaves_the_other_sessions_failing(tmp_path, capsys):
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline", baseline(tmp_path, extra="session_id = 964"))
    assert code == 1, output
    cnt = check_of(summary, "CNT-002")
    assert cnt["status"] == "failed" and 0 < summary["baseline"]["accepted"][0]["findings"] < cnt["findings_total"]
    assert summary["baseline"]["accepted"][0]["session_id"] == "964"


@pytest.mark.e2e
def test_the_same_entry_expired_accepts_nothing(tmp_path, capsys):
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline", baseline(tmp_path, expires="2020-01-31"))
    assert code == 1, output
    assert "NON-CONFORMANT: 1 check(s) failed (CNT-002)" in output
    assert "expired: accept[0] (CNT-002) expired on 2020-01-31" in output
    assert check_of(summary, "CNT-002")["status"] == "failed"
    assert summary["baseline"]["expired"][0]["entry"] == 0 and summary["baseline"]["stale"] == []
    assert "expired on 2020-01-31" in Path("r/summary.md").read_text(encoding="utf-8")


@pytest.mark.e2e
def test_an_entry_that_matches_nothing_on_a_clean_deployment_is_stale_and_fails(tmp_path, capsys):
    code, output, summary = run(capsys, "--baseline", baseline(tmp_path))
    assert code == 1, output
    assert "stale: accept[0] (CNT-002) matched nothing in this run: delete it from" in output
    assert "NON-CONFORMANT: 1 stale baseline entry accepted nothing in this run" in output
    assert summary["verdict"] == "non-conformant" and summary["baseline"]["stale"][0]["check"] == "CNT-002"
    junit = pathlib.Path("r", "junit.xml").read_text(encoding="utf-8")  # JUnit shows it too, not an all-green suite
    assert "<failure" in junit and 'name="target-testable"' in junit
    assert "stale: accept[0]" in Path("r/summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("text", "says"), [
    ('[[accept]]\ncheck = "CNT-002"\nexpires = 2099-01-01\n', "accept[0].reason: missing (required)"),
    ('[[accept]]\ncheck = "CNT-002"\nreason = "x"\nexpires = "2099-01-01"\n', "accept[0].expires: expected a date"),
    ('[[accept]]\ncheck = "CNT-002"\nreason = "x"\nexpires = 2099-01-01\nsesion_id = 4\n',
     "accept[0].sesion_id: unknown key"),
    ('[[accept]]\ncheck = "CNT-999"\nreason = "x"\nexpires = 2099-01-01\n', "accept[0].check: unknown check 'CNT-999'"),
    ('[[accept]]\ncheck = "CNT-002"\nreason = "  "\nexpires = 2099-01-01\n', "accept[0].reason: expected a non-empty"),
    ('[[accept]]\ncheck = "CNT-002"\nreason = "x"\nexpires = 2099-01-01\nsession_id = true\n',
     "accept[0].session_id: expected an integer or a string"),
    ("[accept\n", "not valid TOML"),
    ('accepted = []\n', "accepted: unknown key"),
])
def test_a_malformed_baseline_is_exit_2_naming_the_key_before_any_request(tmp_path, capsys, text, says):
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    code = main(["run", "--profile", "quick", "--report-dir", "r", "--baseline", str(tmp_path / "bad.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("hems-conformance: error: baseline ") and says in err, err
    assert len(err.strip().splitlines()) == 1 and not Path("r").exists()


def _payloads(tmp_path: Path) -> str:
    """Three sessions (ids 100-102); 101 has commands_sent one too high (CNT-004)."""
    bodies = [simulate(draw_scenario(RandomDraw(random.Random(5)), 100 + i, 1000 * (i + 1))) for i in range(3)]
    bodies[1] = copy.deepcopy(bodies[1])
    bodies[1]["session"]["commands_sent"] += 1
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    return str(path)


def _check_baseline(tmp_path: Path, expires: str, session: int) -> str:
    path = tmp_path / "check-baseline.toml"
    path.write_text(f'[[accept]]\ncheck = "CNT-004"\nsession_id = {session}\npointer = "/session/commands_sent"\n'
                    f'reason = "backfill pending"\nexpires = {expires}\n', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("expires", "session", "code", "status"), [
    ("2099-01-01", 101, 0, "accepted"), ("2020-01-01", 101, 1, "failed"), ("2099-01-01", 100, 1, "failed")])
def test_check_takes_the_same_baseline(tmp_path, capsys, expires, session, code, status):
    payloads = _payloads(tmp_path)
    assert main(["check", payloads, "--report-dir", "c", "--baseline", _check_baseline(tmp_path, expires, session)]) == code
    out = capsys.readouterr().out
    summary = json.loads(Path("c/summary.json").read_text(encoding="utf-8"))
    assert check_of(summary, "CNT-004")["status"] == status and summary["exit_code"] == code
    if status == "accepted":
        assert "CNT-004 MUST /session/commands_sent" in out and "[accepted by accept[0] until 2099-01-01]" in out
        assert "non-conformant" not in out
    if session == 100:  # the entry names a session without findings: stale too
        assert summary["baseline"]["stale"][0]["session_id"] == "100"
        assert "1 stale baseline entr(ies)" in out
    markdown = Path("c/summary.md").read_text(encoding="utf-8")
    assert markdown.startswith(f"## hems-conformance check: {summary['verdict']} (exit {code})")


@pytest.mark.e2e
def test_summary_md_and_annotations_render_failing_checks_and_the_job_summary(tmp_path, capsys, monkeypatch):
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    code, output, summary = run(capsys, "--fault", FAULT, "--fault", "challenge-without-error")
    assert code == 1
    markdown = Path("r/summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("## hems-conformance run: non-conformant (exit 1)")
    failing = [c["id"] for c in summary["checks"] if c["status"] == "failed"]
    section = markdown.split("### Failing checks\n\n")[1].split("\n\n")[0].splitlines()
    assert [line.split("`")[1] for line in section] == failing == ["CNT-002"]
    warned = [c["id"] for c in summary["checks"] if c["status"] == "warning"]  # the SHOULD fault, not --strict
    assert warned and all(f"`{c}`" in markdown.split("### Warnings")[1] for c in warned)
    first = check_of(summary, "CNT-002")["findings"][0]
    assert f"X-Request-ID {first['request_id']}" in markdown
    assert ("hems-conformance run --profile quick --seed 0 --fault counters-off-by-one --fault "
            "challenge-without-error") in markdown  # the options in effect; where the reports went is no option
    assert step_summary.read_text(encoding="utf-8") == "earlier step\n" + markdown + "\n"
    errors = [line for line in output.splitlines() if line.startswith("::error ")]
    assert [line.split("::")[1] for line in errors] == [f"error title={c}" for c in failing]
    warnings = [line for line in output.splitlines() if line.startswith("::warning ")]
    assert [line.split("::")[1] for line in warnings] == [f"warning title={c}" for c in warned]


@pytest.mark.e2e
def test_annotations_can_be_turned_off_and_are_off_outside_github(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, output, _ = run(capsys, "--fault", FAULT, "--annotations", "none")
    assert code == 1 and "::error" not in output
    monkeypatch.delenv("GITHUB_ACTIONS")
    code, output, _ = run(capsys, "--fault", FAULT)
    assert code == 1 and "::error" not in output
    assert Path("r/summary.md").is_file()


def test_the_example_baseline_is_valid():
    example = load_baseline(Path(__file__).resolve().parents[2] / "examples" / "conformance-baseline.toml")
    assert [e.check for e in example.known_checks(known_check_ids()).entries] == ["CNT-002", "EVD-001"]
    assert example.entries[0].session_id == "964" and example.entries[1].pointer == "/commands/3/outcome"


@pytest.mark.e2e
def test_many_stale_entries_stay_within_what_github_keeps_and_point_to_the_report(tmp_path, capsys):
    """GitHub keeps 1 MiB of a step's summary and shows 10 error annotations per step (issue 21)."""
    payloads = _payloads(tmp_path)
    stale = "".join(f'[[accept]]\ncheck = "CNT-004"\nsession_id = {5000 + n}\nreason = "{"r" * 200}"\n'
                    f"expires = 2099-01-01\n" for n in range(3000))
    (tmp_path / "stale.toml").write_text(stale, encoding="utf-8")
    assert main(["check", payloads, "--report-dir", "c", "--baseline", str(tmp_path / "stale.toml"),
                 "--annotations", "github"]) == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error ")]
    assert len(errors) == 10 and errors[-1].startswith("::error title=hems-conformance::2992 more error(s) in ")
    markdown = Path("c/summary.md").read_text(encoding="utf-8")
    assert len(markdown.encode()) < 64 * 1024 and "- ... and 2900 more in summary.json and report.html" in markdown
    summary = json.loads(Path("c/summary.json").read_text(encoding="utf-8"))
    assert len(summary["baseline"]["stale"]) == 3000  # the report keeps them all


def test_summary_md_is_cut_at_a_line_within_summary_bytes(monkeypatch):
    from conformance.report import markdown

    monkeypatch.setattr(markdown, "SUMMARY_BYTES", 4096)
    text = markdown._capped("".join(f"line {n} é\n" for n in range(2000)))
    assert len(text.encode()) <= 4096 and text.endswith("KiB: the rest is in summary.json and report.html of the "
                                                          "report folder\n")
    assert "\nline 1 é\n" in text and all(line.startswith(("line ", "...")) or not line for line in text.split("\n"))
