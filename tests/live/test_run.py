"""`hems-conformance run` against the reference deployment: quiet when correct, loud on every fault.

Each test starts a deployment in-process on a free loopback port, writes its target config and runs the
real CLI (pytest inside pytest, as `run` is pytest with the plugin).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from reference_support import CookieSessions, Misbehaving, authorization
from run_support import failed_checks, reference, run_cli

import conformance
from conformance.cli import main
from conformance.live.live_cases import load_live_cases
from conformance.live.procedures import PROCEDURES
from conformance.reference.dataset import build_fleet
from conformance.reference.faults import FAULTS, Faults
from conformance.reference.server import TOKEN_PATH, Deployment, start_in_thread, write_target_config
from conformance.reference.variants import VARIANTS
from conformance.report.html import status_words

pytestmark = pytest.mark.usefixtures("in_tmp")  # each test in its own working directory

SHOULD_CASES = {case.id for case in load_live_cases() if case.level.value == "SHOULD"}
INFO_CASES = {case.id for case in load_live_cases() if case.level.value == "INFO"}


def failed_lines(output: str) -> list[str]:
    """pytest's FAILED lines for checks; target-testable fails on purpose when a run reaches no verdict."""
    return [line for line in output.splitlines() if line.startswith("FAILED") and "::target-testable" not in line]


@pytest.mark.e2e
def test_the_bundled_reference_deployment_is_conformant(capsys):
    code, output = run_cli(capsys)
    assert code == 0, output
    assert "hems-conformance: conformant" in output


@pytest.mark.e2e
def test_the_bundled_reference_deployment_is_conformant_under_strict(capsys):
    """Strict mode is safe on a correct deployment: no SHOULD finding either (variants: see below)."""
    code, output = run_cli(capsys, "--strict")
    assert code == 0, output
    assert "hems-conformance: conformant" in output and "with warnings" not in output, output


@pytest.mark.parametrize("name", [f for f in FAULTS if f != "token-endpoint-500"])
@pytest.mark.e2e
def test_every_fault_is_caught_naming_what_it_breaks(tmp_path, capsys, name):
    fault = FAULTS[name]
    strict = ("--strict",) if set(fault.breaks) <= SHOULD_CASES | INFO_CASES else ()
    with reference(tmp_path, faults=[name]) as config:
        code, output = run_cli(capsys, "--config", str(config), *strict)
    if set(fault.breaks) <= INFO_CASES:  # reported, never failing, not even under --strict
        checks = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]
        assert code == 0 and all(c["findings"] for c in checks if c["id"] in fault.breaks), output
        return
    assert code == 1, output
    assert set(fault.breaks) <= failed_checks(output), output


@pytest.mark.parametrize("name", [f for f, fault in FAULTS.items() if set(fault.breaks) <= SHOULD_CASES])
@pytest.mark.e2e
def test_a_should_level_fault_warns_without_strict(tmp_path, capsys, name):
    with reference(tmp_path, faults=[name]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 0, output
    assert "with warnings" in output


@pytest.mark.e2e
def test_info_findings_are_named_info_and_counted_as_notes_never_as_warnings(tmp_path, capsys):
    def lowered(target):
        target["judge"] = {"levels": {"CNT-002": "INFO"}}

    with reference(tmp_path, faults=["counters-off-by-one"], edit=lowered) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    lines = output.splitlines()
    assert code == 0, output
    assert any(line.startswith("INFO CNT-002 INFO:") for line in lines), output
    assert not any(line.startswith("WARN ") for line in lines) and "with warnings" not in output, output
    assert re.search(r"hems-conformance: conformant; \d+ INFO notes?[ ;]", output), output
    checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
    assert checks["CNT-002"]["status"] == "info"
    markdown = (tmp_path / "reports-under-test" / "summary.md").read_text(encoding="utf-8")
    assert "### INFO notes" in markdown and "### Warnings" not in markdown


@pytest.mark.e2e
def test_the_fault_flag_runs_the_bundled_deployment_broken(capsys):
    code, output = run_cli(capsys, "--fault", "counters-off-by-one")
    assert code == 1 and failed_checks(output) == {"CNT-002"}, output


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.e2e
def test_legitimate_variations_are_conformant(tmp_path, capsys, name):
    with reference(tmp_path, variants=[name]) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    assert "with warnings" not in output, output
    spec_findings = {f["key"] for f in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["spec_findings"]}
    # correct answers the spec does not list are information
    assert ("undocumented-403" if name == "forbidden-not-found" else "undocumented-404") in spec_findings
    if name == "rate-limited":
        assert "undocumented-429" in spec_findings
    if name in ("forbidden-across-tenants", "malformed-token-400"):
        assert f"undocumented-{403 if name.startswith('forbidden') else 400}" in spec_findings


@pytest.mark.e2e
def test_a_deployment_that_also_accepts_session_cookies_is_conformant(tmp_path, capsys):
    deployment = Deployment(build_fleet(0))
    deployment.app = CookieSessions(deployment.app)
    with start_in_thread(deployment) as url:
        write_target_config(str(tmp_path / "target.toml"), deployment.target_config(url))
        code, output = run_cli(capsys, "--config", str(tmp_path / "target.toml"), "--strict")
    assert code == 0, output


@pytest.mark.e2e
def test_session_ids_numbered_per_wallbox_are_no_leak(tmp_path, capsys):
    """A deployment whose session ids are unique per wallbox only: every wallbox has a session of each number,
    so a known number under another of the tenant's wallboxes is that wallbox's own session, rightly served."""
    deployment = Deployment(build_fleet(0))
    sessions = {s.session_id: s for s in deployment.fleet.sessions}
    by_wallbox = {(s.org_id, s.user_id, s.wallbox_id): s for s in deployment.fleet.sessions}

    def numbered_per_wallbox(scope):
        parts = scope["path"].split("/")  # /api/partners/v2.0/org/O/users/U/wallboxes/W/hems-sessions/S
        if scope["path"] == TOKEN_PATH or len(parts) != 12 or not parts[11].isdigit() or int(parts[11]) not in sessions:
            return None
        number = int(parts[11])
        try:
            parents = tuple(uuid.UUID(parts[i]) for i in (5, 7, 9))
        except ValueError:
            return None
        own = sessions[number]
        other = by_wallbox.get(parents)
        if other is None or parents == (own.org_id, own.user_id, own.wallbox_id) or not authorization(scope):
            return None
        payload = json.loads(json.dumps(other.payload))
        payload["session"]["id"] = number
        return 200, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    deployment.app = Misbehaving(deployment.app, numbered_per_wallbox)
    with start_in_thread(deployment) as url:
        write_target_config(str(tmp_path / "target.toml"), deployment.target_config(url))
        code, output = run_cli(capsys, "--config", str(tmp_path / "target.toml"), "--strict")
    assert code == 0, output


@pytest.mark.e2e
def test_tenant_isolation_is_not_judged_when_a_tenant_has_no_credentials(tmp_path, capsys):
    def tenant_b_without_auth(target):
        target["tenant_b"]["auth"] = {"grant": "none"}

    with reference(tmp_path, faults=["auth-not-enforced"], edit=tenant_b_without_auth) as config:
        run_cli(capsys, "--config", str(config))
    checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
    assert checks["OBJ-004"]["status"] == "skipped", checks["OBJ-004"]
    assert "grant = none" in checks["OBJ-004"]["skip_reason"]


@pytest.mark.e2e
def test_a_broken_token_endpoint_is_untestable_not_non_conformant(tmp_path, capsys):
    with reference(tmp_path, faults=["token-endpoint-500"]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 3, output
    assert "target could not be tested: token endpoint" in output and "HTTP 500" in output
    assert "Traceback" not in output
    junit = (tmp_path / "reports-under-test" / "junit.xml").read_text(encoding="utf-8")
    failed = re.findall(r'<testcase [^>]*name="([^"]+)"[^>]*>\s*<failure', junit)
    assert failed == ["target-testable"]  # a JUnit-only CI is not shown green; no check reads as failed


@pytest.mark.e2e
def test_a_target_that_is_down_is_untestable(tmp_path, capsys):
    with reference(tmp_path) as config:
        pass  # the deployment is stopped again: its port refuses connections now
    code, output = run_cli(capsys, "--config", str(config))
    assert code == 3, output
    assert "connection failed" in output and "Traceback" not in output


def verdict_of(output: str) -> str:
    """The one `hems-conformance:` verdict line (the other such lines name the reports, notes, checks not
    exercised and the command that reproduces the run)."""
    [line] = [line for line in output.splitlines() if line.startswith("hems-conformance: ") and " reports in " not in
              line and ": note: " not in line and ": not exercised: " not in line and ": reproduce: " not in line]
    return line


@pytest.mark.e2e
def test_credentials_the_token_endpoint_rejects_are_a_configuration_error_not_a_failed_check(tmp_path, capsys):
    def wrong_secret(target):
        target["auth"]["client_secret"] = "not-the-secret"

    with reference(tmp_path, edit=wrong_secret) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 2, output
    assert verdict_of(output).startswith("hems-conformance: error: auth: token endpoint"), output
    assert "rejected the configured credentials: invalid_client" in output
    assert "Traceback" not in output and "not-the-secret" not in output and not failed_lines(output)


@pytest.mark.e2e
def test_an_unexpected_error_inside_a_check_is_no_verdict_neither_a_pass_nor_a_failure(tmp_path, capsys, monkeypatch):
    def crash(run, case):
        raise ValueError("something the suite did not expect\nsecond line")

    monkeypatch.setitem(PROCEDURES, "stable_reads", crash)
    code, output = run_cli(capsys)
    assert code == 3, output
    assert verdict_of(output) == ("hems-conformance: target could not be tested: RSP-005 stopped on ValueError: "
                                  "something the suite did not expect second line")
    assert "Traceback" not in output and not failed_lines(output)


@pytest.mark.e2e
def test_a_token_endpoint_answering_html_is_untestable_in_one_line(tmp_path, capsys):
    def login_page(scope):
        return (200, {"Content-Type": "text/html"}, b"<html>Sign in</html>") if scope["path"] == TOKEN_PATH else None

    with reference(tmp_path, rule=login_page) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 3, output
    assert verdict_of(output).endswith("is broken: HTTP 200 with a body that is not a JSON object (text/html)")
    assert "Traceback" not in output and not failed_lines(output)


def _redirect_to_https(scope):
    return (301, {"Location": "https://example.invalid" + scope["path"]}, b"") if scope["path"] != TOKEN_PATH else None


def _refuse_every_token(scope):
    if scope["path"] != TOKEN_PATH and authorization(scope):
        return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b'{"detail": "Unauthorized"}'
    return None


def _bearer(token):
    def edit(target):
        target["auth"] = {"grant": "bearer", "token": token}
    return edit


def _no_auth(target):
    target["auth"] = {"grant": "none"}


def _gateway_without_deployment(scope):
    return (502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>") if scope["path"] != TOKEN_PATH else None


@pytest.mark.parametrize(("edit", "rule", "code", "says"), [
    (None, _redirect_to_https, 3, "answered 301, a redirect to https://example.invalid/api/partners/v2.0/org/"),
    (None, _refuse_every_token, 3, "the target refuses the token its token endpoint just issued for auth with 401"),
    (None, _gateway_without_deployment, 3, "answered 502, and so does a configured session: the deployment behind"),
    (_bearer("revoked-token-0123456789"), None, 2, "error: auth.token: the target refuses the configured token"),
    (_no_auth, None, 2, "error: auth.grant = none, but the target answers 401"),
], ids=["redirects-everything", "refuses-fresh-tokens", "gateway-answers-502", "revoked-bearer-token", "needs-auth"])
@pytest.mark.e2e
def test_a_target_that_cannot_be_judged_is_exit_2_or_3_never_non_conformant(tmp_path, capsys, edit, rule, code, says):
    with reference(tmp_path, edit=edit or (lambda target: None), rule=rule) as config:
        exit_code, output = run_cli(capsys, "--config", str(config))
    assert exit_code == code, output
    assert says in verdict_of(output), output
    assert "Traceback" not in output and not failed_lines(output) and "revoked-token-0123456789" not in output


@pytest.mark.e2e
def test_an_interrupted_run_says_so_everywhere_and_exits_130(tmp_path, capsys, monkeypatch):
    def ctrl_c(run, case):
        raise KeyboardInterrupt

    monkeypatch.setitem(PROCEDURES, "moved_session", ctrl_c)
    code, output = run_cli(capsys)
    summary = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())
    assert code == 130, output
    assert verdict_of(output) == "hems-conformance: interrupted: no verdict"
    assert (summary["exit_code"], summary["verdict"]) == (130, "interrupted")


@pytest.mark.e2e
def test_a_failing_check_shows_no_secret_on_the_console(tmp_path, capsys, monkeypatch):
    def echoed(run, case):
        run.ledger.judged(case.id)
        run.finding(case.id, f"the server said: {run.config.tenant.auth.client_secret.reveal()}")

    monkeypatch.setitem(PROCEDURES, "stable_reads", echoed)
    with reference(tmp_path) as config:
        code, output = run_cli(capsys, "--config", str(config))
        secret = re.search(r'client_secret = "([^"]+)"', config.read_text()).group(1)
    assert code == 1 and "the server said: [REDACTED]" in output, output
    assert secret not in output


@pytest.mark.e2e
def test_a_gateway_error_for_malformed_input_only_is_a_finding(tmp_path, capsys):
    def crash_on_malformed_ids(scope):
        number = scope["path"].rsplit("/", 1)[-1]
        if scope["path"] != TOKEN_PATH and not number.lstrip("-").isdigit():
            return 502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"
        return None

    with reference(tmp_path, rule=crash_on_malformed_ids) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1, output
    assert "FUZ-001" in failed_checks(output)


@pytest.mark.e2e
def test_the_same_seed_sends_the_same_requests_with_any_number_of_workers(tmp_path, capsys):
    def request_log(seed: str, workers: str = "1") -> list[str]:
        lines: list[str] = []
        deployment = Deployment(build_fleet(0), log=lines.append)
        with start_in_thread(deployment) as url:
            path = tmp_path / "target.toml"
            write_target_config(str(path), deployment.target_config(url))
            code, output = run_cli(capsys, "--config", str(path), "--seed", seed, "--workers", workers)
        assert code == 0
        assert f"({len(lines)} requests to " in verdict_of(output)  # counted right from several threads too
        return [" ".join(line.split()[:3]) for line in lines]  # drop the timing and request id columns

    first, again, other, concurrent = request_log("7"), request_log("7"), request_log("8"), request_log("7", "4")
    assert first == again
    assert first != other
    assert sorted(concurrent) == sorted(first)  # the same requests, in another order


def test_the_docs_carry_the_current_variant_table():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "reference-deployment.md").read_text(encoding="utf-8")
    for variant in VARIANTS.values():
        assert f"| `{variant.name}` | {variant.description} |" in doc, f"docs/reference-deployment.md lacks {variant.name}"


@pytest.mark.e2e
def test_a_check_turned_off_is_skipped_with_its_reason_not_passed(tmp_path, capsys):
    with reference(tmp_path, faults=["missing-www-authenticate", "counters-off-by-one"]) as config:
        with open(config, "a", encoding="utf-8") as toml:
            toml.write('\n[judge.levels]\n"AUTH-004" = "OFF"\n"CNT-002" = "OFF"\n')
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
    for check_id in ("AUTH-004", "CNT-002"):
        assert checks[check_id]["status"] == "skipped", checks[check_id]
        assert "turned OFF" in json.dumps(checks[check_id])
    # AUTH-004 is MUST by RFC 6750 §3: the report says the configuration lowered it
    assert "AUTH-004 is MUST by its basis; [judge.levels] lowers it to OFF in this run" in output
    markdown = (tmp_path / "reports-under-test" / "summary.md").read_text(encoding="utf-8")  # and so do the reports
    assert "### Notes" in markdown and "AUTH-004 is MUST by its basis; \\[judge.levels\\] lowers it" in markdown


@pytest.mark.e2e
def test_auth_max_token_wait_s_bounds_the_wait_for_a_token_to_expire(tmp_path, capsys):
    def patient(target):
        target["auth"]["max_token_wait_s"] = 1  # the fault's tokens live 2 s

    with reference(tmp_path, faults=["expired-token-accepted"], edit=patient) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 0, output
    checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
    assert checks["AUTH-005"]["status"] == "not_exercised"
    assert "auth.max_token_wait_s = 1 s" in checks["AUTH-005"]["needs"], checks["AUTH-005"]


@pytest.mark.e2e
def test_a_known_session_under_a_malformed_parent_is_caught_at_every_profile_naming_the_parameter(tmp_path, capsys):
    with reference(tmp_path, faults=["malformed-parents-served"]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1 and failed_checks(output) == {"FUZ-002"}, output
    checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
    messages = {f["message"] for f in checks["FUZ-002"]["findings"]}
    assert {"malformed org_id answered 200", "malformed user_id answered 200"} <= messages, messages


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl to replay the reproduction")
@pytest.mark.parametrize("grant, method", [("client_credentials", "basic"), ("password", "form")])
@pytest.mark.e2e
def test_the_curl_of_a_token_endpoint_finding_reproduces_it_with_secret_placeholders(tmp_path, capsys, grant, method):
    fleet = build_fleet(0)
    deployment = Deployment(fleet, Faults(["token-cacheable"]))
    creds = deployment.credentials[fleet.tenants[0].key]
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        target["auth"] |= {"grant": grant, "token_auth_method": method, "username": creds.username,
                           "password": creds.password}
        write_target_config(str(tmp_path / "target.toml"), target)
        code, output = run_cli(capsys, "--config", str(tmp_path / "target.toml"))
        assert code == 1, output  # TOK-004 is MUST (RFC 6749 §5.1)
        checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
        curl = checks["TOK-004"]["findings"][0]["curl"]
        assert creds.client_secret not in curl and "${HEMS_CLIENT_SECRET}" in curl
        assert f"grant_type={grant}" in curl and ("${HEMS_PASSWORD}" in curl) == (grant == "password")
        env = {"PATH": os.environ["PATH"], "HEMS_CLIENT_SECRET": creds.client_secret, "HEMS_PASSWORD": creds.password}
        replayed = subprocess.run(["bash", "-c", curl], env=env, capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(replayed.stdout)["token_type"].lower() == "bearer"


def one_session(target):
    target["sessions"] = target["sessions"][:1]
    del target["tenant_b"]


@pytest.mark.e2e
def test_one_defect_seen_through_many_requests_is_one_finding_with_every_request_as_evidence(tmp_path, capsys):
    with reference(tmp_path, faults=["schema-violation"], edit=one_session) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1, output
    summary = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())
    sch = {c["id"]: c for c in summary["checks"]}["SCH-001"]
    [finding] = sch["findings"]
    assert sch["findings_total"] == 1 and finding["requests"] == sch["judged"] > 2, sch
    assert len(finding["seen_in"]) == min(20, finding["requests"])
    assert summary["counts"]["findings"] == sum(c["findings_total"] for c in summary["checks"]) < 5
    assert f"1 finding(s) over {sch['judged']} judged" in output, output
    page = (tmp_path / "reports-under-test" / "report.html").read_text(encoding="utf-8")
    levels = ", ".join(f"{n} {level}" for level, n in summary["counts"]["findings_by_level"].items())
    statuses = ", ".join(f"{n} {status_words(status)}" for status, n in summary["counts"]["checks"].items())
    assert f"checks: {statuses} · findings: {levels}" in page  # the one set of counts, as summary.json has it, in words
    assert len(re.findall(r'<tr class="hems-row"', page)) == len(summary["checks"]) == sum(
        summary["counts"]["checks"].values())
    assert "failed (1 finding(s))" in page and f"{finding['requests']} requests" in page
    for chrome in ("Environment", "Expected failures", "Reruns", "pluggy", "tests took"):
        assert chrome not in page


GOLDEN = Path(__file__).resolve().parents[1] / "support" / "golden"


def two_sessions_each(target):
    target["sessions"] = target["sessions"][:2]
    target["tenant_b"]["sessions"] = target["tenant_b"]["sessions"][:1]


@pytest.mark.e2e
def test_the_console_of_run_names_failing_warning_and_skipped_checks_then_the_verdict(tmp_path, capsys):
    with reference(tmp_path, faults=["counters-off-by-one", "challenge-without-error"], edit=two_sessions_each) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1
    shown = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", output)
    if os.environ.get("HEMS_REGENERATE_GOLDEN"):  # HEMS_REGENERATE_GOLDEN=1 pytest tests/live/test_run.py -k console_of_run
        (GOLDEN / "run-console.txt").write_text(shown, encoding="utf-8")
    assert shown == (GOLDEN / "run-console.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("faults", "edit", "code", "verdict"), [
    (["token-endpoint-500"], lambda target: None, 3,
     "hems-conformance: target could not be tested: token endpoint http://127.0.0.1:PORT/api/partners/v2.0/auth/token "
     "is broken: HTTP 500"),
    ([], lambda target: target["auth"].update(client_secret="not-the-secret"), 2,
     "hems-conformance: error: auth: token endpoint http://127.0.0.1:PORT/api/partners/v2.0/auth/token rejected the "
     "configured credentials: invalid_client"),
], ids=["exit-3", "exit-2"])
@pytest.mark.e2e
def test_a_run_without_a_verdict_says_why_once_on_one_line(tmp_path, capsys, faults, edit, code, verdict):
    with reference(tmp_path, faults=faults, edit=edit) as config:
        exit_code, output = run_cli(capsys, "--config", str(config))
    assert exit_code == code
    assert re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", output).splitlines() == [
        "hems-conformance: reports in reports-under-test/ (summary.json, report.html, junit.xml, summary.md, "
        "gl-code-quality-report.json)", verdict]


def partner_file(tmp_path, *, break_counter: bool = False) -> tuple[Path, list[dict]]:
    """A JSON Lines file of a partner's own payloads: two of tenant A (one user, two wallboxes), one of B."""
    base = Path(__file__).resolve().parents[2] / "cases" / "payloads" / "base"
    records = []
    for n, (name, tenant) in enumerate([("ended-charged", "a"), ("ongoing", "a"), ("ended-no-surplus", "b")]):
        detail = json.loads((base / f"{name}.json").read_text(encoding="utf-8"))
        detail["session"]["id"] = 501 + n
        if break_counter and n == 0:
            detail["session"]["commands_applied"] += 1
        records.append({"org_id": str(uuid.UUID(int=1 + (tenant == "b"))), "user_id": str(uuid.UUID(int=10 + n // 2)),
                        "wallbox_id": str(uuid.UUID(int=100 + n)), "tenant": tenant, "detail": detail})
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, records


@pytest.mark.parametrize("broken", [False, True])
@pytest.mark.e2e
def test_serve_sessions_file_serves_a_partners_payloads_and_run_judges_exactly_them(tmp_path, capsys, broken):
    from conformance.reference.dataset import load_fleet

    path, records = partner_file(tmp_path, break_counter=broken)
    deployment = Deployment(load_fleet(str(path)))
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        write_target_config(str(tmp_path / "target.toml"), target)
        code, output = run_cli(capsys, "--config", str(tmp_path / "target.toml"))
    coordinates = [{k: r[k] for k in ("org_id", "user_id", "wallbox_id")} | {"session_id": r["detail"]["session"]["id"]}
                   for r in records]
    assert target["sessions"] + target["tenant_b"]["sessions"] == coordinates
    summary = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())
    rsp = {c["id"]: c for c in summary["checks"]}["RSP-001"]
    assert (code, failed_checks(output)) == ((1, {"CNT-002"}) if broken else (0, set())), output
    assert rsp["status"] == "passed" and rsp["judged"] >= len(records)


@pytest.mark.parametrize(("record", "says"), [
    ({"org_id": "x", "user_id": str(uuid.UUID(int=1)), "wallbox_id": str(uuid.UUID(int=2)), "detail": {}},
     "mine.json: org_id: 'x' is not a UUID"),
    ({"detail": {"session": {"id": "7"}}, "org_id": str(uuid.UUID(int=1)), "user_id": str(uuid.UUID(int=1)),
      "wallbox_id": str(uuid.UUID(int=1))}, "session_id: give an integer (the detail's session.id is '7')"),
    ({"colour": "red", "detail": {}}, "unknown key 'colour'"),
    ([], "no session of tenant a"),
])
def test_serve_sessions_file_mistakes_are_one_line_exit_2(tmp_path, capsys, record, says):
    (tmp_path / "mine.json").write_text(json.dumps(record), encoding="utf-8")
    assert main(["serve", "--sessions", str(tmp_path / "mine.json"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.e2e
def test_the_reproduction_of_a_probe_sends_the_probe_not_a_fresh_token(tmp_path, capsys):
    """AUTH-002's malformed tokens are the case file's public strings: `$HEMS_TOKEN` in their place would send a
    valid token, and the reproduction would show a 200 that proves nothing."""
    with reference(tmp_path, faults=["any-token-accepted"]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1 and "AUTH-002" in failed_checks(output), output
    checks = {c["id"]: c for c in json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())["checks"]}
    curls = [finding["curl"] for finding in checks["AUTH-002"]["findings"]]
    assert any("Authorization: Bearer not a token" in curl for curl in curls), curls
    assert not any("$HEMS_TOKEN" in curl for curl in curls), curls


@pytest.mark.e2e
def test_tenant_isolation_on_the_list_and_current_routes_is_caught(tmp_path, capsys):
    with reference(tmp_path, faults=["sibling-routes-cross-tenant"]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1 and failed_checks(output) == {"OBJ-005"}, output
    summary = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())
    messages = " ".join(f["message"] for c in summary["checks"] if c["id"] == "OBJ-005" for f in c["findings"])
    assert "tenant B's token" in messages and "random org_id" in messages, messages


@pytest.mark.e2e
def test_tenant_b_given_tenant_a_token_is_an_isolation_failure_not_a_configuration_error(tmp_path, capsys):
    """With discovery, tenant B's list route fails under tenant A's token: before blaming the config, the run sees
    B's token read A's wallbox, reports OBJ-006 and goes on without tenant B."""
    with reference(tmp_path, faults=["shared-token-across-tenants"], variants=["podero-token"]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1, output
    assert "OBJ-006" in failed_checks(output) and "tenant B was left out of the run" in output, output


@pytest.mark.e2e
def test_discovery_reads_ids_and_totals_written_as_floats(tmp_path, capsys):
    """7.0 is a JSON integer (a legitimate variation): a deployment writing its ids and totals as floats is
    discovered and cross-checked like any other, never "lists no session" (exit 2) nor XEP-001/003 not exercised."""
    def discover_only(target):
        for table in (target, target["tenant_b"]):
            table.pop("sessions", None)

    with reference(tmp_path, variants=["podero-token", "float-numbers"], edit=discover_only) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    not_exercised = re.search(r"not exercised \(([^)]*)\)", output)
    assert not_exercised is None or not {"XEP-001", "XEP-003"} & set(not_exercised.group(1).split(", ")), output


@pytest.mark.e2e
def test_a_refresh_token_accepted_on_the_sibling_routes_is_caught_with_a_reproduction(tmp_path, capsys):
    with reference(tmp_path, faults=["refresh-token-accepted"], variants=["podero-token"]) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1 and "AUTH-006" in failed_checks(output), output
    summary = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text())
    findings = [f for c in summary["checks"] if c["id"] == "AUTH-006" for f in c["findings"]]
    assert {"session", "list"} <= {f["message"].split(" route")[0].rsplit(" ", 1)[-1] for f in findings}
    assert all("$HEMS_REFRESH_TOKEN" in json.dumps(f) for f in findings), findings


@pytest.mark.e2e
def test_credentials_in_the_query_string_reproduce_with_placeholders(tmp_path, capsys):
    fleet = build_fleet(0)
    deployment = Deployment(fleet, Faults(["token-query-credentials"]))
    secret = deployment.credentials[fleet.tenants[0].key].client_secret
    with start_in_thread(deployment) as url:
        write_target_config(str(tmp_path / "target.toml"), deployment.target_config(url))
        code, output = run_cli(capsys, "--config", str(tmp_path / "target.toml"))
        assert code == 1 and failed_checks(output) == {"TOK-006"}, output
        text = (tmp_path / "reports-under-test" / "summary.json").read_text()
        assert secret not in text
        curl = next(f for c in json.loads(text)["checks"] if c["id"] == "TOK-006" for f in c["findings"])["curl"]
        assert " -G " in curl and "client_secret=${HEMS_CLIENT_SECRET}" in curl, curl
        env = {"PATH": os.environ["PATH"], "HEMS_CLIENT_SECRET": secret}
        replayed = subprocess.run(["bash", "-c", curl], env=env, capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(replayed.stdout)["access_token"]  # the reproduction gets the token the finding is about



@pytest.mark.e2e
def test_a_token_endpoint_refusing_get_with_400_instead_of_405_is_conformant(tmp_path, capsys):
    """TOK-007 asks for no token, and Allow on a 405: a 400 invalid_request refuses GET as well."""
    def get_is_400(scope):
        if scope["path"] == TOKEN_PATH and scope["method"] == "GET":
            return 400, {"Content-Type": "application/json", "Cache-Control": "no-store"}, b'{"error":"invalid_request"}'
        return None

    with reference(tmp_path, rule=get_is_400) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0 and "with warnings" not in output, output


@pytest.mark.e2e
def test_credentials_go_into_no_url_when_tok_006_and_tok_007_are_turned_off(tmp_path, capsys):
    queries: list[bytes] = []

    def record(scope):
        if scope["path"] == TOKEN_PATH:
            queries.append(scope["query_string"])
        return None

    def off(target):
        target["judge"] = {"levels": {"TOK-006": "OFF", "TOK-007": "OFF"}}

    with reference(tmp_path, rule=record, edit=off) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    assert queries and not any(queries), queries  # token requests were sent, none with a query string


# --- true reproductions (issue 24 item 3) ---

_GATE_VARIABLES = ("HEMS_CONFORMANCE_CONFIG", "HEMS_CONFORMANCE_PROFILE", "HEMS_CONFORMANCE_SEED",
                   "HEMS_CONFORMANCE_STRICT", "HEMS_CONFORMANCE_REPORT_DIR")


def judgement(folder: Path) -> dict:
    """What a reproduction must judge the same: the verdict, and per check its status, count of findings and
    what it judged."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return {"verdict": (summary["verdict"], summary["exit_code"]), "target": summary["metadata"]["target_url"],
            **{c["id"]: (c["status"], c["findings_total"], c["judged"]) for c in summary["checks"]}}


@pytest.mark.e2e
def test_a_gate_configured_only_through_the_environment_reproduces_with_the_options_in_effect(tmp_path, capsys,
                                                                                             monkeypatch):
    """The GitHub action and the GitLab template pass everything as HEMS_CONFORMANCE_* variables: the reproduce
    line still names the config, profile, seed and strictness, and running it judges the same."""
    with reference(tmp_path, faults=("counters-off-by-one",)) as config:
        for name, value in zip(_GATE_VARIABLES, (str(config), "quick", "7", "true", "first"), strict=True):
            monkeypatch.setenv(name, value)
        assert main(["run"]) == 1
        command = json.loads((tmp_path / "first" / "summary.json").read_text(encoding="utf-8"))["metadata"]["command"]
        assert command == "hems-conformance run --config target.toml --profile quick --seed 7 --strict"
        output = capsys.readouterr().out
        assert f"hems-conformance: reproduce: {command}\n" in output
        for name in _GATE_VARIABLES:
            monkeypatch.delenv(name)
        program, *argv = shlex.split(command)
        assert program == "hems-conformance" and main([*argv, "--report-dir", "again"]) == 1
    assert judgement(tmp_path / "again") == judgement(tmp_path / "first")
    assert json.loads((tmp_path / "again" / "summary.json").read_text(encoding="utf-8"))["metadata"]["command"] == command


@pytest.mark.e2e
def test_no_report_names_a_file_by_its_absolute_local_path(tmp_path, capsys):
    """Files below the working directory by their relative path, others (the pinned spec, inside the install or
    checkout) by their bare name, each with its SHA-256."""
    checkout = str(Path(conformance.__file__).resolve().parents[1])
    (tmp_path / "conf").mkdir()
    spec = tmp_path / "conf" / "openapi.yaml"
    spec.write_bytes((Path(checkout) / "spec" / "openapi.yaml").read_bytes())
    baseline = tmp_path / "conf" / "baseline.toml"
    baseline.write_text('[[accept]]\ncheck = "CNT-002"\nreason = "known"\nexpires = 2099-01-01\n', encoding="utf-8")
    with reference(tmp_path, faults=("counters-off-by-one",)) as config:
        code = main(["run", "--config", str(config), "--spec", str(spec), "--baseline", str(baseline),
                     "--profile", "quick", "--report-dir", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr()
    payload = tmp_path / "conf" / "payload.json"
    payload.write_bytes((Path(checkout) / "cases" / "payloads" / "CNT-001.json").read_bytes())
    main(["check", str(payload), "--report-dir", str(tmp_path / "checked")])
    capsys.readouterr()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    meta = summary["metadata"]
    assert meta["command"] == ("hems-conformance run --config target.toml --profile quick --seed 0 "
                               "--spec conf/openapi.yaml --baseline conf/baseline.toml")
    assert meta["spec"]["path"] == "conf/openapi.yaml"
    assert meta["config"] == {"path": "target.toml", "sha256": hashlib.sha256(config.read_bytes()).hexdigest()}
    assert summary["baseline"]["file"] == "conf/baseline.toml"
    assert summary["baseline"]["sha256"] == hashlib.sha256(baseline.read_bytes()).hexdigest()
    assert summary["siblings"]["contract"] == "siblings.yaml"  # the bundled one: its bare name
    for report in ("summary.json", "summary.md", "report.html", "junit.xml", "gl-code-quality-report.json"):
        for folder in ("out", "checked"):
            text = (tmp_path / folder / report).read_text(encoding="utf-8")
            assert checkout not in text and str(tmp_path) not in text, (folder, report)


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl to run the reproduction")
@pytest.mark.e2e
def test_the_curl_of_a_finding_reproduces_it_with_a_token_from_hems_conformance_token(tmp_path, capsys):
    """HEMS_TOKEN=$(hems-conformance token --config F): a fresh token on stdout only, which the report's curl
    sends; a bad config is exit 2 and a token endpoint that is gone exit 3, one line on stderr, nothing on stdout."""
    with reference(tmp_path, faults=("counters-off-by-one",), edit=lambda t: t.update(max_retries=0)) as config:
        code, output = run_cli(capsys, "--config", str(config))
        assert code == 1, output
        summary = json.loads((tmp_path / "reports-under-test" / "summary.json").read_text(encoding="utf-8"))
        finding = next(c for c in summary["checks"] if c["id"] == "CNT-002")["findings"][0]
        token_command = f"{shlex.quote(sys.executable)} -m conformance.cli token --config {shlex.quote(str(config))}"
        script = f'HEMS_TOKEN="$({token_command})" || exit 9\n{finding["curl"]}'
        replayed = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"]}, capture_output=True,
                                  text=True, timeout=60)
        assert replayed.returncode == 0, replayed.stderr
        body = json.loads(replayed.stdout)
        assert body["session"]["commands_applied"] == finding["actual"]  # the same wrong counter, reproduced
        assert main(["token", "--config", str(config), "--tenant", "b"]) == 0
        token, err = capsys.readouterr()
        assert err == "" and len(token.splitlines()) == 1 and token.strip()
    assert main(["token", "--config", str(config)]) == 3  # its deployment has stopped
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("hems-conformance: target could not be tested: token endpoint ")
    assert len(err.splitlines()) == 1
    assert main(["token", "--config", str(tmp_path / "missing.toml")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
