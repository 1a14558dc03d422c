"""Accepted-failure baselines (`--baseline FILE`) for `run` and `check`, and the summaries people read:
summary.md in every report folder, the GitHub job summary and workflow annotations."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from conformance.cli import main
from conformance.live.live_cases import known_check_ids
from conformance.model.loop import RandomDraw, draw_scenario, simulate
from conformance.report.baseline import load_baseline
from conformance.report.summary import SUMMARY_SCHEMA

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


SCHEMA = jsonschema.Draft202012Validator(json.loads(SUMMARY_SCHEMA.read_text(encoding="utf-8")))


def run(capsys, *args: str) -> tuple[int, str, dict]:
    """`run` on the bundled deployment: exit code, console, summary.json (valid against its schema)."""
    code = main(["run", "--profile", "quick", "--report-dir", "r", *args])
    captured = capsys.readouterr()
    summary = json.loads(Path("r/summary.json").read_text(encoding="utf-8"))
    SCHEMA.validate(summary)
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
    """A partial acceptance (one entry, some of a check's findings) is in summary.md and report.html too."""
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline", baseline(tmp_path, extra="session_id = 964"))
    assert code == 1, output
    cnt = check_of(summary, "CNT-002")
    accepted, total = summary["baseline"]["accepted"][0]["findings"], cnt["findings_total"]
    assert cnt["status"] == "failed" and 0 < accepted < total and cnt["findings_accepted"] == accepted
    assert summary["baseline"]["accepted"][0]["session_id"] == "964"
    markdown = Path("r/summary.md").read_text(encoding="utf-8")
    assert f"- `CNT-002` partly: {accepted} of {total} finding(s) accepted, the other {total - accepted} fail: " \
           "counter fix ships in 2.4 (TICKET-123) (accept[0], expires 2099-12-31)" in markdown
    assert "`CNT-002`" in markdown.split("### Failing checks")[1].split("###")[0]
    page = Path("r/report.html").read_text(encoding="utf-8")
    assert f"failed ({total} finding(s); {accepted} accepted; accepted until 2099-12-31" in page


@pytest.mark.e2e
def test_the_same_entry_expired_accepts_nothing(tmp_path, capsys):
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline", baseline(tmp_path, expires="2020-01-31"))
    assert code == 1, output
    assert "NON-CONFORMANT: 1 check(s) failed (CNT-002)" in output
    assert "expired: accept[0] (CNT-002) expired on 2020-01-31" in output
    assert check_of(summary, "CNT-002")["status"] == "failed"
    assert summary["baseline"]["expired"][0]["entry"] == 0 and summary["baseline"]["stale"] == []
    assert "expired on 2020-01-31" in Path("r/summary.md").read_text(encoding="utf-8")


def junit_failures(path: str) -> dict[str, int]:
    """Per test case name of a junit.xml (pytest's or ours), how many <failure>/<error> it holds."""
    root = ElementTree.parse(path).getroot()
    return {case.get("name", ""): len(case.findall("failure")) + len(case.findall("error")) for case in root.iter("testcase")}


@pytest.mark.e2e
def test_a_stale_entry_exits_1_as_conformant_with_a_stale_baseline_and_an_unobserved_one_fails_nothing(tmp_path, capsys):
    """Stale: CNT-002 ran on a clean deployment and found nothing. Unobserved: the session an entry names was
    never judged. Only the first needs work: exit 1 with its own verdict, never "NON-CONFORMANT", and the
    target was testable (JUnit says so)."""
    path = baseline(tmp_path)
    Path(path).write_text(Path(path).read_text(encoding="utf-8") + ACCEPT.format(
        expires="2099-12-31", extra="session_id = 999999"), encoding="utf-8")
    code, output, summary = run(capsys, "--baseline", path)
    assert code == 1, output
    assert "stale: accept[0] (CNT-002) matched nothing although its check ran: the defect is gone, delete it" in output
    assert "unobserved: accept[1] (CNT-002, session 999999): its session was not judged in this run: kept" in output
    verdict = next(line for line in output.splitlines() if line.startswith("hems-conformance: conformant"))
    assert verdict.startswith("hems-conformance: conformant; baseline has 1 stale entry (accept[0] (CNT-002)): its "
                              "defect is gone, delete it from "), verdict
    assert "NON-CONFORMANT" not in output and "non-conformant" not in output
    assert summary["verdict"] == "conformant (stale baseline)" and summary["exit_code"] == 1
    assert [e["entry"] for e in summary["baseline"]["stale"]] == [0]
    assert [(e["entry"], e["why"]) for e in summary["baseline"]["unobserved"]] == [(1, "its session was not judged")]
    failures = junit_failures("r/junit.xml")
    assert failures.get("target-testable", 0) == 0 and failures.get("CNT-002", 0) == 0
    markdown = Path("r/summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("## hems-conformance run: conformant (stale baseline) (exit 1)")
    baseline_section = markdown.split("### Baseline")[1]
    assert "stale: accept\\[0\\] (CNT-002)" in baseline_section and "unobserved: accept\\[1\\]" in baseline_section
    page = Path("r/report.html").read_text(encoding="utf-8")
    assert 'id="hems-baseline"' in page and "unobserved: accept[1] (CNT-002, session 999999)" in page
    assert failures.get("baseline entries", 0) == 1  # a JUnit-only CI sees the stale entry too


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
    stale = "".join(f'[[accept]]\ncheck = "CNT-004"\nsession_id = 101\npointer = "/gone/{n}"\nreason = "{"r" * 200}"\n'
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


# --- unobserved checks, expiry warnings and --baseline-update ---

PLACEHOLDER = "TODO: why this failure is accepted, and the ticket that fixes it"


def _sessions(tmp_path: Path, name: str, *, broken: bool) -> str:
    """Three sessions with commands (ids 100-102), so CNT-004 is exercised; `broken`: 101 counts one command too many."""
    bodies = [simulate(draw_scenario(RandomDraw(random.Random(seed)), 100 + i, 1000 * (i + 1)))
              for i, seed in enumerate((0, 2, 3))]
    if broken:
        bodies[1]["session"]["commands_sent"] += 1
    path = tmp_path / name
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    return str(path)


def check(capsys, *args: str) -> tuple[int, str, dict]:
    code = main(["check", *args, "--report-dir", "c", "--workers", "1"])
    captured = capsys.readouterr()
    summary = json.loads(Path("c/summary.json").read_text(encoding="utf-8"))
    SCHEMA.validate(summary)
    return code, captured.out + captured.err, summary


def test_an_entry_whose_check_was_not_exercised_is_unobserved_and_fails_nothing(tmp_path, capsys):
    """CNT-002 needs an applied command, which none of these payloads has; TIM-001 is judged and passes: stale."""
    (tmp_path / "b.toml").write_text('[[accept]]\ncheck = "CNT-002"\nreason = "r"\nexpires = 2099-01-01\n',
                                     encoding="utf-8")
    code, output, summary = check(capsys, _payloads(tmp_path), "--baseline", str(tmp_path / "b.toml"))
    assert check_of(summary, "CNT-002")["status"] == "not_exercised"
    assert code == 1 and check_of(summary, "CNT-004")["status"] == "failed"  # the payload's own failure, not the entry
    assert summary["baseline"]["stale"] == []
    assert summary["baseline"]["unobserved"][0]["why"] == "its check was skipped or not exercised"
    assert "unobserved: accept[0] (CNT-002): its check was skipped or not exercised in this run: kept" in output
    (tmp_path / "b.toml").write_text('[[accept]]\ncheck = "TIM-001"\nreason = "r"\nexpires = 2099-01-01\n',
                                     encoding="utf-8")
    code, output, summary = check(capsys, _sessions(tmp_path, "good.jsonl", broken=False), "--baseline",
                                  str(tmp_path / "b.toml"))
    assert code == 1 and summary["verdict"] == "conformant (stale baseline)" and summary["baseline"]["unobserved"] == []
    assert "1 stale baseline entr(ies): conformant (stale baseline)" in output and "non-conformant" not in output


@pytest.mark.parametrize(("warn_days", "warned"), [([], True), (["--baseline-warn-days", "2"], False)])
def test_an_entry_about_to_expire_is_warned_about_days_ahead(tmp_path, capsys, warn_days, warned):
    expires = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    code, output, summary = check(capsys, _payloads(tmp_path), "--baseline", _check_baseline(tmp_path, expires, 101),
                                  "--annotations", "github", *warn_days)
    assert code == 0 and check_of(summary, "CNT-004")["status"] == "accepted"
    line = f"expires soon: accept[0] (CNT-004, session 101, pointer /session/commands_sent) expires on {expires} (in 3 day(s))"
    assert (line in output) is warned
    assert bool(summary["baseline"]["expiring"]) is warned and summary["baseline"]["warn_days"] == (7 if warned else 2)
    assert (f"expires on {expires} (in 3 day(s)): fix its findings or renew it" in
            Path("c/summary.md").read_text(encoding="utf-8")) is warned
    assert any(a.startswith("::warning title=baseline::expires soon:") for a in output.splitlines()) is warned


def test_check_baseline_update_round_trips(tmp_path, capsys):
    """Written from a failing check, the baseline accepts exactly today's failure (exit 0) until it is fixed;
    then the entry is stale, and the next update prunes it."""
    broken, fixed, written = _sessions(tmp_path, "bad.jsonl", broken=True), _sessions(tmp_path, "good.jsonl", broken=False), \
        str(tmp_path / "written.toml")
    code, output, _ = check(capsys, broken, "--baseline-update", written, "--baseline-expiry-days", "10")
    expires = datetime.now(UTC).date() + timedelta(days=10)
    assert code == 1  # the verdict of this check, judged without the baseline it writes
    assert f"baseline: wrote {written}: 1 new entry (CNT-004; expires {expires}, reason to fill in), 0 kept, " \
           "0 stale pruned" in output
    entries = load_baseline(written).entries
    assert [(e.check, e.session_id, e.pointer, e.reason, e.expires) for e in entries] == [
        ("CNT-004", "101", "/session/commands_sent", PLACEHOLDER, expires)]
    code, output, summary = check(capsys, broken, "--baseline", written)
    assert code == 0 and check_of(summary, "CNT-004")["status"] == "accepted"
    assert "no reason yet: accept[0] (CNT-004, session 101, pointer /session/commands_sent)" in output
    code, output, summary = check(capsys, fixed, "--baseline", written)
    assert code == 1 and summary["verdict"] == "conformant (stale baseline)"
    code, output, _ = check(capsys, fixed, "--baseline-update", written)
    assert code == 1 and "0 new entries, 0 kept, 1 stale pruned" in output
    assert load_baseline(written).entries == ()
    code, _, _ = check(capsys, fixed, "--baseline", written)
    assert code == 0


def test_baseline_update_keeps_reasons_and_expiries_and_never_renews_an_expired_entry(tmp_path, capsys):
    """An expired entry's findings fail again: updating keeps it expired (renewing is a person's decision) and
    writes no new entry for them; an unobserved entry is kept as it was, a live one too."""
    path = tmp_path / "b.toml"
    path.write_text('[[accept]]\ncheck = "CNT-004"\nsession_id = 101\nreason = "old"\nexpires = 2020-01-01\n\n'
                    '[[accept]]\ncheck = "CNT-004"\nsession_id = "s-77"\nreason = "keep me"\nexpires = 2099-02-03\n',
                    encoding="utf-8")
    before = load_baseline(path).entries
    code, output, summary = check(capsys, _sessions(tmp_path, "bad.jsonl", broken=True), "--baseline-update", str(path))
    assert code == 1 and summary["baseline"]["expired"][0]["entry"] == 0
    assert "0 new entries, 2 kept (1 expired, as they were: renew them by hand), 0 stale pruned" in output
    assert load_baseline(path).entries == before
    assert path.read_text(encoding="utf-8").count("[[accept]]") == 2 and 'session_id = "s-77"' in path.read_text()


@pytest.mark.e2e
def test_run_baseline_update_round_trips(tmp_path, capsys):
    """`run --baseline-update FILE` with a fault: FILE accepts today's failures, so the same run with it exits 0;
    on the fixed deployment its entries are stale (exit 1, conformant wording), and the next update prunes them.
    FILE is also the baseline the updating run applies, so its kept entries keep their reasons."""
    written = tmp_path / "baseline.toml"
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline-update", str(written))
    assert code == 1, output
    failing = check_of(summary, "CNT-002")["findings_total"]
    entries = load_baseline(written).entries
    assert entries and {e.check for e in entries} == {"CNT-002"} and all(e.reason == PLACEHOLDER for e in entries)
    assert f"baseline: wrote {written}: {len(entries)} new entr" in output
    assert all(e.expires == datetime.now(UTC).date() + timedelta(days=30) for e in entries)
    written.write_text(written.read_text(encoding="utf-8").replace(PLACEHOLDER, "TICKET-9"), encoding="utf-8")
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline", str(written))
    assert code == 0, output
    assert check_of(summary, "CNT-002")["status"] == "accepted"
    assert sum(e["findings"] for e in summary["baseline"]["accepted"]) == failing
    code, output, summary = run(capsys, "--fault", FAULT, "--baseline-update", str(written))
    assert code == 0 and f"0 new entries, {len(entries)} kept, 0 stale pruned" in output
    assert {e.reason for e in load_baseline(written).entries} == {"TICKET-9"}
    code, output, summary = run(capsys, "--baseline", str(written))
    assert code == 1 and summary["verdict"] == "conformant (stale baseline)"
    assert len(summary["baseline"]["stale"]) == len(entries) and "NON-CONFORMANT" not in output
    code, output, _ = run(capsys, "--baseline-update", str(written))
    assert f"0 new entries, 0 kept, {len(entries)} stale pruned" in output and load_baseline(written).entries == ()


def test_a_baseline_update_into_a_missing_folder_is_exit_2_before_judging(tmp_path, capsys):
    assert main(["check", _payloads(tmp_path), "--baseline-update", str(tmp_path / "nowhere" / "b.toml")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == "hems-conformance: error: --baseline-update " + str(tmp_path / "nowhere" / "b.toml") \
        + ": no such folder 'nowhere'" and captured.out == ""


@pytest.mark.parametrize("flag", ["--baseline-warn-days", "--baseline-expiry-days"])
def test_baseline_days_out_of_range_are_exit_2(capsys, flag):
    with pytest.raises(SystemExit) as stopped:
        main(["check", "x.json", flag, "-1"])
    assert stopped.value.code == 2
    assert "expected days from 0 to 3650" in capsys.readouterr().err


@pytest.mark.e2e
def test_the_update_and_the_unobserved_sessions_do_not_depend_on_the_workers(tmp_path, capsys):
    """Each worker judges with its own copy of the baseline: the sessions it judged and the failures no entry
    matched are merged back, so a session judged by another worker makes its entry stale, not unobserved."""
    broken, fixed = _sessions(tmp_path, "bad.jsonl", broken=True), _sessions(tmp_path, "good.jsonl", broken=False)
    (tmp_path / "b.toml").write_text(
        '[[accept]]\ncheck = "CNT-004"\nsession_id = 100\nreason = "r"\nexpires = 2099-01-01\n\n'
        '[[accept]]\ncheck = "CNT-004"\nsession_id = 4242\nreason = "r"\nexpires = 2099-01-01\n', encoding="utf-8")
    written = []
    for workers in ("1", "2"):
        path = tmp_path / f"w{workers}.toml"
        path.write_text((tmp_path / "b.toml").read_text(encoding="utf-8"), encoding="utf-8")
        code = main(["check", broken, fixed, "--report-dir", "c", "--workers", workers, "--baseline-update", str(path)])
        output = capsys.readouterr().err
        summary = json.loads(Path("c/summary.json").read_text(encoding="utf-8"))
        assert code == 1 and [e["entry"] for e in summary["baseline"]["stale"]] == [0], output
        assert [e["entry"] for e in summary["baseline"]["unobserved"]] == [1]
        assert "1 new entry (CNT-004; expires" in output and "1 kept, 1 stale pruned" in output
        written.append(path.read_text(encoding="utf-8"))
    assert written[0] == written[1]
