"""`check` at scale: --workers, ranges of large JSON Lines files, fsspec URLs, Parquet, HAR and Dask.

Every way of running the same inputs must give the same bytes on stdout and stderr, the same reports and the
same exit code as one process reading them in order; that identity is what these tests check.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from payload_support import BASE, drawn, must_broken, should_broken, write_lines

from conformance.cli import main
from conformance.contract.judge import Judge
from conformance.offline import parts
from conformance.offline.evidence import CheckEvidence
from conformance.offline.parallel import pool_partials
from conformance.offline.stream import run_check

VOLATILE = ("started_at", "finished_at", "duration_s", "command", "python", "hostname", "timestamp")


def broken_ids(body: dict) -> dict:
    body = copy.deepcopy(body)
    body["decisions"][0]["steering_command_id"] = 999_999  # REF-002
    return body


def mixed(directory: Path) -> Path:
    """A directory of every input shape: documents, arrays, JSON Lines (with a BOM, blank and broken lines),
    an empty file, invalid JSON, a non-payload; conformant and broken payloads spread over them."""
    bodies = drawn(5, 6)
    (directory / "sub").mkdir(parents=True)
    (directory / "a.json").write_text(json.dumps(BASE), encoding="utf-8")
    (directory / "b.json").write_text(json.dumps([bodies[0], must_broken(), {"x": 1}]), encoding="utf-8")
    lines = [json.dumps(b) for b in bodies] + ["{broken", "", json.dumps(should_broken()), json.dumps(broken_ids(BASE))]
    (directory / "c.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "sub" / "e.json").write_text("", encoding="utf-8")
    (directory / "sub" / "f.ndjson").write_bytes(b"\xef\xbb\xbf" + json.dumps(must_broken()).encode() + b"\n[1]\n")
    (directory / "sub" / "g.json").write_text("[]", encoding="utf-8")
    return directory


def run(*argv: object, cwd: Path) -> tuple[int, bytes, bytes]:
    result = subprocess.run([sys.executable, "-m", "conformance", "check", *map(str, argv)], capture_output=True,
                            cwd=cwd, timeout=300, check=False)
    return result.returncode, result.stdout, result.stderr


def steady(summary_path: Path) -> dict:
    """summary.json without what differs between any two runs (times, command line, host)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(json.loads(summary_path.read_text(encoding="utf-8")))


def junit_cases(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text[text.index("<testcase"):]


def page_and_markdown(reports: Path) -> tuple[str, str]:
    """report.html and summary.md without the run's metadata (times, command line, the SHA-256 of summary.json
    that holds them)."""
    page, markdown = (re.sub(r"summary\.json SHA-256: \S+", "", (reports / name).read_text(encoding="utf-8"))
                      for name in ("report.html", "summary.md"))
    return (re.sub(r'<table class="hems-meta" id="hems-metadata">.*?</table>', "", page, flags=re.S),
            re.sub(r"### Reproduce\n\n```\n.*?\n```", "", markdown, flags=re.S))


def same_run(tmp_path: Path, inputs: list[object], variants: list[list[str]], fmt: str) -> None:
    """Every variant gives byte-identical stdout and stderr, the same exit code and the same reports."""
    seen = []
    for n, extra in enumerate(variants):
        reports = tmp_path / f"r{fmt}{n}"
        code, out, err = run(*inputs, "--format", fmt, "--report-dir", reports, *extra, cwd=tmp_path)
        err = err.replace(str(reports).encode(), b"REPORTS")
        seen.append((code, out, err, steady(reports / "summary.json"), junit_cases(reports / "junit.xml"),
                     page_and_markdown(reports)))
    for other in seen[1:]:
        assert other[:3] == seen[0][:3]
        assert other[3] == seen[0][3]
        assert other[4] == seen[0][4]
        assert other[5] == seen[0][5]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.e2e
def test_workers_give_byte_identical_output_and_reports(tmp_path, fmt):
    directory = mixed(tmp_path / "in")
    same_run(tmp_path, [directory, directory / "a.json"], [["--workers", "1"], ["--workers", "2"], ["--workers", "3"]],
             fmt)
    code, out, _ = run(directory, "--workers", "2", "--format", fmt, "--report-dir", tmp_path / "r", cwd=tmp_path)
    assert code == 2 and b"REF-002" in out and b"CNT-004" in out and b"OUT-006" in out


@pytest.mark.e2e
def test_baselines_and_broken_shapes_give_the_same_run_on_any_engine(tmp_path):
    """Accepted, session-narrowed and stale baseline entries, and payloads of a broken shape judged in part,
    spread over several parts: the accepted marks, counts, coverage and sessions do not depend on the split."""
    directory = mixed(tmp_path / "in")
    outcome_broken = must_broken()
    outcome_broken["session"]["outcome"] = "solar"  # SCH-001; CNT-004 is still judged, the OUT checks are not
    write_lines(directory / "d.jsonl", [outcome_broken, broken_ids(BASE), must_broken()])
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(f"""
[[accept]]
check = "REF-002"
reason = "ids fixed in 2.4"
expires = 2099-12-31

[[accept]]
check = "CNT-004"
session_id = {json.dumps(str(BASE["session"]["id"]))}
reason = "counter fix"
expires = 2099-12-31

[[accept]]
check = "TIM-001"
reason = "matches nothing: stale"
expires = 2099-12-31
""", encoding="utf-8")
    variants = [["--workers", "1"], ["--workers", "2"], ["--workers", "3"]]
    if importlib.util.find_spec("distributed") is not None:
        variants.append(["--dask", "local", "--workers", "2"])
    same_run(tmp_path, [directory, "--baseline", baseline], variants, "text")
    code, out, err = run(directory, "--baseline", baseline, "--workers", "2", "--report-dir", tmp_path / "b", cwd=tmp_path)
    [accepted] = [line for line in out.decode().splitlines() if "REF-002 MUST" in line]  # grouped over the parts
    assert code == 2 and accepted.endswith(f"[accepted by accept[0] until 2099-12-31] (2 findings: also at "
                                           f"{directory / 'd.jsonl'}:2)")
    assert "stale: accept[2] (TIM-001)" in err.decode()
    summary = json.loads((tmp_path / "b" / "summary.json").read_text(encoding="utf-8"))
    assert [e["entry"] for e in summary["baseline"]["accepted"]] == [0, 1]
    records = {c["id"]: c for c in summary["checks"]}
    assert records["OUT-001"]["judged"] < records["CNT-004"]["judged"] < summary["counts"]["payloads"]


@pytest.mark.parametrize("scan", [997, 1 << 20])
def test_ranges_of_a_json_lines_file_judge_as_the_whole_file(tmp_path, monkeypatch, scan):
    """Split on line boundaries with the right line numbers: blank, broken, BOM-led and failing lines alike,
    whether a boundary falls in the piece the scan reads or a later one."""
    monkeypatch.setattr(parts, "SCAN", scan)
    bodies = drawn(9, 8)
    lines = [b"\xef\xbb\xbf" + json.dumps(must_broken()).encode()]
    for i in range(60):
        lines.append(json.dumps(bodies[i % 8] if i % 7 else broken_ids(bodies[i % 8])).encode())
        lines.extend([b"", b"{nope"] if i % 13 == 0 else [])
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines))  # no final newline
    ranges = list(parts.plan([str(path)], split=4096))
    assert len(ranges) > 20 and {r.kind for r in ranges} == {"range"} and ranges[-1].end == path.stat().st_size
    judge = Judge()
    outputs = []
    for block in (None, 1, 4096, 50_000):
        out, err, evidence = io.StringIO(), io.StringIO(), CheckEvidence(judge)
        partials = None if block is None else pool_partials(judge, [str(path)], strict=False, as_json=False, workers=2,
                                                            block=block)
        tally = run_check(judge, [str(path)], strict=False, output="text", out=out, err=err, evidence=evidence,
                          partials=partials)
        outputs.append((out.getvalue(), err.getvalue(), tally.to_dict(), evidence.kept, evidence.errors,
                        {k: (r.judged, r.total_findings) for k, r in evidence.records.items()}))
    assert all(o == outputs[0] for o in outputs[1:])
    assert f"{path}:1: CNT-004" in outputs[0][0] and f"{path}:{len(lines)}:" not in outputs[0][1]


def test_blank_json_lines_file_larger_than_a_range_is_one_error(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\n \n" * 5000)
    judge = Judge()
    err = io.StringIO()
    tally = run_check(judge, [str(path), str(path)], strict=False, output="text", out=io.StringIO(), err=err,
                      partials=pool_partials(judge, [str(path), str(path)], strict=False, as_json=False, workers=2,
                                             block=100))
    assert err.getvalue() == f"{path}: empty: no JSON document\n" * 2 and tally.exit_code() == 2


@pytest.mark.parametrize(("sent", "to_group"), [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGTERM, True)],
                         ids=["ctrl-c", "sigterm-to-the-command", "sigterm-to-the-group"])
def test_ctrl_c_or_sigterm_stops_every_worker_with_exit_130(tmp_path, sent, to_group):
    """A FIFO nobody writes keeps one worker waiting, so the run lasts until Ctrl-C ends it (a terminal signals the
    whole process group), or SIGTERM (a stopped container signals the command, a cancelled CI job the group)."""
    write_lines(tmp_path / "a.jsonl", drawn(3, 2))
    os.mkfifo(tmp_path / "never.jsonl")
    child = subprocess.Popen([sys.executable, "-m", "conformance", "check", "a.jsonl", "a.jsonl", "never.jsonl",
                              "--workers", "2", "--report-dir", "r"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=tmp_path, start_new_session=True, preexec_fn=_as_a_terminal_starts_it)
    try:
        for _ in range(400):  # until both workers run
            if len(children(child.pid)) >= 2:
                break
            time.sleep(0.05)
        workers = children(child.pid)
        assert len(workers) >= 2
        signals = _signal_masks(child.pid)
        (os.killpg if to_group else os.kill)(child.pid, sent)
        try:
            _, err = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit 60 s after the signal; the command's signal masks then: {signals}; its children "
                        f"then: {workers}, now: {children(child.pid)}")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert "hems-conformance: interrupted: no verdict" in err.decode() and b"Traceback" not in err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())  # the reports of what was judged
    assert (summary["verdict"], summary["exit_code"]) == ("interrupted", 130)
    for _ in range(200):
        if not any(Path(f"/proc/{pid}").exists() for pid in workers):
            break
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def _as_a_terminal_starts_it() -> None:
    """The command starts with the signal state a shell gives a foreground job (default dispositions, nothing
    blocked), whatever state the test process is in: this test judges the command, not what earlier in-process
    tests left in pytest's own process (a child inherits ignored and blocked signals across exec)."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _signal_masks(pid: int) -> str:
    """The blocked, ignored and caught signal masks of a process (/proc/PID/status), for a failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError as exc:
        return f"unreadable ({exc})"
    return ", ".join(line.replace("\t", " ") for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_workers_must_be_positive(capsys):
    assert main(["check", "x.json", "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err



# --- where archives live: fsspec URLs, compression ---


def test_gzipped_json_lines_in_memory_store_are_judged_like_the_plain_file(tmp_path, capsys):
    fsspec = pytest.importorskip("fsspec")
    import gzip

    bodies = [BASE, must_broken(), BASE]
    plain = write_lines(tmp_path / "day.jsonl", bodies)
    with fsspec.filesystem("memory").open("/archive/day.jsonl.gz", "wb") as handle:
        handle.write(gzip.compress(plain.read_bytes()))
    assert main(["check", str(plain), "--workers", "1", "--report-dir", str(tmp_path / "r1")]) == 1
    local = capsys.readouterr().out
    assert main(["check", "memory://archive/day.jsonl.gz", "--workers", "1", "--report-dir", str(tmp_path / "r2")]) == 1
    assert capsys.readouterr().out == local.replace(str(plain), "memory://archive/day.jsonl.gz")


def test_a_glob_or_a_prefix_of_urls_names_each_object_in_order(tmp_path, capsys):
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    for name, body in (("02.json", must_broken()), ("01.json", BASE), ("notes.txt", {}), ("deeper/03.json", BASE)):
        with memory.open(f"/glob/{name}", "wb") as handle:
            handle.write(json.dumps(body).encode())
    assert main(["check", "memory://glob/*.json", "memory://glob/", "memory://glob/none-*.json", "--workers", "1",
                 "--format", "json", "--report-dir", str(tmp_path / "r")]) == 2
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["source"] for r in results] == [
        "memory:///glob/01.json", "memory:///glob/02.json",
        "memory:///glob/01.json", "memory:///glob/02.json", "memory:///glob/deeper/03.json",
        "memory://glob/none-*.json"]
    assert results[-1]["error"] == "no object matches" and results[1]["findings"][0]["invariant"] == "CNT-004"


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".zst"])
def test_compression_follows_the_suffix(tmp_path, capsys, suffix):
    pytest.importorskip("fsspec")
    import bz2
    import lzma

    compress = {".bz2": bz2.compress, ".xz": lzma.compress,
                ".zst": lambda data: pytest.importorskip("zstandard").ZstdCompressor().compress(data)}[suffix]
    path = tmp_path / f"one.json{suffix}"
    path.write_bytes(compress(json.dumps(must_broken()).encode()))
    assert main(["check", str(path), "--report-dir", str(tmp_path / "r")]) == 1
    assert f"{path}: CNT-004 MUST" in capsys.readouterr().out


def test_a_missing_object_is_an_input_error_and_a_password_in_a_url_is_refused(tmp_path, capsys):
    pytest.importorskip("fsspec")
    assert main(["check", "memory://nowhere/x.json", "--report-dir", str(tmp_path / "r")]) == 2
    assert "memory://nowhere/x.json: cannot read: no such file or object" in capsys.readouterr().err
    assert main(["check", "s3://key:secret@bucket/x.json"]) == 2
    err = capsys.readouterr().err
    assert "URL with a password" in err and "secret" not in err


# --- Parquet and Arrow ---


def parquet_file(path: Path, bodies: list, typed: bool = False) -> Path:
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    column = bodies if typed else [None if b is None else json.dumps(b) for b in bodies]
    parquet.write_table(pa.table({"id": list(range(len(bodies))), "body": column}), path)
    return path


def test_a_parquet_string_column_is_judged_row_by_row(tmp_path, capsys):
    path = parquet_file(tmp_path / "a.parquet", [BASE, must_broken(), None])
    assert main(["check", str(path), "--column", "body", "--report-dir", str(tmp_path / "r")]) == 2
    out, err = capsys.readouterr()
    assert f"{path}:2: CNT-004 MUST" in out and f"{path}:3: null: no JSON body" in err
    assert "2 payload(s) judged, 1 failing (1 MUST), 1 input error(s)" in out


def test_a_parquet_binary_column_is_judged_and_an_arrow_file_too(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"body": [json.dumps(BASE).encode(), json.dumps(must_broken()).encode()]})
    pytest.importorskip("pyarrow.parquet").write_table(table, tmp_path / "b.parquet")
    with pa.OSFile(str(tmp_path / "b.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    for name in ("b.parquet", "b.arrow"):
        assert main(["check", str(tmp_path / name), "--column", "body", "--report-dir", str(tmp_path / "r")]) == 1
        assert f"{tmp_path / name}:2: CNT-004 MUST" in capsys.readouterr().out


@pytest.mark.parametrize("column", ["body", "id"])
def test_a_typed_column_is_refused_with_why(tmp_path, capsys, column):
    path = parquet_file(tmp_path / "typed.parquet", [BASE], typed=True)
    assert main(["check", str(path), "--column", column, "--report-dir", str(tmp_path / "r")]) == 2
    line = capsys.readouterr().err.splitlines()[0]
    assert line.startswith(f"{path}: column '{column}' is {'struct' if column == 'body' else 'int64'}, not raw JSON")
    assert "7.0 versus 7, UTC offsets, a missing field versus null, extra properties" in line


def test_a_parquet_file_without_column_or_with_a_missing_one_is_an_input_error(tmp_path, capsys):
    path = parquet_file(tmp_path / "a.parquet", [BASE])
    assert main(["check", str(path), "--report-dir", str(tmp_path / "r")]) == 2
    assert "needs --column NAME" in capsys.readouterr().err
    assert main(["check", str(path), "--column", "nope", "--report-dir", str(tmp_path / "r")]) == 2
    assert "no column 'nope' (columns: id, body)" in capsys.readouterr().err


# --- Dask ---


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.e2e
def test_dask_local_cluster_gives_the_output_reports_and_exit_code_of_a_local_run(tmp_path, fmt):
    pytest.importorskip("dask.bag")
    pytest.importorskip("distributed")
    directory = mixed(tmp_path / "in")
    same_run(tmp_path, [directory], [["--workers", "1"], ["--dask", "local", "--workers", "2"]], fmt)


def test_dask_refuses_stdin(tmp_path):
    pytest.importorskip("distributed")
    code, _, err = run("-", "--dask", "local", "--report-dir", tmp_path / "r", cwd=tmp_path)
    assert code == 2 and err.decode().strip() == ("hems-conformance: error: stdin (-) cannot be sent to a Dask "
                                                  "cluster: give files or URLs")


# --- HAR ---


def har_entry(method: str, url: str, status: int, text: str | None, encoding: str | None = None) -> dict:
    content = {"mimeType": "application/json", "size": len(text or "")}
    if text is not None:
        content["text"] = text
    if encoding:
        content["encoding"] = encoding
    return {"startedDateTime": "2026-12-01T10:00:00.000Z", "time": 1.0,
            "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": [], "queryString": [],
                        "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                         "content": content, "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}


def write_har(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                                        "entries": entries}}), encoding="utf-8")
    return path


@pytest.mark.e2e
def test_a_har_recorded_against_a_wrong_session_id_gives_the_live_finding_offline(tmp_path, capsys):
    import base64

    import httpx
    from reference_support import bearer, deployment, stored_url

    from conformance.reference.faults import Faults
    from conformance.reference.server import start_in_thread

    dep = deployment(faults=Faults(["wrong-session-id"]))
    stored = dep.fleet.sessions[0]
    with start_in_thread(dep) as base:
        url = stored_url(base, stored)
        answer = httpx.get(url, headers=bearer(dep), timeout=30)
        missing = httpx.get(stored_url(base, stored, session_id=10**9), headers=bearer(dep), timeout=30)
    assert answer.status_code == 200 and missing.status_code == 404
    path = write_har(tmp_path / "run.har", [
        har_entry("POST", f"{base}/api/partners/v2.0/auth/token", 200, '{"access_token": "x"}'),
        har_entry("GET", url, 200, answer.text),
        har_entry("GET", stored_url(base, stored, session_id=10**9), 404, missing.text),
        har_entry("GET", url, 200, base64.b64encode(answer.content).decode(), encoding="base64"),
    ])
    assert main(["check", str(path), "--report-dir", str(tmp_path / "offline")]) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "RSP-001" in line]  # one defect, one line
    session_id = stored.coordinates()["session_id"]
    message = f"path names session {session_id}, body serves {answer.json()['session']['id']!r}"
    assert line == f"{path}:2: RSP-001 MUST /session/id: {message} (2 findings: also at {path}:4)"
    assert out.splitlines()[-1].split("; ")[0] == ("2 payload(s) judged, 2 failing (2 MUST), 2 other exchange(s) "
                                                   "skipped: non-conformant")  # then the checks not exercised
    offline = json.loads((tmp_path / "offline" / "summary.json").read_text(encoding="utf-8"))
    [rsp] = [c for c in offline["checks"] if c["id"] == "RSP-001"]
    assert rsp["status"] == "failed" and rsp["judged"] == 2 and offline["counts"]["skipped_exchanges"] == 2

    assert main(["run", "--profile", "quick", "--fault", "wrong-session-id", "--report-dir", str(tmp_path / "live")]) == 1
    capsys.readouterr()
    live = json.loads((tmp_path / "live" / "summary.json").read_text(encoding="utf-8"))
    [live_rsp] = [c for c in live["checks"] if c["id"] == "RSP-001"]
    seen_live = {(f["id"], f["level"], f["pointer"], f["message"]) for f in live_rsp["findings"]}
    assert ("RSP-001", "MUST", "/session/id", message) in seen_live


def test_a_file_that_is_no_har_is_an_input_error(tmp_path, capsys):
    path = tmp_path / "x.har"
    path.write_text('{"log": {}}', encoding="utf-8")
    assert main(["check", str(path), "--report-dir", str(tmp_path / "r")]) == 2
    assert f"{path}: not a HAR file: no log.entries list" in capsys.readouterr().err


# --- the fast parser reads what json.loads reads ---


@pytest.mark.parametrize("text", [
    '{"a": 7, "b": 7.0, "c": -0.0, "d": -0, "e": 1E5, "f": 0.1, "g": 5e-324, "h": 1.7976931348623157e308}',
    '{"big": 123456789012345678901234567890, "neg": -9223372036854775809, "u64": 18446744073709551616}',
    '{"dup": 1, "dup": 2.5, "s": "\\u00e9\\ud83d\\ude00\\u2028", "n": null, "t": true, "l": [[], {}]}',
    '{"many": ' + "9" * 4300 + "}",
])
def test_the_fast_parser_reads_numbers_and_strings_as_json_loads_does(text):
    from conformance.offline.sources import _loads, parse_line

    parsed = parse_line("x", 2, text.encode()).body
    assert repr(parsed) == repr(_loads(text)) and repr(parsed) == repr(json.loads(text))


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1e400}', "x:1:7: number 1e400 is beyond the range of a 64-bit float"),
    ('{"a": NaN}', "x:1:7: invalid JSON: NaN is not a JSON value"),
    ('"\\ud800"', "x:1: the string at / is not Unicode text (unpaired surrogate \\ud800)"),
    ('{"a": ' + "9" * 4301 + "}", "x:1:7: number with more than 4300 digits"),
])
def test_what_the_fast_parser_refuses_gets_the_message_of_the_old_one(text, expected):
    from conformance.offline.sources import parse_line

    assert parse_line("x", 1, text.encode()).line() == expected
    assert parse_line("x", 1, b"\xef\xbb\xbf{}").body == {}  # a byte order mark on the first line


@pytest.mark.parametrize("data", [b"", b"\n", b"a\nb", b"x" * 5000 + b"\n" * 3, b"\n" * 200, b"ab\n" * 500,
                                  (b"y" * 20000 + b"\n") * 5])
def test_the_range_scan_counts_newlines_as_count_does(data):
    from conformance.offline.parts import _newlines

    piece = bytearray(data)
    for start, end in [(0, len(data)), (1, len(data)), (0, len(data) // 2), (len(data) // 3, len(data) - 1)]:
        assert _newlines(piece, max(start, 0), max(end, 0)) == data.count(b"\n", max(start, 0), max(end, 0))


def test_a_large_file_that_cannot_be_opened_is_one_input_error_not_a_traceback(tmp_path, monkeypatch):
    """stat() can succeed where open() fails (permissions; root passes every mode bit, so open is made to fail)."""
    import builtins

    from conformance.offline import parts

    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 200)

    def refuse(name, *args, **kwargs):
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return builtins.open(name, *args, **kwargs)

    monkeypatch.setattr(parts, "open", refuse, raising=False)
    assert [(p.kind, p.path) for p in parts.plan([str(path)], split=100)] == [("file", str(path))]
