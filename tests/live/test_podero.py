"""Issue 9, meeting the real API: Podero's token routes and encodings, the public-client password grant,
discovery through the list route, the cross-endpoint (XEP) and sibling-contract (SIB) checks, gateway
prefixes. Runs go through the real CLI against the reference deployment on loopback (see test_run.py)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from run_support import PODERO, failed_checks, reference, run_cli, summary

from conformance.cli import main
from conformance.reference.dataset import build_fleet
from conformance.reference.oauth import make_credentials
from conformance.reference.server import (
    CURRENT_PATH,
    LIST_PATH,
    PODERO_TOKEN_PATH,
    TOKEN_PATH,
    Deployment,
    start_in_thread,
    write_target_config,
)
from conformance.reference.variants import Variants

pytestmark = pytest.mark.usefixtures("in_tmp")  # each test in its own working directory


def only_discovery(target) -> None:
    del target["sessions"], target["tenant_b"]["sessions"]


# --- Done when: the podero-token deployment, and the encoding mismatch named ---


@pytest.mark.e2e
def test_serve_podero_token_write_config_then_run_exits_0_and_its_form_copy_exits_2(tmp_path, capsys):
    written, form = tmp_path / "podero.toml", tmp_path / "podero-form.toml"
    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0", "--quiet", "--variant",
                                "podero-token", "--write-config", str(written)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout.readline().startswith("hems-conformance serve: http://127.0.0.1:")
        code, output = run_cli(capsys, "--config", str(written))
        form.write_text(written.read_text().replace('token_body = "json"', 'token_body = "form"', 1))
        form_code, form_output = run_cli(capsys, "--config", str(form))
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, output
    assert form_code == 2, form_output
    [line] = [line for line in form_output.splitlines() if line.startswith("hems-conformance: error:")]
    assert "auth.token_body" in line and 'token_body = "json"' in line


@pytest.mark.e2e
def test_the_podero_deployment_and_its_written_config_are_conformant(tmp_path, capsys):
    with reference(tmp_path, variants=PODERO) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    report = summary(tmp_path)
    assert report["metadata"]["token_body"] == {"a": "json", "b": "json"}
    assert any("json-encoded" in note for note in report["notes"])  # the report says which encoding TOK-* judged
    judged = {c["id"]: c["judged"] for c in report["checks"] + report["siblings"]["checks"]}
    assert all(judged[i] for i in ("TOK-001", "TOK-002", "TOK-003", "XEP-001", "XEP-002", "XEP-003", "SIB-001",
                                   "SIB-002")), judged


@pytest.mark.parametrize("table", ["auth", "tenant_b.auth"])
@pytest.mark.e2e
def test_a_form_request_to_a_json_token_endpoint_is_exit_2_naming_token_body(tmp_path, capsys, table):
    def form(target):
        (target["auth"] if table == "auth" else target["tenant_b"]["auth"])["token_body"] = "form"

    with reference(tmp_path, variants=PODERO, edit=form) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 2, output
    [line] = [line for line in output.splitlines() if line.startswith("hems-conformance: error:")]
    assert f"{table}.token_body" in line and 'token_body = "json"' in line, line
    assert "Traceback" not in output


@pytest.mark.e2e
def test_a_json_request_to_a_form_token_endpoint_is_exit_2_naming_token_body(tmp_path, capsys):
    with reference(tmp_path, edit=lambda t: t["auth"].update(token_body="json")) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 2 and 'set token_body = "form" in [auth]' in output, output


# --- Done when: the password grant of a public client, and no secret in its reports ---


@pytest.mark.parametrize("variants", [[], PODERO], ids=["form", "podero"])
@pytest.mark.e2e
def test_the_password_grant_without_client_id_is_conformant_and_leaks_nothing(tmp_path, capfd, variants):
    fleet = build_fleet(0)
    given = {t.key: (f"secret-{secrets.token_hex(8)}", f"password-{secrets.token_hex(8)}") for t in fleet.tenants}
    credentials = make_credentials(((t.key, t.client_id, t.username) for t in fleet.tenants), given)
    deployment = Deployment(fleet, credentials=credentials, variants=Variants(variants))
    issued = []
    issue = deployment.issuer.issue
    deployment.issuer.issue = lambda tenant: issued.append(issue(tenant)) or issued[-1]
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        b = credentials[fleet.tenants[1].key]
        target["tenant_b"]["auth"] = {"grant": "password", "token_url": TOKEN_PATH, "username": b.username,
                                      "password": b.password} | ({"token_body": "json"} if variants else {})
        write_target_config(str(tmp_path / "target.toml"), target)
        code = main(["run", "--profile", "quick", "--report-dir", "out", "--config", str(tmp_path / "target.toml")])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    needles = [v for c in credentials.values() for v in (c.client_secret, c.password)]
    needles += [base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode() for c in credentials.values()]
    needles += [token for token, _ in issued]
    written = [p.read_bytes() for p in (tmp_path / "out").iterdir()] + [out.encode(), err.encode()]
    assert len(written) == 7 and issued  # the five reports, stdout, stderr
    assert not [n for n in needles for data in written if n.encode() in data]


# --- Done when: discovery ---


@pytest.mark.e2e
def test_a_discovery_only_config_judges_every_session_of_its_wallboxes(tmp_path, capsys):
    with reference(tmp_path, variants=PODERO, edit=only_discovery) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    listed = {(s["tenant"], s["session_id"], s["source"]) for s in summary(tmp_path)["metadata"]["sessions"]}
    fleet = build_fleet(0)
    assert listed == {(s.tenant, s.session_id, "discovered") for s in fleet.sessions if s.tenant in ("a", "b")}
    checks = {c["id"]: c for c in summary(tmp_path)["checks"]}
    assert checks["RSP-001"]["judged"] >= len(listed)  # each read as a configured session is (path names session)


@pytest.mark.e2e
def test_a_fault_in_a_session_only_discovery_finds_is_caught(tmp_path, capsys):
    with reference(tmp_path, variants=PODERO, faults=["counters-off-by-one"], edit=only_discovery) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 1 and "CNT-002" in failed_checks(output), output


@pytest.mark.e2e
def test_configured_and_discovered_sessions_combine_each_judged_once_as_configured(tmp_path, capsys):
    def half(target):
        target["sessions"] = target["sessions"][:3]

    with reference(tmp_path, variants=PODERO, edit=half) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 0, output
    sources = [s["source"] for s in summary(tmp_path)["metadata"]["sessions"] if s["tenant"] == "a"]
    assert sources[:3] == ["configured"] * 3 and set(sources[3:]) == {"discovered"}


@pytest.mark.e2e
def test_reaching_max_sessions_is_said_in_the_report(tmp_path, capsys):
    def few(target):
        only_discovery(target)
        target["discover"]["max_sessions"] = 3

    with reference(tmp_path, variants=PODERO, edit=few) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 0, output
    report = summary(tmp_path)
    assert sum(s["tenant"] == "a" for s in report["metadata"]["sessions"]) == 3
    assert any("max_sessions = 3" in note for note in report["notes"]), report["notes"]


@pytest.mark.e2e
def test_a_window_with_no_sessions_and_none_configured_is_exit_2(tmp_path, capsys):
    def empty(target):
        only_discovery(target)
        target["discover"] |= {"from": "2001-01-01", "to": "2001-01-02"}

    with reference(tmp_path, variants=PODERO, edit=empty) as config:
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 2 and "widen the window" in output, output


@pytest.mark.e2e
def test_discovery_against_a_deployment_without_the_list_route_is_exit_2(tmp_path, capsys):
    def discover(target):
        target["wallboxes"] = [{k: v for k, v in target["sessions"][0].items() if k != "session_id"}]
        target["discover"] = {"from": "2026-01-01", "to": "2026-01-31"}

    with reference(tmp_path, edit=discover) as config:  # the plain reference serves no sibling route
        code, output = run_cli(capsys, "--config", str(config))
    assert code == 2 and "list route answered" in output, output


# --- Done when: XEP caught on a serve fault; no FUZ-002 where `current` is served ---


@pytest.mark.e2e
def test_a_list_item_that_disagrees_with_its_detail_is_caught_by_xep_001(tmp_path, capsys):
    with reference(tmp_path, faults=["list-detail-mismatch"]) as config:
        warned, output = run_cli(capsys, "--config", str(config))
        code, strict = run_cli(capsys, "--config", str(config), "--strict")
    assert warned == 0 and "with warnings" in output, output  # a SHOULD
    assert code == 1 and failed_checks(strict) == {"XEP-001"}, strict
    drawn = [s for s in summary(tmp_path)["sessions"]["full"] if any(f["id"] == "XEP-001" for f in s["findings"])]
    assert drawn and all(f["pointer"] == "/session/savings_eur" for f in drawn[0]["findings"]), drawn  # its timeline


@pytest.mark.parametrize(("fault", "check"), [("list-includes-day-before", "SIB-003"),
                                              ("list-to-exclusive", "XEP-004"),
                                              ("list-total-page-length", "XEP-002"),
                                              ("list-paging-unchecked", "SIB-004"),
                                              ("current-rolled-up", "XEP-005")])
@pytest.mark.e2e
def test_each_list_defect_fails_run_strict_with_discovery_on(tmp_path, capsys, fault, check):
    """The list route as Podero documents it: inclusive UTC days, total over all pages, limit and offset ranges.
    Each defect read conformant under --strict while only limit=200 pages were read."""
    with reference(tmp_path, faults=[fault], variants=PODERO) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 1 and failed_checks(output) == {check}, output


@pytest.mark.e2e
def test_the_clean_list_passes_every_list_check(tmp_path, capsys):
    with reference(tmp_path, variants=PODERO) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    siblings = {c["id"]: c["status"] for c in summary(tmp_path)["siblings"]["checks"]}
    checks = {c["id"]: c["status"] for c in summary(tmp_path)["checks"]}
    assert code == 0, output
    assert {siblings[i] for i in ("SIB-003", "SIB-004")} == {checks["XEP-004"], checks["XEP-002"]} == {"passed"}


@pytest.mark.e2e
def test_a_deployment_serving_current_never_gets_fuz_002(tmp_path, capsys):
    with reference(tmp_path, variants=PODERO) as config:
        code, output = run_cli(capsys, "--config", str(config), "--profile", "ci", "--strict")
    checks = {c["id"]: c for c in summary(tmp_path)["checks"]}
    assert code == 0 and checks["FUZ-002"]["status"] == "passed", output


@pytest.mark.e2e
def test_judged_siblings_are_reported_in_their_own_section(tmp_path, capsys):
    bad_list = json.dumps({"total": "many", "items": []}).encode()

    def broken_list(scope):
        return (200, {"Content-Type": "application/json"}, bad_list) if scope["path"].endswith("/hems-sessions") else None

    with reference(tmp_path, variants=PODERO, rule=broken_list) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict", "--annotations", "github")
    report = summary(tmp_path)
    assert code == 1 and failed_checks(output) >= {"SIB-001"}, output
    assert "SIB-001" not in {c["id"] for c in report["checks"]}
    [sib] = [c for c in report["siblings"]["checks"] if c["id"] == "SIB-001"]
    assert sib["status"] == "failed" and sib["findings"][0]["pointer"] == "/total"
    # named where people look, as a catalogue check is: console, summary.md, annotations, report.html, compare
    folder = tmp_path / "reports-under-test"
    assert any(line.startswith("FAIL SIB-001 MUST:") for line in output.splitlines()), output
    assert any(line.startswith("::error title=SIB-001::") for line in output.splitlines()), output
    assert "- `SIB-001` MUST:" in (folder / "summary.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="check-SIB-001"' in page and "status-failed" in page.split('id="check-SIB-001"')[1][:2000]
    fixed = json.loads(json.dumps(report))
    for check in fixed["siblings"]["checks"]:
        check.update(status="passed", findings=[], findings_total=0)
    fixed.update(exit_code=0, verdict="conformant")
    (tmp_path / "old.json").write_text(json.dumps(fixed), encoding="utf-8")
    assert main(["report", "compare", str(tmp_path / "old.json"), str(folder)]) == 1
    compared = capsys.readouterr().out
    assert "changed: SIB-001 passed -> failed" in compared and "new: SIB-001 MUST /total" in compared, compared


def _current_answers(body: dict):
    answer = json.dumps(body).encode()

    def rule(scope):
        return (200, {"Content-Type": "application/json"}, answer) if scope["path"].endswith("/current") else None

    return rule


@pytest.mark.e2e
def test_the_current_body_is_judged_as_hems_current_session_under_xep_and_sib_ids(tmp_path, capsys):
    """The catalogue's findings on the running session are XEP-005's, pointed into the `current` body; never
    the detail route's IDs with pointers relative to body.session."""
    running = next(s.payload for s in build_fleet(0).sessions if s.payload["session"]["ended_at"] is None)
    rolled_up = json.loads(json.dumps(running))
    rolled_up["session"]["outcome"] = "charged_from_solar"
    with reference(tmp_path, variants=PODERO, rule=_current_answers({"session": rolled_up})) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    report = summary(tmp_path)
    checks = {c["id"]: c for c in report["checks"]}
    assert code == 1 and "XEP-005" in failed_checks(output) and "OUT-005" not in failed_checks(output), output
    found = checks["XEP-005"]["findings"]
    assert any(f["pointer"] == "/session/session/outcome" and f["message"].startswith("OUT-005: ") for f in found)
    assert all(f["pointer"].startswith("/session/") for f in found), found
    assert checks["OUT-005"]["status"] in ("passed", "not_exercised")
    drawn = [s for s in report["sessions"]["full"] if any(f["id"] == "XEP-005" for f in s["findings"])]
    assert len(drawn) == 1 and drawn[0]["session_id"] == running["session"]["id"], report["sessions"]  # once: the
    # `current` copy is the running session, drawn with its own findings and XEP-005's
    assert len({s["session_id"] for s in report["sessions"]["full"]}) == len(report["sessions"]["full"])


@pytest.mark.e2e
def test_a_current_answer_of_a_refused_shape_fails_sib_002_and_leaves_xep_003_not_exercised(tmp_path, capsys):
    with reference(tmp_path, variants=PODERO, rule=_current_answers({"running": None})) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    report = summary(tmp_path)
    siblings = {c["id"]: c for c in report["siblings"]["checks"]}
    checks = {c["id"]: c for c in report["checks"]}
    assert code == 1 and failed_checks(output) == {"SIB-002"}, output
    assert siblings["SIB-002"]["findings"][0]["pointer"] == "", siblings["SIB-002"]
    for check_id in ("XEP-003", "XEP-005"):
        assert checks[check_id]["status"] == "not_exercised" and "`current` answer" in checks[check_id]["needs"]
        assert f"not exercised: {check_id}: the run would need a `current` answer" in output, output


# --- gateway prefixes ---


@pytest.mark.e2e
def test_a_base_url_with_a_path_keeps_it_on_every_request_and_relative_token_urls_follow_it(tmp_path, capsys):
    seen: list[str] = []

    def gateway(scope):
        seen.append(scope["path"])
        if not scope["path"].startswith("/podero/"):
            return 404, {"Content-Type": "application/json"}, b'{"detail": "no such route at the gateway"}'
        scope["path"] = scope["path"][len("/podero"):]
        return None

    def prefixed(target):
        target["base_url"] += "/podero"
        target["auth"]["token_url"] = "oauth2/token/"  # relative, without a leading slash

    with reference(tmp_path, variants=PODERO, edit=prefixed, rule=gateway) as config:
        code, output = run_cli(capsys, "--config", str(config), "--strict")
    assert code == 0, output
    assert all(path.startswith("/podero/") for path in seen)
    for route in (PODERO_TOKEN_PATH, TOKEN_PATH, "/hems-sessions/current", "/hems-sessions"):
        assert any(route in path for path in seen), route


# --- the reference deployment's Podero routes ---


@pytest.fixture
def podero():
    fleet = build_fleet(0)
    credentials = make_credentials(((t.key, t.client_id, t.username) for t in fleet.tenants),
                                   {"a": ("secret-a", "password-a"), "b": ("secret-b", "password-b")})
    deployment = Deployment(fleet, credentials=credentials, variants=Variants(PODERO))
    with start_in_thread(deployment) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield deployment, client


def _wallbox_path(stored, path=LIST_PATH) -> str:
    return path.format(org_id=stored.org_id, user_id=stored.user_id, wallbox_id=stored.wallbox_id)


def test_podero_token_routes_read_json_only(podero):
    _, client = podero
    answer = client.post(PODERO_TOKEN_PATH, json={"grant_type": "client_credentials"},
                         auth=("reference-client-a", "secret-a"))
    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 36000 and answer.json()["scope"] == "read write"
    form = client.post(PODERO_TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=("reference-client-a", "secret-a"))
    assert form.status_code == 400  # a JSON backend reads a form as no grant at all
    in_body = client.post(PODERO_TOKEN_PATH, json={"grant_type": "client_credentials", "client_id": "reference-client-a",
                                                    "client_secret": "secret-a"})
    assert in_body.status_code == 400
    token_input = client.post(TOKEN_PATH, json={"grant_type": "password", "username": "operator@tenant-a.example",
                                                "password": "password-a"})
    assert token_input.status_code == 200
    assert client.post(TOKEN_PATH, data={"grant_type": "password"}).json() == {"detail": "Cannot parse request body"}


def test_serve_podero_token_routes_as_django_with_append_slash(podero):
    deployment, client = podero
    url = str(client.base_url).rstrip("/")
    grant, basic = {"grant_type": "client_credentials"}, ("reference-client-a", "secret-a")
    assert client.post(PODERO_TOKEN_PATH, json=grant, auth=basic).status_code == 200
    slashless = client.post(PODERO_TOKEN_PATH.rstrip("/") + "?x=1", json=grant, auth=basic)
    assert slashless.status_code == 301 and slashless.headers["location"] == PODERO_TOKEN_PATH + "?x=1"
    assert "access_token" not in slashless.text
    followed = client.post(PODERO_TOKEN_PATH.rstrip("/"), json=grant, auth=basic, follow_redirects=True)
    assert "access_token" not in followed.text  # a 301 turns the POST into a GET: never a token
    assert client.post(TOKEN_PATH + "/", json={"grant_type": "password"}).status_code == 404  # no redirect either
    assert deployment.target_config(url)["auth"]["token_url"] == url + PODERO_TOKEN_PATH


def test_the_list_route_pages_and_validates_its_query(podero):
    deployment, client = podero
    stored = deployment.fleet.sessions_of("a")[0]
    headers = {"Authorization": "Bearer " + deployment.issuer.issue("a")[0]}
    window = {"from": "2000-01-01", "to": "2100-01-01"}
    everything = client.get(_wallbox_path(stored), params=window | {"limit": 200}, headers=headers).json()
    assert everything["total"] == len(everything["items"]) >= 1
    pages = [client.get(_wallbox_path(stored), params=window | {"limit": 1, "offset": n}, headers=headers).json()
             for n in range(everything["total"])]
    assert [p["items"][0]["id"] for p in pages] == [i["id"] for i in everything["items"]]
    missing = client.get(_wallbox_path(stored), params={"to": "2100-01-01", "limit": 201}, headers=headers)
    assert missing.status_code == 422 and [e["loc"] for e in missing.json()["detail"]] == [["query", "from"],
                                                                                          ["query", "limit"]]
    other = {"Authorization": "Bearer " + deployment.issuer.issue("b")[0]}
    assert client.get(_wallbox_path(stored), params=window, headers=other).status_code == 404


def test_current_is_the_running_session_or_404(podero):
    deployment, client = podero
    headers = {"Authorization": "Bearer " + deployment.issuer.issue("a")[0]}
    answers = {s.wallbox_id: client.get(_wallbox_path(s, CURRENT_PATH), headers=headers)
               for s in deployment.fleet.sessions_of("a")}
    running = [a.json()["session"]["session"] for a in answers.values() if a.status_code == 200]
    assert running and all(s["ended_at"] is None for s in running)
    assert {a.status_code for a in answers.values()} <= {200, 404}


def test_gateway_token_url_is_relative_to_base_url_with_its_path():
    from conformance.live.target import config_from_mapping

    document = {"base_url": "https://gw.example.com/podero/", "discover": {"from": "2026-04-01", "to": "2026-04-30"},
                "auth": {"grant": "client_credentials", "client_id": "c", "client_secret": "s3cret",
                         "token_url": "/oauth2/token/"},
                "wallboxes": [{"org_id": "7d4f3c52-0c1e-4f7a-9a43-3f1b5f7a9c01",
                               "user_id": "0b8e1a9d-5c2f-4e61-8d7a-2c9e4f6b1a02",
                               "wallbox_id": "c3a1f5e7-9b2d-4c8e-a6f4-1d3b5e7f9a03"}]}
    config = config_from_mapping(document, default_token_url="/api/partners/v2.0/auth/token")
    assert config.token_url(config.tenant) == "https://gw.example.com/podero/oauth2/token/"
    assert config.tenant.sessions == () and config.discover.max_sessions == 500


def test_the_docs_describe_podero_and_the_example_config_parses(monkeypatch):
    from conformance.live.target import load_target

    monkeypatch.setenv("PODERO_CLIENT_SECRET", "sandbox-secret")
    monkeypatch.setenv("PODERO_PASSWORD_B", "sandbox-password")
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "podero.md").read_text(encoding="utf-8")
    for needle in ("sandbox-app.podero.com", "/oauth2/token/", "/api/partners/v2.0/auth/token", "token_body",
                   "[discover]", "[[wallboxes]]", "max_sessions", "base_url"):
        assert needle in doc, needle
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    path = Path("podero.toml")
    path.write_text(block, encoding="utf-8")
    config = load_target(path, default_token_url="/t")
    assert config.tenant.auth.token_body == "json" and config.discover is not None
    assert config.tenant_b.auth.client_id == "" and config.tenant_b.wallboxes


@pytest.mark.e2e
def test_a_list_route_repeating_its_page_is_said_and_never_claims_more_sessions_than_were_judged(tmp_path, capsys):
    """A list route that ignores `offset` answers every page with the same sessions: discovery stops at the
    first repeat, says so, and does not claim the route has more sessions than were judged (issue 21)."""
    fleet = build_fleet(0)
    listed: list[int] = []

    def one_wallbox(target):
        only_discovery(target)
        target["wallboxes"] = target["wallboxes"][:1]
        target["discover"]["max_sessions"] = 50
        wallbox = target["wallboxes"][0]["wallbox_id"]
        listed.extend(s.session_id for s in fleet.sessions if str(s.wallbox_id) == wallbox)

    def same_page(scope):
        if not scope["path"].endswith("/hems-sessions"):
            return None
        item = {"id": listed[0], "ended_at": None}
        return 200, {"Content-Type": "application/json"}, json.dumps({"items": [item], "total": 1000}).encode()

    with reference(tmp_path, variants=PODERO, edit=one_wallbox, rule=same_page) as config:
        run_cli(capsys, "--config", str(config))
    notes = summary(tmp_path)["notes"]
    assert not any("more sessions than were judged" in note for note in notes), notes
    assert any("the list route answered offset " in note and "no session it had not listed before" in note
               for note in notes), notes
