"""`hems-conformance check` end to end: inputs, labels, exit codes, output formats, --strict, --config, --spec.

Payloads come from the loop model (every simulated payload is conformant) and are broken by editing dicts
here, so these tests depend on nothing but the model and the judge.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from payload_support import BASE, drawn, must_broken, payload, should_broken, write_lines

from conformance.cli import main
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge

SUMMARY = re.compile(r"^(\d+) payload\(s\) judged, (\d+) failing \((.*)\)(, \d+ input error\(s\))?: (.+)$")
REPORT_LINE = re.compile(r"hems-conformance: reports in reports/[0-9TZ-]+/ \(summary\.json, report\.html, junit\.xml, summary\.md, "
                         r"gl-code-quality-report\.json\)\n"
                         r"(hems-conformance: open reports/[0-9TZ-]+/report\.html\n)?")


@pytest.fixture(autouse=True)
def _reports_elsewhere(tmp_path_factory, monkeypatch):
    """Every check writes its reports under the current directory: a fresh one, apart from the inputs."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def write_json(path: Path, body: object, indent: int | None = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=indent), encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["check", *map(str, argv)])
    captured = capsys.readouterr()
    err, reported = REPORT_LINE.subn("", captured.err)
    assert reported == (1 if captured.out else 0), captured.err  # a judged input always gets its reports
    return code, captured.out, err


def check_json(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, dict]:
    code, out, _ = check(capsys, "--format", "json", *argv)
    return code, json.loads(out)


def finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if not SUMMARY.match(line)]


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def run_module(*argv: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance", *argv], input=stdin, capture_output=True,
                          cwd=cwd, timeout=120, check=False)


# --- verdicts and exit codes ---


def verdict(out: str) -> str:
    """The text verdict without the checks it names as not exercised."""
    return out.splitlines()[-1].split("; ")[0]


def test_valid_file_exits_0_with_summary_only(tmp_path, capsys):
    """The verdict names the checks no payload exercised (each explained on stderr)."""
    code, out, err = check(capsys, write_json(tmp_path / "ok.json", BASE))
    assert code == 0
    unexercised = [line.split(": ")[2] for line in err.splitlines() if line.startswith("hems-conformance: not exercised: ")]
    assert out == (f"1 payload(s) judged, 0 failing (no findings): conformant; {len(unexercised)} check(s) not "
                   f"exercised ({', '.join(sorted(unexercised))})\n") and len(unexercised) > 3
    assert all(line.startswith("hems-conformance: not exercised: ") for line in err.splitlines()), err
    assert "not exercised: EVD-003: the input would need a command whose outcome is phase_switch_ineffective" in err


def test_the_reports_go_where_the_environment_says_and_the_last_line_names_the_page(tmp_path, capsys, monkeypatch):
    """HEMS_CONFORMANCE_REPORT_DIR, as for `run` (the command line still wins)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEMS_CONFORMANCE_REPORT_DIR", "from-env")
    assert main(["check", str(write_json(tmp_path / "ok.json", BASE))]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "hems-conformance: open from-env/report.html"
    assert (tmp_path / "from-env" / "report.html").is_file()
    assert main(["check", "--report-dir", "from-cli", str(tmp_path / "ok.json")]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "hems-conformance: open from-cli/report.html"


def test_must_finding_exits_1_with_one_line_per_finding(tmp_path, capsys):
    path = write_json(tmp_path / "bad.json", must_broken())
    code, out, _ = check(capsys, path)
    assert code == 1
    [line] = finding_lines(out)
    assert re.fullmatch(rf"{re.escape(str(path))}: CNT-004 MUST /session/commands_sent: .+", line)
    assert verdict(out) == "1 payload(s) judged, 1 failing (1 MUST): non-conformant"


def test_should_finding_warns_and_fails_only_under_strict(tmp_path, capsys):
    path = write_json(tmp_path / "warn.json", should_broken())
    code, out, _ = check(capsys, path)
    assert code == 0
    assert finding_lines(out) == [f"{path}: OUT-006 SHOULD /session/outcome: ended session has no outcome"]
    assert verdict(out) == "1 payload(s) judged, 0 failing (1 SHOULD): conformant"
    code, out, _ = check(capsys, "--strict", path)
    assert code == 1
    assert verdict(out) == "1 payload(s) judged, 1 failing (1 SHOULD): non-conformant"


def test_a_negative_target_on_a_hold_is_information_even_under_strict(tmp_path, capsys):
    """Only the title 'Target W' speaks to target_w: a target of surplus minus a reserve may be below zero."""
    body = copy.deepcopy(BASE)
    hold = next(i for i, d in enumerate(body["decisions"]) if d["decision"] == "hold")
    body["decisions"][hold]["target_w"] = -420.0
    path = write_json(tmp_path / "hold.json", body)
    code, out, _ = check(capsys, "--strict", path)
    assert code == 0
    assert finding_lines(out) == [f"{path}: PHY-006 INFO /decisions/{hold}/target_w: negative target_w"]
    assert verdict(out) == "1 payload(s) judged, 0 failing (1 INFO): conformant"


def test_charged_from_solar_with_zero_energy_fails_quoting_the_spec(tmp_path, capsys):
    path = write_json(tmp_path / "zero.json", payload(energy_from_solar_kwh=0.0, savings_eur=0.0))
    code, out, _ = check(capsys, path)
    assert code == 1
    [line] = finding_lines(out)
    assert line.startswith(f"{path}: OUT-007 MUST /session/energy_from_solar_kwh: ")
    assert "'CHARGED_FROM_SOLAR - at least one applied steering command delivered energy.'" in line


def test_input_error_wins_over_findings_and_the_rest_is_still_judged(tmp_path, capsys):
    bad = write_json(tmp_path / "a.json", must_broken())
    (tmp_path / "b.json").write_text("{", encoding="utf-8")
    code, out, err = check(capsys, tmp_path)
    assert code == 2
    assert finding_lines(out) and finding_lines(out)[0].startswith(f"{bad}: CNT-004 MUST")
    assert verdict(out).endswith("1 input error(s): incomplete (input errors)")
    assert one_line_error(err).startswith(f"{tmp_path / 'b.json'}:1:2: invalid JSON")


# --- inputs and labels ---


def test_directory_is_walked_recursively_in_sorted_order(tmp_path, capsys):
    bodies = drawn(seed=1, count=4)
    write_json(tmp_path / "b.json", bodies[0])
    write_lines(tmp_path / "a" / "x.jsonl", [bodies[1]])
    write_lines(tmp_path / "a" / "deeper" / "y.ndjson", [bodies[2]])
    write_json(tmp_path / "c" / "z.json", bodies[3])
    (tmp_path / "notes.txt").write_text("not a payload", encoding="utf-8")
    (tmp_path / "a" / "readme.md").write_text("# nor this", encoding="utf-8")
    code, report = check_json(capsys, tmp_path)
    assert code == 0
    assert [r["source"] for r in report["results"]] == [
        f"{tmp_path}/a/deeper/y.ndjson:1",
        f"{tmp_path}/a/x.jsonl:1",
        f"{tmp_path}/b.json",
        f"{tmp_path}/c/z.json",
    ]


def test_json_lines_labels_name_the_line_and_blank_lines_are_skipped(tmp_path, capsys):
    good = drawn(seed=2, count=3)
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(good[0]) + "\n\n" + json.dumps(good[1]) + "\n" + json.dumps(must_broken()) + "\n",
                    encoding="utf-8")
    code, out, _ = check(capsys, path)
    assert code == 1
    assert [line.split(" ")[0] for line in finding_lines(out)] == [f"{path}:4:"]
    assert out.splitlines()[-1].startswith("3 payload(s) judged, 1 failing")


def test_json_array_file_labels_name_the_index(tmp_path, capsys):
    path = write_json(tmp_path / "all.json", [BASE, should_broken(), must_broken()])
    code, out, _ = check(capsys, path)
    assert code == 1
    assert [line.split(" ")[:2] for line in finding_lines(out)] == [[f"{path}[1]:", "OUT-006"],
                                                                    [f"{path}[2]:", "CNT-004"]]


def test_file_with_another_suffix_is_sniffed(tmp_path, capsys):
    lines = write_lines(tmp_path / "capture.log", drawn(seed=3, count=2))
    document = write_json(tmp_path / "capture.txt", BASE)
    _, report = check_json(capsys, lines, document)
    assert [r["source"] for r in report["results"]] == [f"{lines}:1", f"{lines}:2", str(document)]


def test_stdin_pretty_printed_document():
    result = run_module("check", "-", stdin=json.dumps(must_broken(), indent=2).encode())
    assert result.returncode == 1
    assert result.stdout.decode().startswith("<stdin>: CNT-004 MUST /session/commands_sent: ")


def test_stdin_json_lines_longer_than_any_read_buffer():
    bodies = drawn(seed=2, count=3) + [should_broken()]
    assert len(json.dumps(bodies[0])) > 8192  # the first line does not fit one buffered read
    stdin = "".join(json.dumps(b) + "\n" for b in bodies).encode()
    result = run_module("check", "--strict", "-", stdin=stdin)
    out = result.stdout.decode()
    assert result.returncode == 1, result.stderr.decode()
    assert finding_lines(out) == ["<stdin>:4: OUT-006 SHOULD /session/outcome: ended session has no outcome"]
    assert out.splitlines()[-1].startswith("4 payload(s) judged, 1 failing")


def test_stdin_single_compact_document_is_a_document():
    result = run_module("check", "--format", "json", "-", stdin=json.dumps([BASE, BASE]).encode())
    assert result.returncode == 0
    assert [r["source"] for r in json.loads(result.stdout)["results"]] == ["<stdin>[0]", "<stdin>[1]"]


# --- unreadable or invalid input: exit 2, one clear line, no traceback ---


@pytest.mark.parametrize(
    ("name", "content", "label", "message"),
    [
        ("doc.json", '{\n  "session": {,\n}', "doc.json:2:15", "invalid JSON: Expecting property name"),
        ("doc.json", '{"session": 1} trailing', "doc.json:1:16", "invalid JSON: Extra data"),
        ("doc.json", '{\n "x": NaN}', "doc.json:2:7", "invalid JSON: NaN is not a JSON value"),
        ("lines.jsonl", '{"a": 1}\n{"a": \n', "lines.jsonl:2:7", "invalid JSON: Expecting value"),
        ("lines.jsonl", '{"a": 1}\r\n{"a": \r\n', "lines.jsonl:2:7", "invalid JSON: Expecting value"),
        ("lines.jsonl", '{"a": "NaN"}\n{"a": Infinity}\n', "lines.jsonl:2:7", "invalid JSON: Infinity is not"),
        ("doc.json", "[" * 100_000 + "]" * 100_000, "doc.json", "invalid JSON: nested too deeply"),
        ("empty.json", "", "empty.json", "empty: no JSON document"),
        ("blank.json", " \n\n", "blank.json", "empty: no JSON document"),
        ("empty.jsonl", "", "empty.jsonl", "empty: no JSON document"),
        ("blank.jsonl", "\n \n", "blank.jsonl", "empty: no JSON document"),
        ("none.json", " [ ] ", "none.json", "empty array: no payload"),
        ("huge.json", '{"a": [1, -1e400]}', "huge.json:1:11", "number -1e400 is beyond the range of a 64-bit float"),
        ("huge.jsonl", '{"a": 1}\n{"a": 2E+999}\n', "huge.jsonl:2:7", "number 2E+999 is beyond the range"),
        ("long.json", '{"id": 1' + "0" * 5000 + "}", "long.json:1:8", "number with more than 4300 digits"),
        ("long.jsonl", '{"a": 1}\n{"id": 1' + "0" * 5000 + "}\n", "long.jsonl:2:8", "number with more than 4300 digits"),
    ],
)
def test_invalid_json_names_file_line_and_column(tmp_path, capsys, name, content, label, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    code, out, err = check(capsys, tmp_path / name)
    assert code == 2
    assert one_line_error(err).startswith(f"{tmp_path / label}: {message}")
    assert verdict(out).endswith(": incomplete (input errors)")


def test_non_utf8_file(tmp_path, capsys):
    (tmp_path / "latin1.json").write_bytes('{"reason": "Überschuss"}'.encode("latin-1"))
    code, _, err = check(capsys, tmp_path / "latin1.json")
    assert code == 2
    assert one_line_error(err) == f"{tmp_path / 'latin1.json'}: not UTF-8 (byte 12)"


def test_utf8_bom_is_accepted(tmp_path, capsys):
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode())
    assert check(capsys, tmp_path / "bom.json")[0] == 0


def test_missing_file(tmp_path, capsys):
    code, _, err = check(capsys, tmp_path / "nope.json")
    assert code == 2
    assert one_line_error(err) == f"{tmp_path / 'nope.json'}: cannot read: No such file or directory"


def test_empty_directory(tmp_path, capsys):
    (tmp_path / "only.txt").write_text("{}", encoding="utf-8")
    code, out, err = check(capsys, tmp_path)
    assert code == 2
    assert one_line_error(err) == f"{tmp_path}: directory holds no .json, .jsonl or .ndjson file"
    assert out.startswith("0 payload(s) judged")


def test_unreadable_subdirectory_is_an_input_error_not_a_silent_skip(tmp_path, capsys, monkeypatch):
    write_json(tmp_path / "a" / "ok.json", BASE)
    write_json(tmp_path / "locked" / "hidden.json", must_broken())
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = check(capsys, tmp_path)
    assert code == 2
    assert one_line_error(err) == f"{tmp_path / 'locked'}: cannot read: Permission denied"
    assert out.startswith("1 payload(s) judged, 0 failing")


def test_directory_walk_follows_no_symlink_loop_and_opens_no_fifo(tmp_path, capsys):
    write_json(tmp_path / "ok.json", BASE)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(tmp_path / "pipe.json")  # opening it would block until a writer came
    (tmp_path / "gone.json").symlink_to(tmp_path / "missing.json")
    code, out, err = check(capsys, tmp_path)
    assert code == 2
    assert one_line_error(err) == f"{tmp_path / 'gone.json'}: cannot read: No such file or directory"
    assert out.startswith("1 payload(s) judged, 0 failing")


def test_a_read_error_after_open_is_an_input_error(tmp_path, capsys):
    code, _, err = check(capsys, "/proc/self/mem")
    assert code == 2
    assert one_line_error(err) == "/proc/self/mem: cannot read: Input/output error"


def test_undecodable_file_names_are_shown_escaped_everywhere(tmp_path):
    directory = os.fsencode(tmp_path)
    Path(os.fsdecode(directory + b"/\xff-bad.json")).write_text(json.dumps(must_broken()), encoding="utf-8")
    Path(os.fsdecode(directory + b"/\xfe-broken.json")).write_text("{", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "conformance", "check", str(tmp_path), "--report-dir",
                             str(tmp_path / "reports")], capture_output=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err, err
    assert out.startswith(f"{tmp_path}/\\xff-bad.json: CNT-004 MUST ")
    assert err.startswith(f"{tmp_path}/\\xfe-broken.json:1:2: invalid JSON")
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    # the input directory, outside the working directory, by its bare name: no report holds an absolute path
    assert summary["input_errors"][0]["source"] == f"{tmp_path.name}/\\xfe-broken.json:1:2"


def test_a_string_that_is_not_unicode_text_is_an_input_error(tmp_path, capsys):
    text = json.dumps(must_broken()).replace('"reason": "', '"reason": "\\ud800', 1)
    (tmp_path / "surrogate.json").write_text(text, encoding="utf-8")
    code, _, err = check(capsys, tmp_path / "surrogate.json")
    assert code == 2
    assert one_line_error(err) == (f"{tmp_path / 'surrogate.json'}: the string at /decisions/0/reason is not "
                                   "Unicode text (unpaired surrogate \\ud800)")


def test_the_judge_reports_a_string_that_is_not_unicode_text_without_crashing():
    from conformance.contract.judge import Judge

    body = payload()
    body["decisions"][0]["reason"] = "\ud800"  # a string as the schema asks: valid
    assert Judge().judge(body).findings == []
    body["decisions"][0]["decision"] = "\ud800"  # not one of the enum: the validator cannot even say so
    [finding] = Judge().judge(body).findings
    assert (finding.check_id, finding.pointer) == ("SCH-001", "")
    assert finding.message.endswith("(a string holds an unpaired surrogate, which is not Unicode text)")


def test_json_format_reports_input_errors_in_place(tmp_path, capsys):
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    code, report = check_json(capsys, tmp_path / "broken.json")
    assert code == 2
    assert report["results"] == [{"source": f"{tmp_path / 'broken.json'}:1:2",
                                  "error": "invalid JSON: Expecting property name enclosed in double quotes"}]
    assert report["summary"]["input_errors"] == 1 and report["summary"]["exit_code"] == 2


def test_progress_line_on_a_terminal_is_cleared_before_other_output(tmp_path, monkeypatch):
    from conformance.contract.judge import Judge
    from conformance.offline import stream as offline

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter(range(0, 1000, 2))  # every payload is two seconds after the previous one
    monkeypatch.setattr(offline.time, "monotonic", lambda: next(clock))
    path = write_lines(tmp_path / "run.jsonl", [BASE, BASE, must_broken(), BASE])
    out, err = io.StringIO(), Terminal()
    tally = offline.run_check(Judge(), [str(path)], strict=False, output="text", out=out, err=err)
    assert tally.exit_code() == 1
    clear = "\r\033[K"
    assert err.getvalue() == (f"{clear}judged 1 payload(s) (25%){clear}judged 2 payload(s) (50%)"
                              f"{clear}judged 3 payload(s) (75%){clear}judged 4 payload(s) (100%)"
                              f"{clear}")  # before the findings, grouped, go out at the end
    assert out.getvalue().splitlines()[0].startswith(f"{path}:3: CNT-004 MUST")


# --- machine output ---


def test_json_format_carries_explainable_findings_and_a_summary(tmp_path, capsys):
    body = must_broken()
    body["decisions"][0]["time"] = "yesterday"  # SCH-002
    path = write_json(tmp_path / "bad.json", body)
    code, report = check_json(capsys, write_json(tmp_path / "ok.json", BASE), path)
    assert code == 1
    ok, bad = report["results"]
    assert ok == {"source": str(tmp_path / "ok.json"), "findings": [], "semantic_evaluated": True}
    assert bad["source"] == str(path) and bad["semantic_evaluated"] is True
    by_id = {f["invariant"]: f for f in bad["findings"]}
    assert set(by_id) == {"CNT-004", "SCH-002"}
    for finding in by_id.values():
        assert set(finding) == {"invariant", "level", "pointer", "message", "expected", "actual"}
        assert finding["level"] == "MUST"
    assert by_id["CNT-004"]["pointer"] == "/session/commands_sent"
    assert (by_id["CNT-004"]["expected"], by_id["CNT-004"]["actual"]) == (3, 4)
    assert by_id["SCH-002"]["pointer"] == "/decisions/0/time"
    summary = report["summary"]
    assert summary["verdict"] == "non-conformant" and summary["exit_code"] == 1
    assert (summary["payloads"], summary["failing_payloads"], summary["input_errors"]) == (2, 1, 0)
    assert summary["findings_by_invariant"] == {"CNT-004": 1, "SCH-002": 1}
    assert summary["findings_by_level"] == {"MUST": 2}
    assert summary["strict"] is False and summary["readings"] == {}
    assert re.fullmatch(r"[0-9a-f]{64}", summary["spec_sha256"])


def test_shape_failure_skips_semantic_invariants(tmp_path, capsys):
    body = must_broken()
    del body["commands"]
    code, report = check_json(capsys, write_json(tmp_path / "shape.json", body))
    assert code == 1
    [result] = report["results"]
    assert result["semantic_evaluated"] is False
    assert {f["invariant"] for f in result["findings"]} == {"SCH-001"}
    assert report["summary"]["not_evaluated"] == 1


def test_a_schema_failing_payload_still_gets_the_findings_that_do_not_read_the_refused_value(tmp_path, capsys):
    body = must_broken()
    body["session"]["outcome"] = "solar"  # SCH-001; CNT-004 reads the commands, not the outcome
    code, out, _ = check(capsys, write_json(tmp_path / "trial.json", body))
    assert code == 1
    assert {line.split()[1] for line in finding_lines(out)} == {"SCH-001", "CNT-004"}
    assert verdict(out).endswith("1 with invariants not evaluated (they read values the schema refused): "
                                         "non-conformant")


def test_schema_findings_show_the_offending_value_as_json(tmp_path, capsys):
    body = payload(id="7", energy_from_solar_kwh=True, ended_at="2026-06-01T10:00:00")
    code, report = check_json(capsys, write_json(tmp_path / "values.json", body))
    assert code == 1
    actual = {f["pointer"]: f["actual"] for f in report["results"][0]["findings"]}
    assert actual == {"/session/id": '"7"', "/session/energy_from_solar_kwh": "true",
                      "/session/ended_at": '"2026-06-01T10:00:00"'}


def test_nesting_deeper_than_the_validator_reaches_is_one_schema_finding(tmp_path, capsys):
    deep = json.loads("[" * 400 + "]" * 400)
    conformant = payload(x_vendor_trace=deep)  # extra properties may hold anything
    code, out, err = check(capsys, write_lines(tmp_path / "deep.jsonl", [deep, conformant]))
    assert code == 1 and "Traceback" not in err
    assert finding_lines(out) == [f"{tmp_path / 'deep.jsonl'}:1: SCH-001 MUST /: the body does not validate "
                                  "against HEMSSessionDetail (nested too deeply to locate the errors)"]


# --- readings and levels from --config ---


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hems.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_reading_changes_the_verdict(tmp_path, capsys):
    # A producer that also counts unverified as ineffective: wrong under the default reading, right under its own.
    path = write_json(tmp_path / "p.json", payload(commands_ineffective=2))
    code, out, _ = check(capsys, path)
    assert code == 1 and finding_lines(out)[0].startswith(f"{path}: CNT-003 MUST /session/commands_ineffective:")
    config = write_config(tmp_path, '[judge]\nineffective_verdicts = '
                                    '["accepted_ineffective", "phase_switch_ineffective", "unverified"]\n')
    code, report = check_json(capsys, "--config", config, path)
    assert code == 0
    assert report["summary"]["readings"]["ineffective_verdicts"] == [
        "accepted_ineffective", "phase_switch_ineffective", "unverified"]


@pytest.mark.parametrize(("level", "code", "shown"), [("OFF", 0, False), ("INFO", 0, True), ("MUST", 1, True)])
def test_config_level_changes_the_verdict(tmp_path, capsys, level, code, shown):
    path = write_json(tmp_path / "p.json", should_broken())
    config = write_config(tmp_path, f'[judge.levels]\n"OUT-006" = "{level}"\n')
    got, out, _ = check(capsys, "--config", config, path)
    assert got == code
    assert finding_lines(out) == ([f"{path}: OUT-006 {level} /session/outcome: ended session has no outcome"]
                                  if shown else [])


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[judge]\ntolerance = 1\n", "judge.tolerance: unknown key"),
        ("[judge]\ncurrent_tolerance_a = -1\n", "judge.current_tolerance_a: expected a finite non-negative number"),
        ("[judge]\ncurrent_tolerance_a = inf\n", "judge.current_tolerance_a: expected a finite non-negative number"),
        ("[judge]\nclock_skew_s = nan\n", "judge.clock_skew_s: expected a finite non-negative number"),
        ("[judge]\namps_min = 90\n", "judge.amps_min: 90 A is above judge.amps_max (80 A)"),
        ('[judge.dispatch_vocabulary]\n"ok" = 1\n', "judge.dispatch_vocabulary: expected a table of status"),
        ("[judge]\nlevels = 3\n", "judge.levels: expected a table of CHECK-ID = level"),
        ('[judge]\nsent_verdicts = ["applied", "done"]\n', "judge.sent_verdicts: unknown verdict 'done'"),
        ('[judge.levels]\n"XYZ-001" = "OFF"\n', "judge.levels.XYZ-001: unknown invariant"),
        ('[judge.levels]\n"OUT-006" = "LOUD"\n', "judge.levels.OUT-006: level must be one of"),
        ("[judge\n", "not valid TOML"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, text, names):
    config = write_config(tmp_path, text)
    code, out, err = check(capsys, "--config", config, write_json(tmp_path / "p.json", BASE))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"hems-conformance: error: {config}: ") and names in line


def test_missing_config_file(tmp_path, capsys):
    code, _, err = check(capsys, "--config", tmp_path / "none.toml", write_json(tmp_path / "p.json", BASE))
    assert code == 2
    assert "none.toml: cannot read" in one_line_error(err)


# --- --spec ---


def test_spec_option_judges_against_that_document(tmp_path, capsys):
    from conformance.contract.spec import bundled_spec_path

    spec = tmp_path / "openapi.yaml"
    spec.write_bytes(bundled_spec_path().read_bytes())
    code, report = check_json(capsys, "--spec", spec, write_json(tmp_path / "p.json", BASE))
    assert code == 0 and report["summary"]["payloads"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read spec"),
        ("- just\n- a list\n", "not an OpenAPI document"),
        ("openapi: 3.1.0\npaths: {}\n", "no components.schemas.HEMSSessionDetail"),
        ("openapi: [3.1\n", "not valid YAML/JSON at line"),
    ],
)
def test_bad_spec_exits_2(tmp_path, capsys, content, message):
    spec = tmp_path / "spec.yaml"
    if content is not None:
        spec.write_text(content, encoding="utf-8")
    code, out, err = check(capsys, "--spec", spec, write_json(tmp_path / "p.json", BASE))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"hems-conformance: error: {spec}: ") and message in line


# --- usage and smoke tests through the real entry point ---


def test_usage_errors_exit_2_in_one_line(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["check"])
    assert exited.value.code == 2
    assert "the following arguments are required: PATH" in one_line_error(capsys.readouterr().err)


@pytest.mark.e2e
def test_module_entry_point_smoke(tmp_path):
    write_json(tmp_path / "ok.json", BASE)
    write_json(tmp_path / "bad.json", must_broken())
    result = run_module("check", "ok.json", cwd=tmp_path)
    assert result.returncode == 0 and verdict(result.stdout.decode()) == "1 payload(s) judged, 0 failing (no findings): conformant"
    err, reported = REPORT_LINE.subn("", result.stderr.decode())
    assert reported == 1 and all(line.startswith("hems-conformance: not exercised: ") for line in err.splitlines())
    result = run_module("check", "--format", "json", "ok.json", "bad.json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["summary"]["findings_by_invariant"] == {"CNT-004": 1}


def test_catalogue_ids_are_stable_in_output(tmp_path, capsys):
    """Every finding line names a catalogue id, so a reader can look it up in docs/invariants.md."""
    bodies = [must_broken(), should_broken(), payload(commands_applied=-1)]
    path = write_lines(tmp_path / "mixed.jsonl", bodies)
    _, out, _ = check(capsys, path)
    ids = {line.split(" ")[1] for line in finding_lines(out)}
    assert ids and ids <= set(CATALOGUE)


def test_a_broken_row_keeps_out_only_the_invariants_that_read_it():
    """The view of a broken payload looks up only what each invariant asks for: an outcome no grouping by verdict
    can use fails the invariants that read outcomes, not the ones that read times or the session."""
    body = should_broken()
    body["commands"][0]["outcome"] = ["applied"]  # SCH-001, and unhashable
    judgement = Judge().judge(body)
    assert {f.check_id for f in judgement.findings} == {"SCH-001", "OUT-006"}
    assert {"EVD-001", "CNT-002"} <= set(judgement.not_evaluated)
    assert not {"OUT-006", "TIM-002", "TIM-003", "REF-002"} & set(judgement.not_evaluated)


@pytest.mark.parametrize(("case_id", "default_gate"), [("REF-001[1]", 1), ("REF-005[0]", 0)])
def test_the_held_out_reference_defects_fail_check_strict(tmp_path, capsys, case_id, default_gate):
    """A dispatched decision naming no command (charter MUST: also the default gate) and a command no dispatched
    decision names (charter SHOULD) once passed even `check --strict`, while REF-001 was INFO."""
    from conformance.contract.payload_cases import load_payload_cases

    case = next(c for c in load_payload_cases() if c.id == case_id)
    path = tmp_path / "held-out.json"
    path.write_text(json.dumps(case.payload), encoding="utf-8")
    assert main(["check", "--strict", "--report-dir", str(tmp_path / "strict"), str(path)]) == 1
    assert main(["check", "--report-dir", str(tmp_path / "default"), str(path)]) == default_gate
    assert case_id.split("[")[0] in capsys.readouterr().out
