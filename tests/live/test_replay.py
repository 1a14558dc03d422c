"""Traceable requests and replay: each request carries the suite's User-Agent and its own X-Request-ID, which
the report records beside the finding and the reference deployment logs; `replay` re-sends the requests behind
a run's failing findings and judges them again."""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from pathlib import Path

import pytest
from gate_support import served
from hostile_support import hostile, ok, target_toml

from conformance import __version__
from conformance.cli import main
from conformance.errors import UsageError

FAULT = "counters-off-by-one"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def faulty_run(tmp_path, capsys):
    """A quick run against a faulty deployment: (its report folder, the deployment's request log)."""
    log: list[str] = []
    with served(tmp_path / "faulty.toml", FAULT, log=log) as config:
        assert main(["run", "--config", str(config), "--profile", "quick", "--report-dir", "r"]) == 1
    capsys.readouterr()
    return tmp_path / "r", log


def findings(folder: Path, check_id: str) -> list[dict]:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return next(c for c in summary["checks"] if c["id"] == check_id)["findings"]


def recorded(folder: Path, check_id: str) -> tuple[int, list[dict]]:
    """A failing check's count of findings in summary.json, and the requests recorded behind them for replay."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    total = next(c for c in summary["checks"] if c["id"] == check_id)["findings_total"]
    return total, [r for r in summary["replay"]["requests"] if r["check"] == check_id]


@pytest.mark.e2e
def test_the_request_id_of_a_finding_is_in_the_deployments_request_log(faulty_run):
    folder, log = faulty_run
    for finding in findings(folder, "CNT-002"):
        request_id, request = finding["request_id"], finding["request"]
        assert str(uuid.UUID(request_id)) == request_id
        if "headers" in request:  # the first findings of a check keep their headers, the rest are compact
            assert request["headers"]["X-Request-ID"] == request_id
            assert request["headers"]["User-Agent"] == f"hems-conformance/{__version__}"
        [line] = [line for line in log if line.endswith(f" request_id={request_id}")]
        assert line.startswith(f"GET {re.sub(r'^https?://[^/]+', '', request['url'])} 200 ")
        assert "X-Request-ID" not in finding["curl"]  # a reproduction gets its own id
    assert "headers" in findings(folder, "CNT-002")[0]["request"]
    ids = [line.rsplit("request_id=", 1)[1] for line in log if "request_id=" in line]
    assert len(ids) == len(set(ids)) > 50  # one per request, never reused


@pytest.mark.e2e
def test_replay_against_the_still_faulty_deployment_exits_1(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    with served(tmp_path / "faulty.toml", FAULT) as config:  # the same deployment, up again (a new port, new config)
        assert main(["replay", str(folder), "--config", str(config)]) == 1
        base_url = tomllib.loads(config.read_text(encoding="utf-8"))["base_url"].rstrip("/")
    lines = capsys.readouterr().out.splitlines()
    total, requests = recorded(folder, "CNT-002")
    assert total > len(findings(folder, "CNT-002"))  # more findings than summary.json keeps as evidence
    assert [line.split()[:3] for line in lines[:-1]] == [["STILL", "FAILING", "CNT-002"]] * len(requests)
    assert all(line.split()[3:5] == ["GET", f"{base_url}/api/partners/v2.0/org/" + line.split("/org/")[1].split()[0]]
               for line in lines[:-1])  # the URL replay sent (the new port), not the recorded one
    assert sum(r["findings"] for r in requests) == total
    assert lines[-1] == f"hems-conformance replay: {total} of {total} finding(s) replayed: 0 fixed, {total} still failing; 0 not replayable"


@pytest.mark.e2e
def test_replay_against_the_deployment_without_the_fault_exits_0(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    log: list[str] = []
    with served(tmp_path / "fixed.toml", log=log):  # same data, fault removed
        assert main(["replay", str(folder), "CNT-002", "--config", str(tmp_path / "fixed.toml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("FIXED           CNT-002 GET ") for line in lines[:-1]) and len(lines) > 1
    sent = {line.rsplit("request_id=", 1)[1] for line in log if "request_id=" in line}
    assert all(re.search(r"X-Request-ID ([0-9a-f-]{36})\)( \[\d+ findings\])?$", line).group(1) in sent
               for line in lines[:-1])
    assert "secret-a" not in "\n".join(lines)
    total, _ = recorded(folder, "CNT-002")
    assert lines[-1] == f"hems-conformance replay: {total} of {total} finding(s) replayed: {total} fixed, 0 still failing; 0 not replayable"


@pytest.mark.e2e
def test_replay_against_other_data_is_no_fix_but_nothing_judged(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    with served(tmp_path / "other.toml", seed=1):  # other sessions: the recorded ones are 404 there
        assert main(["replay", str(folder), "--config", str(tmp_path / "other.toml")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("NOT REPLAYABLE  CNT-002 ") and "nothing to judge (HTTP 404" in line
               for line in lines[:-1]), lines
    total, _ = recorded(folder, "CNT-002")
    assert lines[-1].endswith(f" 0 of {total} finding(s) replayed: 0 fixed, 0 still failing; {total} not replayable")


@pytest.mark.e2e
def test_replay_refuses_a_check_that_is_not_failing_and_a_missing_report(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    assert main(["replay", str(folder), "SCH-001", "--config", str(tmp_path / "faulty.toml")]) == 2
    assert "SCH-001 is not a failing check of this report (failing: CNT-002)" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "nowhere")]) == 2
    assert "cannot read" in capsys.readouterr().err



@pytest.mark.e2e
def test_replay_of_a_deployment_that_is_down_is_untestable_not_still_failing(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run  # the run's own config, whose deployment has stopped
    assert main(["replay", str(folder), "--config", str(tmp_path / "faulty.toml")]) == 3
    err = capsys.readouterr().err
    assert err.startswith("hems-conformance: target could not be tested: ") and len(err.splitlines()) == 1


# --- a report is untrusted input: replay sends fresh credentials only where --config says (issue 21) ---


def recording(seen: list[tuple[str, str, dict[str, str]]]):
    """A hostile listener's answer: a 200, after noting (method, path, headers) of the request."""
    def answer(handler) -> None:
        seen.append((handler.command, handler.path, dict(handler.headers)))
        ok(handler)

    return answer


def tamper(folder: Path, **request) -> None:
    """The first CNT-002 finding's recorded request changed as an attacker editing the CI artefact would (its
    evidence and the request replay reads)."""
    path = folder / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    finding = next(c for c in summary["checks"] if c["id"] == "CNT-002")["findings"][0]
    finding["request"] |= request
    next(r for r in summary["replay"]["requests"] if r["check"] == "CNT-002").update(request)
    path.write_text(json.dumps(summary), encoding="utf-8")


@pytest.mark.parametrize("how", ["other origin", "userinfo", "dot segments", "encoded dot segments", "DELETE",
                                 "CR LF method", "another route", "DELETE on the list route"])
@pytest.mark.e2e
def test_a_tampered_request_is_refused_before_anything_is_sent(faulty_run, tmp_path, capsys, how):
    folder, _ = faulty_run
    seen: list = []
    recorded = findings(folder, "CNT-002")[0]["request"]["url"]
    base = re.match(r"https?://[^/]+", recorded).group(0)
    log: list[str] = []
    with hostile(recording(seen)) as other, served(tmp_path / "faulty.toml", FAULT, log=log) as config:
        changes = {"other origin": {"url": f"{other}/stolen", "method": "DELETE", "headers": {"Cookie": "c=1"}},
                   "userinfo": {"url": f"{base}@{other.split('//')[1]}/stolen"},
                   "dot segments": {"url": f"{base}/api/../../stolen"},
                   "encoded dot segments": {"url": f"{base}/api/%2e%2E/stolen"},
                   "DELETE": {"method": "DELETE"},
                   "CR LF method": {"method": "GET /stolen HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET"},
                   # the same origin, but a resource a run never touches, with a fresh token
                   "another route": {"url": recorded.split("/wallboxes/")[0]},
                   "DELETE on the list route": {"url": recorded.rsplit("/", 1)[0], "method": "DELETE"}}[how]
        tamper(folder, **changes)
        code = main(["replay", str(folder), "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "refusing to replay" in err and "nothing was sent" in err and len(err.strip().splitlines()) == 1
    assert seen == [] and not any("request_id=" in line for line in log)  # not one request, anywhere


@pytest.mark.e2e
def test_replay_never_takes_the_config_a_report_names(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    seen: list = []
    with hostile(recording(seen)) as other:
        (tmp_path / "theirs.toml").write_text(target_toml(other))
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        summary["metadata"] |= {"target_config": str(tmp_path / "theirs.toml"), "target_url": other}
        (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        assert main(["replay", str(folder)]) == 2
    assert "replay needs --config FILE" in capsys.readouterr().err
    assert seen == []


@pytest.mark.e2e
def test_replay_sends_only_the_runs_headers_and_at_most_max_requests(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    tamper(folder, headers={"Cookie": "session=stolen", "X-Evil": "1", "Authorization": "Bearer theirs"})
    seen: list = []
    with hostile(recording(seen)) as target:
        (tmp_path / "t.toml").write_text(target_toml(target, auth={"grant": "bearer", "token": "secret-a-token"}))
        main(["replay", str(folder), "--config", str(tmp_path / "t.toml"), "--max-requests", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert len(seen) == 2 and all(path.startswith("/api/partners/v2.0/org/") for _, path, _ in seen)
    for method, _, headers in seen:
        assert method == "GET" and headers["Authorization"] == "Bearer secret-a-token"
        assert not {"Cookie", "X-Evil"} & set(headers)
    sent = sum("X-Request-ID" in line for line in lines)
    assert sent == 2 and sum(": not sent: replay sends at most 2 request(s)" in line for line in lines) > 0
    assert main(["replay", str(folder), "--config", str(tmp_path / "t.toml"), "--max-requests", "1001"]) == 2


@pytest.mark.e2e
def test_replay_never_opens_the_spec_a_report_names(faulty_run, tmp_path, capsys):
    folder, _ = faulty_run
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    summary["metadata"]["spec"] |= {"path": str(tmp_path / "bomb.yaml"), "sha256": "0" * 64}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (tmp_path / "bomb.yaml").write_text("a: &a [1]\nb: &b [*a, *a]\n" + "x: {" * 3)  # not even valid: never read
    with served(tmp_path / "faulty.toml", FAULT):
        assert main(["replay", str(folder), "--config", str(tmp_path / "faulty.toml"), "--max-requests", "1"]) == 1
    err = capsys.readouterr().err
    assert "warning: the run judged against another spec (SHA-256 0000" in err and "bomb.yaml" not in err


def test_a_recorded_url_is_rebuilt_on_the_configured_base_url_gateway_prefix_and_query_included():
    from conformance.live.replay import rebased

    assert rebased("http://old:1/gw/api/x?code=A&q=1", "http://old:1/gw?code=A", "http://new:2/gw2/?code=B") == \
        "http://new:2/gw2/api/x?code=B&q=1"
    assert rebased("HTTP://OLD:1/api/x", "http://old:1/", "https://new/") == "https://new/api/x"
    for tampered in ("http://old:1/gwx/api", "http://old:2/gw/api", "https://old:1/gw/api", "http://u@old:1/gw/api",
                     "http://old:1/gw/a/%2E%2e/b", "http://old:1/gw/a\nb", "file:///etc/passwd"):
        with pytest.raises(UsageError, match="refusing to replay"):
            rebased(tampered, "http://old:1/gw", "http://new:2")


# --- every finding is replayable (issue 24 item 4) ---


def failing_findings(folder: Path) -> int:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return sum(c["findings_total"] for c in summary["checks"] if c["status"] == "failed")


@pytest.mark.e2e
def test_a_procedures_finding_about_one_answers_status_replays(tmp_path, capsys):
    """OBJ-003 (a session served under another wallbox of its user): one GET answered 200, judged by a procedure
    on the status alone; replay sends it again and judges the status."""
    with served(tmp_path / "leaky.toml", "path-parents-unchecked") as config:
        assert main(["run", "--config", str(config), "--profile", "quick", "--report-dir", "leaky"]) == 1
        capsys.readouterr()
        total, requests = recorded(tmp_path / "leaky", "OBJ-003")
        assert total and all(r["statuses"] == [[100, 199], [300, 599]] for r in requests)
        assert main(["replay", "leaky", "--config", str(config)]) == 1
    still = capsys.readouterr().out.splitlines()
    assert any(line.startswith("STILL FAILING   OBJ-003 GET ") and ": answered 200, expected 100-199 or 300-599 (HTTP 200"
               in line for line in still), still
    n = failing_findings(tmp_path / "leaky")
    assert still[-1] == f"hems-conformance replay: {n} of {n} finding(s) replayed: 0 fixed, {n} still failing; 0 not replayable"
    with served(tmp_path / "fixed.toml") as config:
        assert main(["replay", "leaky", "--config", str(config)]) == 0
    fixed = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("FIXED           OBJ-003 GET ") for line in fixed) == len(requests)
    assert fixed[-1] == f"hems-conformance replay: {n} of {n} finding(s) replayed: {n} fixed, 0 still failing; 0 not replayable"


@pytest.mark.e2e
def test_a_report_without_its_replay_section_counts_the_findings_it_cannot_replay(faulty_run, tmp_path, capsys):
    """A report written before the `replay` section (or with it cut out): its kept findings are replayed, the
    others are counted as not replayable, so a fix of the kept ones is not called a fix of all (exit 1)."""
    folder, _ = faulty_run
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    del summary["replay"]
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    kept = len(findings(folder, "CNT-002"))
    total = next(c for c in summary["checks"] if c["id"] == "CNT-002")["findings_total"]
    with served(tmp_path / "fixed.toml") as config:
        assert main(["replay", str(folder), "--config", str(config)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith(f"NOT REPLAYABLE  CNT-002 -: no recorded request (past the 100 a report records per "
                                f"check, or shown by no single request) [{total - kept} findings]")
    assert lines[-1] == (f"hems-conformance replay: {kept} of {total} finding(s) replayed: {kept} fixed, 0 still failing; "
                         f"{total - kept} not replayable")
