"""Targets that misbehave on purpose (issue 12): memory and time the target must not decide, retries and
refused tokens, the right exit code. Small stdlib servers on loopback (hostile_support), or the reference
deployment answering some requests itself (reference_support.Misbehaving)."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from dataclasses import replace

import pytest
from hostile_support import (
    CLIENT,
    DRIPPED,
    answering,
    bomb,
    drip,
    endless_chunked,
    head,
    hostile,
    ok,
    target_toml,
    terminated_run,
)
from reference_support import Misbehaving

from conformance.cli import main
from conformance.contract.findings import Finding
from conformance.contract.levels import Level
from conformance.errors import ConfigError, TargetError
from conformance.live.client import TargetClient
from conformance.live.ledger import Ledger
from conformance.live.runner import DEFAULT_WORKERS
from conformance.live.target import load_target
from conformance.reference.dataset import build_fleet
from conformance.reference.server import TOKEN_PATH, Deployment, start_in_thread, write_target_config
from conformance.report.records import Evidence

MIB = 1 << 20


def client_on(tmp_path, url: str, **changes) -> TargetClient:
    path = tmp_path / "target.toml"
    path.write_text(target_toml(url))
    return TargetClient(replace(load_target(path, default_token_url="/token"), **changes))


def session_url(client: TargetClient) -> str:
    ref = client.config.tenant.sessions[0]
    return client.url(f"/api/partners/v2.0/org/{ref.org_id}/users/{ref.user_id}/wallboxes/{ref.wallbox_id}"
                      f"/hems-sessions/{ref.session_id}")


# --- 1. bodies are read up to max_body_mib, decoded, and no further ---


@pytest.mark.parametrize("answer", [endless_chunked(max_bytes=64 * MIB), bomb(64)], ids=["endless-chunked", "gzip-bomb"])
def test_a_body_is_read_no_further_than_max_body_mib_decoded(tmp_path, answer):
    with hostile(answer) as url:
        client = client_on(tmp_path, url, max_body_bytes=MIB)
        received = []
        request = client.session.request
        client.session.request = lambda *args, **kwargs: received.append(request(*args, **kwargs)) or received[-1]
        exchange = client.send("GET", session_url(client))
        client.close()
    assert exchange.too_large and exchange.body is None
    assert 64 * 1024 <= len(received[-1].content) <= 128 * 1024 and len(exchange.text) == 64 * 1024  # the head


def test_a_kept_finding_holds_a_clipped_excerpt_never_the_whole_response(tmp_path):
    with hostile(endless_chunked(max_bytes=8 * MIB)) as url:
        client = client_on(tmp_path, url, max_body_bytes=4 * MIB)
        exchange = client.send("GET", session_url(client))
        client.close()
    ledger = Ledger()
    from conformance.report.records import CheckRecord

    ledger.register(CheckRecord("RSP-002", "live", Level.MUST, "statement", "cite"))
    ledger.add(Evidence(Finding("", "too large", check_id="RSP-002", level=Level.MUST), exchange=exchange))
    kept = ledger.records["RSP-002"].findings[0].exchange
    assert kept.body is None and kept.text == exchange.text


def test_the_body_window_of_a_kept_finding_is_taken_from_the_whole_body_past_its_64_kib_head(tmp_path):
    """A long session (a body over the 64 KiB head an exchange keeps as text): the window still marks the
    pointer's lines, as `check` of the same body does, instead of the raw first line."""
    from conformance.report.excerpt import body_excerpt
    from conformance.report.records import CheckRecord
    from conformance.report.summary import evidence_entry

    document = {"session": {"id": 101}, "decisions": [{"n": n, "note": "x" * 100} for n in range(2000)]}
    body = json.dumps(document).encode()
    assert len(body) > 3 * 64 * 1024
    with hostile(answering(body)) as url:
        client = client_on(tmp_path, url)
        exchange = client.send("GET", session_url(client))
        client.close()
    assert len(exchange.text) == 64 * 1024 and exchange.body == document  # the text is the head, the body whole
    ledger = Ledger()
    ledger.register(CheckRecord("SEQ-001", "invariant", Level.MUST, "statement", "cite"))
    ledger.add(Evidence(Finding("/decisions/1999/n", "wrong", check_id="SEQ-001", level=Level.MUST), exchange))
    kept = ledger.records["SEQ-001"].findings[0]
    assert kept.exchange.body is None  # memory: the kept finding holds its window, not the parsed body
    window = evidence_entry(kept)["excerpt"]
    assert window == body_excerpt(body.decode(), "/decisions/1999/n").to_dict()  # as `check` shows it
    assert window["pointer"] == "/decisions/1999/n" and window["marked"] is not None
    first, last = window["marked"]
    assert window["lines"][first - window["first_line"]].strip() == '"n": 1999,'


@pytest.mark.e2e
def test_endless_bodies_are_said_once_not_a_crash(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with hostile(endless_chunked(max_bytes=16 * MIB)) as url:
        (tmp_path / "t.toml").write_text(target_toml(url, max_body_mib=1))
        code = main(["run", "--config", str(tmp_path / "t.toml"), "--profile", "quick", "--report-dir", "r"])
    output = "".join(capsys.readouterr())
    assert code == 1, output  # the unauthenticated probes got a 200 (read up to 1 MiB)
    assert output.count("note: a 200 answer over 1 MiB was not judged (e.g. http://127.0.0.1:") == 1, output
    assert "Traceback" not in output


# --- 2. timeout_s is a deadline for the whole request, max_run_s for the whole run ---


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "status-line-and-headers"])
@pytest.mark.e2e
def test_a_target_dripping_bytes_is_cut_at_timeout_s(tmp_path, headers_too):
    sent: list[int] = []
    with hostile(drip(every_s=0.2, headers_too=headers_too, sent=sent)) as url:
        client = client_on(tmp_path, url, timeout_s=1.0)
        with pytest.raises(TargetError, match=r"timed out: no complete answer within timeout_s = 1 s"):
            client.send("GET", session_url(client))
        client.close()
    assert len(sent) < len(DRIPPED) // 2  # cut off, not waited out (the answer says Connection: close)


@pytest.mark.e2e
def test_a_proxy_dripping_bytes_is_cut_at_timeout_s_too(tmp_path, monkeypatch):
    sent: list[int] = []
    with hostile(drip(every_s=0.2, sent=sent)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "")
        client = client_on(tmp_path, "http://target.example.invalid", timeout_s=1.0)
        with pytest.raises(TargetError, match=r"example.invalid/.*timed out: no complete answer within timeout_s = 1 s"):
            client.send("GET", session_url(client))
        client.close()
    assert len(sent) < len(DRIPPED) // 2


@pytest.mark.e2e
def test_a_token_endpoint_dripping_bytes_is_cut_at_timeout_s(tmp_path):
    sent: list[int] = []
    with hostile(drip(every_s=0.2, sent=sent)) as url:
        path = tmp_path / "target.toml"
        path.write_text(target_toml(url, CLIENT, timeout_s=1))
        client = TargetClient(load_target(path, default_token_url="/token"))
        with pytest.raises(TargetError, match=r"token endpoint .*/token: timed out: no complete answer within"):
            client.send("GET", session_url(client))
        client.close()
    assert len(sent) < len(DRIPPED) // 2


@pytest.mark.e2e
def test_no_request_is_sent_past_max_run_s(tmp_path):
    with hostile(drip(every_s=0.2)) as url:
        client = client_on(tmp_path, url, timeout_s=30.0, max_run_s=0.5)
        with pytest.raises(TargetError, match=r"timed out: no complete answer before the run reached max_run_s = 0.5 s"):
            client.send("GET", session_url(client))
        with pytest.raises(TargetError, match=r"not sent, the run reached max_run_s = 0.5 s"):
            client.send("GET", session_url(client))
        client.close()


@pytest.mark.e2e
def test_a_run_against_a_dripping_target_is_untestable_exit_3(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with hostile(drip(every_s=0.2)) as url:
        (tmp_path / "t.toml").write_text(target_toml(url, timeout_s=1))
        code = main(["run", "--config", str(tmp_path / "t.toml"), "--profile", "quick", "--report-dir", "r"])
    output = "".join(capsys.readouterr())
    assert code == 3, output
    assert "target could not be tested: GET" in output and "timed out: no complete answer within timeout_s = 1 s" in output


# --- 9. fresh tokens refused mid-run; 10. a rate-limited token endpoint ---


def run_reference(tmp_path, capsys, rule) -> tuple[int, str, list[str]]:
    log: list[str] = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(build_fleet(0), log=log.append)
    deployment.app = Misbehaving(deployment.app, rule)
    with start_in_thread(deployment) as url:
        write_target_config(str(tmp_path / "t.toml"), deployment.target_config(url))
        code = main(["run", "--config", str(tmp_path / "t.toml"), "--profile", "quick", "--report-dir",
                     str(tmp_path / "r")])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, log


@pytest.mark.e2e
def test_fresh_tokens_refused_in_the_middle_of_a_run_stop_it_with_exit_3(tmp_path, capsys):
    reads = []

    def refuse_after_some_reads(scope):
        if scope["path"] != TOKEN_PATH:
            reads.append(scope["path"])
            if len(reads) > 12:
                return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b'{"detail": "Unauthorized"}'
        return None

    _, _, clean_log = run_reference(tmp_path / "clean", capsys, lambda scope: None)
    code, output, log = run_reference(tmp_path / "refused", capsys, refuse_after_some_reads)
    assert code == 3, output
    assert "the target refuses the token its token endpoint just issued for" in output
    # bounded: no refetch loop. The token endpoint's own checks (TOK-*, AUTH-006's refresh-token probes) run
    # concurrently and may all have gone out before the refusal stopped the run, so the bound is what a clean run
    # asks of the token endpoint in all, plus at most one refetch per request in flight (--workers) when the
    # refusal came.
    token_requests = [sum(line.startswith(f"POST {TOKEN_PATH}") for line in lines) for lines in (clean_log, log)]
    assert token_requests[1] <= token_requests[0] + DEFAULT_WORKERS, (token_requests, log)
    assert "NON-CONFORMANT" not in output and "Traceback" not in output


@pytest.mark.e2e
def test_a_token_endpoint_answering_429_is_retried_like_any_request(tmp_path, capsys):
    answered = []

    def rate_limit_the_first_token_request(scope):
        if scope["path"] == TOKEN_PATH and not answered:
            answered.append(429)
            return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
        return None

    code, output, log = run_reference(tmp_path, capsys, rate_limit_the_first_token_request)
    assert code == 0, output
    assert answered == [429]


# --- 7. the environment does not choose what is judged ---


@pytest.mark.parametrize("addopts", ["-k TOK", "--collect-only"])
@pytest.mark.e2e
def test_pytest_options_from_the_environment_do_not_reach_the_verdict(tmp_path, capsys, monkeypatch, addopts):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTEST_ADDOPTS", addopts)
    code = main(["run", "--fault", "cross-tenant-read", "--profile", "quick", "--report-dir", "r"])
    output = "".join(capsys.readouterr())
    assert code == 1 and "OBJ-004" in output, output


@pytest.mark.e2e
def test_a_run_that_did_not_run_its_checks_is_never_conformant(tmp_path, capsys, monkeypatch):
    from conformance.live.launch import RunRequest, run

    monkeypatch.chdir(tmp_path)
    code = run(RunRequest(profile="quick", report_dir="r", extra_pytest_args=("--collect-only",)))
    output = "".join(capsys.readouterr())
    assert code == 2, output
    assert "checks did not run (deselected or only collected" in output and "conformant" not in output
    assert code == run(RunRequest(profile="quick", report_dir="r", extra_pytest_args=("-k", "TOK")))


# --- 4. absurd tokens and secrets are refused, not masked at any cost ---


def huge_token_answer(handler) -> None:
    body = json.dumps({"access_token": "t" * (100 * 1024), "token_type": "Bearer", "expires_in": 60}).encode()
    head(handler, Content_Length=str(len(body)))
    handler.wfile.write(body)


def test_a_token_over_64_kib_is_a_broken_token_endpoint(tmp_path):
    with hostile(huge_token_answer) as url:
        path = tmp_path / "target.toml"
        path.write_text(target_toml(url, CLIENT))
        client = TargetClient(load_target(path, default_token_url="/token"))
        with pytest.raises(TargetError, match=r"token endpoint .*/token is broken: HTTP 200 with an answer over 64 KiB"):
            client.send("GET", session_url(client))
        with pytest.raises(TargetError, match=r"is broken: its access_token is over 64 KiB"):
            client.send("POST", url + "/token", tenant=None)
        client.close()


def test_a_configured_secret_over_64_kib_is_a_configuration_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HEMS_HUGE", "s" * (65 * 1024))
    path = tmp_path / "target.toml"
    path.write_text(target_toml("http://127.0.0.1:1", {"grant": "bearer", "token_env": "HEMS_HUGE"}))
    with pytest.raises(ConfigError, match="auth.token_env: environment variable HEMS_HUGE is longer than 64 KiB"):
        load_target(path, default_token_url="/token")


# --- 8. verify_tls and ca_bundle hold on every request, whatever CA bundle the environment names ---


@pytest.mark.parametrize("setting", ["verify_tls = false", "ca_bundle"])
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_tls_settings_hold_when_the_environment_names_another_ca_bundle(tmp_path, monkeypatch, setting, variable):
    import trustme

    ca, other = trustme.CA(), trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    monkeypatch.setenv(variable, str(tmp_path / "other.pem"))  # as CI images do: a bundle without this CA
    with hostile(ok, tls=server) as url:
        path = tmp_path / "target.toml"
        extra = {"verify_tls": False} if setting.startswith("verify") else {"ca_bundle": str(tmp_path / "ca.pem")}
        path.write_text(target_toml(url, **extra))
        client = TargetClient(load_target(path, default_token_url="/token"))
        statuses = [client.send("GET", session_url(client)).status for _ in range(2)]
        client.close()
    assert statuses == [200, 200]


# --- 3. a killed run leaves no lie behind ---


@pytest.mark.e2e
def test_sigterm_ends_a_run_like_ctrl_c_and_no_earlier_verdict_stays(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"format": "hems-conformance-summary/1", "verdict": "conformant",
                                                     "exit_code": 0, "checks": []}))
    (folder / "junit.xml").write_text("<testsuites/>")
    code, output = terminated_run(tmp_path, folder)
    assert code == 130, output
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["verdict"] == "interrupted" and summary["exit_code"] == 130
    assert "<testsuites/>" not in (folder / "junit.xml").read_text()
    assert "Traceback" not in output


def test_a_run_marks_its_report_folder_running_before_anything_runs_and_compare_refuses_it(tmp_path, capsys):
    from conformance.report.summary import ReportFolder

    folder = ReportFolder.create(str(tmp_path / "r")).started()
    assert json.loads(folder.file("summary.json").read_text())["verdict"] == "running"
    assert main(["report", "compare", str(folder.path), str(folder.path)]) == 2
    assert "the run never finished (verdict running" in capsys.readouterr().err


# --- 12. bad input and environments: exit 2 in one line; odd answers are findings or say what happened ---


deep_json = answering(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.e2e
def test_a_200_nested_100000_deep_is_a_finding_not_an_untestable_target(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with hostile(deep_json) as url:
        (tmp_path / "t.toml").write_text(target_toml(url))
        code = main(["run", "--config", str(tmp_path / "t.toml"), "--profile", "quick", "--report-dir", "r"])
    output = "".join(capsys.readouterr())
    assert code == 1, output
    assert "RSP-002" in output and "RecursionError" not in output and "Traceback" not in output


def too_many_headers(handler) -> None:
    handler.send_response(200)
    for n in range(150):
        handler.send_header(f"X-Header-{n}", "x")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def test_an_answer_that_is_not_valid_http_says_what_is_wrong_with_it(tmp_path):
    with hostile(too_many_headers) as url:
        client = client_on(tmp_path, url)
        with pytest.raises(TargetError, match=r"hems-sessions/101: the answer is not valid HTTP: got more than 100 headers"):
            client.send("GET", session_url(client))
        client.close()


@pytest.mark.parametrize(("content", "says"), [
    (b'base_url = "http://x\xff"\n', "not valid TOML: not UTF-8 (byte 20)"),
    (b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "not valid TOML: nested too deeply to parse"),
])
def test_a_config_that_is_not_utf8_or_nested_too_deeply_is_exit_2(tmp_path, capsys, content, says):
    (tmp_path / "t.toml").write_bytes(content)
    assert main(["run", "--config", str(tmp_path / "t.toml")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


@pytest.mark.e2e
def test_a_spec_nested_too_deeply_is_exit_2(tmp_path, capsys):
    (tmp_path / "spec.json").write_bytes(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert main(["run", "--spec", str(tmp_path / "spec.json")]) == 2
    assert "not valid YAML/JSON: nested too deeply to parse" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "closed", "says"), [
    (["check", "-"], "stdin", "<stdin>: cannot read: standard input is closed"),
    (["invariants"], "stdout", "hems-conformance: error: stdout closed: no verdict could be seen"),
    (["invariants"], "stderr", ""),
])
@pytest.mark.e2e
def test_closed_standard_streams_are_exit_2_without_a_traceback(tmp_path, argv, closed, says):
    redirect = {"stdin": "<&-", "stdout": ">&-", "stderr": "2>&-"}[closed]  # the process starts with it closed
    result = subprocess.run(["sh", "-c", f'exec "$0" -m conformance {" ".join(argv)} {redirect}', sys.executable],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stdout + result.stderr and "Traceback" not in result.stderr


# --- 13. inputs are read whole only up to a documented size ---


def test_a_json_document_or_a_json_lines_line_over_max_document_is_refused_and_the_rest_judged(tmp_path, capsys,
                                                                                               monkeypatch):
    from conformance.offline import sources

    monkeypatch.setattr(sources, "MAX_DOCUMENT", 4096)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.json").write_text(json.dumps({"padding": "x" * 5000}))
    (tmp_path / "lines.jsonl").write_text("{}\n" + json.dumps({"padding": "x" * 9000}) + "\n{}\n")
    code = main(["check", str(tmp_path / "big.json"), str(tmp_path / "lines.jsonl")])
    captured = capsys.readouterr()
    assert code == 2
    assert [line.split(": ", 1)[0] for line in captured.err.splitlines() if "larger than" in line] == \
        [str(tmp_path / "big.json"), f"{tmp_path / 'lines.jsonl'}:2"]
    assert "2 payload(s) judged" in captured.out


@pytest.mark.parametrize(("checks", "says"), [
    ([1, "x"], "is not of type 'object'"),
    ([{"id": "X", "status": "passed", "findings": [{"message": "m", "request": {"method": 1}}]}],
     "at /checks/0/findings/0/request: 'url' is a required property"),
    ([{"id": "X"}], "at /checks/0: 'status' is a required property"),
])
def test_compare_refuses_a_summary_of_the_right_format_but_the_wrong_shape(tmp_path, capsys, checks, says):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"format": "hems-conformance-summary/1", "verdict": "conformant", "checks": checks}))
    assert main(["report", "compare", str(path), str(path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_during_check_writes_reports_that_say_interrupted(tmp_path, capsys, monkeypatch):
    from conformance.contract.judge import Judge

    judge, calls = Judge.judge, []

    def interrupted_at_the_second(self, body):
        calls.append(body)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return judge(self, body)

    monkeypatch.setattr(Judge, "judge", interrupted_at_the_second)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.jsonl").write_text("{}\n{}\n{}\n")
    assert main(["check", str(tmp_path / "p.jsonl"), "--report-dir", "r"]) == 130
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["verdict"] == "interrupted" and summary["exit_code"] == 130 and summary["counts"]["payloads"] == 1
    assert "hems-conformance: interrupted: no verdict" in capsys.readouterr().err


def short_token_answer(handler) -> None:
    body = json.dumps({"access_token": "abc", "token_type": "Bearer", "expires_in": 60}).encode()
    head(handler, Content_Length=str(len(body)))
    handler.wfile.write(body)


def test_a_token_too_short_to_mask_is_a_broken_token_endpoint(tmp_path):
    with hostile(short_token_answer) as url:
        (tmp_path / "t.toml").write_text(target_toml(url, CLIENT))
        client = TargetClient(load_target(tmp_path / "t.toml", default_token_url="/token"))
        with pytest.raises(TargetError, match="is broken: its access_token has fewer than 4 characters"):
            client.send("GET", session_url(client))
        client.close()


# --- 14. hostile report folders and reports (issue 21) ---

REPORT_FILES = ("summary.json", "report.html", "junit.xml", "summary.md", "gl-code-quality-report.json")


def linked_folder(tmp_path):
    """A report folder whose report files are symlinks to files elsewhere (a committed link in a CI checkout)."""
    folder, victims = tmp_path / "r", tmp_path / "victims"
    folder.mkdir()
    victims.mkdir()
    for name in REPORT_FILES:
        (victims / name).write_text("precious\n")
        (folder / name).symlink_to(victims / name)
    return folder, victims


def assert_links_replaced_not_followed(folder, victims) -> None:
    for name in REPORT_FILES:
        assert (victims / name).read_text() == "precious\n", name
        assert not (folder / name).is_symlink() and (folder / name).stat().st_size > 0, name
    assert not list(folder.glob(".*.tmp"))


def test_check_writes_no_report_through_a_symlink(tmp_path, capsys):
    folder, victims = linked_folder(tmp_path)
    (tmp_path / "p.json").write_text("{}")
    assert main(["check", str(tmp_path / "p.json"), "--report-dir", str(folder)]) == 1
    assert_links_replaced_not_followed(folder, victims)


@pytest.mark.e2e
def test_run_writes_no_report_through_a_symlink(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, victims = linked_folder(tmp_path)
    with hostile(ok) as url:
        (tmp_path / "t.toml").write_text(target_toml(url))
        assert main(["run", "--config", "t.toml", "--profile", "quick", "--report-dir", str(folder)]) == 1
    assert_links_replaced_not_followed(folder, victims)


@pytest.mark.e2e
def test_a_full_disk_leaves_the_previous_summary_whole(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "summary.json").write_text('{"verdict": "previous"}\n')
    (tmp_path / "p.jsonl").write_text("{}\n" * 200)
    script = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); from conformance.cli import main; "
              "sys.exit(main(sys.argv[1:]))")  # a file over 4 KiB fails to write, as on a full disk
    result = subprocess.run([sys.executable, "-c", script, "check", str(tmp_path / "p.jsonl"), "--report-dir",
                             str(folder)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "cannot write the reports" in result.stderr, result.stderr
    assert (folder / "summary.json").read_text() == '{"verdict": "previous"}\n'
    assert not list(folder.glob(".*.tmp"))


def drawn_summary(tmp_path, capsys) -> dict:
    """The summary.json of a check that drew one session (a good one, by its outcome)."""
    from pathlib import Path

    payload = Path(__file__).resolve().parents[2] / "cases" / "payloads" / "base" / "ended-charged.json"
    assert main(["check", str(payload), "--report-dir", str(tmp_path / "drawn")]) == 0
    capsys.readouterr()
    summary = json.loads((tmp_path / "drawn" / "summary.json").read_text())
    assert summary["sessions"]["by_outcome"]
    return summary


@pytest.mark.parametrize(("field", "value", "says"), [
    ("rows_total", ["<script>alert(1)</script>", 1], "at /sessions/by_outcome/0/rows_total/0"),
    ("rows_total", [1, '<img src=x onerror="alert(1)">'], "at /sessions/by_outcome/0/rows_total/1"),
    ("ended_s", "<b>late</b>", "at /sessions/by_outcome/0/ended_s"),
    ("decisions", [["<script>", {"a": 1}, 0, 0, 1, True, None]], "at /sessions/by_outcome/0/decisions/0/"),
    ("findings", [{"id": "X"}], "at /sessions/by_outcome/0/findings/0: 'pointer' is a required property"),
])
def test_compare_refuses_a_tampered_session_before_any_page_is_written(tmp_path, capsys, field, value, says):
    old = drawn_summary(tmp_path, capsys)
    new = json.loads(json.dumps(old))
    new["sessions"]["by_outcome"][0][field] = value
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    code = main(["report", "compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--html",
                 str(tmp_path / "page.html")])
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "page.html").exists()


def test_compare_escapes_every_text_of_a_session_in_its_page(tmp_path, capsys):
    old = drawn_summary(tmp_path, capsys)
    new = json.loads(json.dumps(old))
    session = new["sessions"]["by_outcome"][0]
    hostile_text = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    session |= {"label": hostile_text, "outcome": hostile_text, "key": hostile_text, "started_at": hostile_text,
                "findings": [{"id": hostile_text, "pointer": hostile_text, "message": hostile_text}],
                "findings_total": 1}
    session["decisions"][0][1] = hostile_text
    session["commands"][0][3] = hostile_text
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    main(["report", "compare", str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--html",
          str(tmp_path / "page.html")])
    page = (tmp_path / "page.html").read_text()
    assert "alert(1)" in page and "<img" not in page and "<script" not in page


def test_compare_prints_a_tampered_check_id_on_its_own_line_without_terminal_escapes(tmp_path, capsys):
    """A check id with a line break and escapes wrote a forged `::error::` workflow command and drove the terminal."""
    old = {"format": "hems-conformance-summary/1", "verdict": "conformant", "checks": []}
    new = dict(old, verdict="non-conformant", checks=[{"id": "X\x1b]0;pwned\x07\n::error::forged", "status": "failed"}])
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert main(["report", "compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and not any(line.startswith("::") for line in out.splitlines()), out
    assert "X\\x1b]0;pwned\\x07\\n::error::forged" in out, out


def test_the_access_log_of_serve_cannot_be_forged_through_the_path(tmp_path):
    import http.client

    from gate_support import served

    log: list[str] = []
    with served(tmp_path / "t.toml", log=log) as config:
        port = int(config.read_text().split("127.0.0.1:")[1].split('"')[0].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        forged = "/x%0APOST%20/api/partners/v2.0/token%20200%201.0ms%20request_id=forged%0D%0A%00%E2%80%A8"
        connection.request("GET", forged, headers={"X-Request-ID": "real-id"})
        connection.getresponse().read()
        connection.close()
    [entry] = log
    assert entry.startswith("GET /x%0APOST%20/api/partners/v2.0/token%20200%201.0ms%20request_id=forged%0D%0A%00")
    assert entry.endswith(" request_id=real-id") and len(entry.split(" ")) == 5 and entry.isprintable()


@pytest.mark.parametrize(("content", "says"), [
    ("[" * 100_000 + "]" * 100_000, "s.json: not valid JSON: nested too deeply to parse"),
    ('{"a": 1}\n' + "[" * 100_000 + "]" * 100_000 + "\n", "s.json:2: not valid JSON: nested too deeply to parse"),
    (json.dumps({"org_id": "x" * 10_000_000, "user_id": "u", "wallbox_id": "w", "detail": {}}),
     "s.json: org_id: 'xxxxxxxxxx"),
])
def test_serve_sessions_that_are_nested_too_deeply_or_huge_are_exit_2_in_one_short_line(tmp_path, capsys, content,
                                                                                         says):
    (tmp_path / "s.json").write_text(content)
    assert main(["serve", "--port", "0", "--sessions", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err) < 400 and len(err.strip().splitlines()) == 1, err[:400]


# --- 15. bad input is exit 2 in one line, never a traceback or exit 1 (issue 21) ---

DEEP_TOML = "a = " + "[" * 5_000 + "]" * 5_000 + "\n"


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("content", "says"), [(b'[[accept]]\ncheck = "\xff"\n', "not valid TOML: not UTF-8"),
                                               (DEEP_TOML.encode(), "not valid TOML: nested too deeply to parse")])
def test_a_baseline_that_is_not_utf8_or_nested_too_deeply_is_exit_2(tmp_path, capsys, monkeypatch, command, content,
                                                                   says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.toml").write_bytes(content)
    (tmp_path / "p.json").write_text("{}")
    argv = ["check", "p.json"] if command == "check" else ["run", "--profile", "quick"]
    assert main([*argv, "--baseline", "b.toml"]) == 2
    err = capsys.readouterr().err
    assert f"baseline b.toml: {says}" in err and len(err.strip().splitlines()) == 1, err


def test_a_summary_nested_too_deeply_is_exit_2_for_compare_and_replay(tmp_path, capsys):
    (tmp_path / "summary.json").write_text("[" * 100_000 + "]" * 100_000)
    for argv in (["report", "compare", str(tmp_path), str(tmp_path)], ["replay", str(tmp_path), "--config", "x"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "not a summary.json: nested too deeply to parse" in err and len(err.strip().splitlines()) == 1, err


def test_archives_and_stores_fsspec_cannot_open_are_input_errors(tmp_path, capsys, monkeypatch):
    pytest.importorskip("fsspec")
    import zipfile

    monkeypatch.chdir(tmp_path)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("p.json", "{}")
    (tmp_path / "not.tar").write_text("not a tar archive")
    assert main(["check", f"zip://p.json::file://{tmp_path / 'a.zip'}", "--workers", "1"]) == 1  # judged
    assert "1 payload(s) judged" in capsys.readouterr().out
    for url, says in ((f"tar://p.json::file://{tmp_path / 'not.tar'}", "cannot read: ReadError"),
                      ("reference://", "reference://: cannot list: "), ("reference://x", "cannot read: TypeError")):
        assert main(["check", url, "--workers", "1"]) == 2, url
        captured = capsys.readouterr()
        assert says in captured.err and "Traceback" not in captured.err + captured.out, captured.err


def test_an_unexpected_error_is_exit_2_in_one_line_and_the_report_says_so(tmp_path, capsys, monkeypatch):
    from conformance.offline import check_command

    def broken(*args, **kwargs):
        raise KeyError("hostile-bearer-token-0123456789")

    monkeypatch.setattr(check_command, "check_summary", broken)
    (tmp_path / "p.json").write_text("{}")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "summary.json").write_text('{"verdict": "conformant", "exit_code": 0}')
    assert main(["check", str(tmp_path / "p.json"), "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hems-conformance: error: unexpected KeyError at ") and len(err.strip().splitlines()) == 1
    assert "hostile" not in err  # an exception's message may hold a secret: never printed
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["verdict"] == "incomplete" and summary["exit_code"] == 2


def test_an_unexpected_error_talking_to_the_target_is_exit_3_and_the_report_says_so(tmp_path, capsys, monkeypatch):
    from conformance.live import launch

    def reset(*args, **kwargs):
        raise ConnectionResetError("reset by peer")

    monkeypatch.setattr(launch, "LiveRun", reset)
    monkeypatch.chdir(tmp_path)
    with hostile(ok) as url:
        (tmp_path / "t.toml").write_text(target_toml(url))
        assert main(["run", "--config", "t.toml", "--profile", "quick", "--report-dir", "r"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("hems-conformance: target could not be tested: unexpected ConnectionResetError at ")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["verdict"] == "target could not be tested" and summary["exit_code"] == 3


def test_reports_written_by_rename_keep_the_permissions_open_would_give(tmp_path, capsys):
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    (tmp_path / "p.json").write_text("{}")
    main(["check", str(tmp_path / "p.json"), "--report-dir", str(tmp_path / "r")])
    for name in REPORT_FILES:
        assert (tmp_path / "r" / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
