"""The reference deployment over real HTTP on a loopback port: token flows (RFC 6749), Bearer auth
(RFC 6750), Django Ninja style 422/404, tenant isolation, path parents, 405, the served payloads (every
one passes the judge and `hems-conformance check`), the target config, and the process (port taken,
SIGTERM)."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from reference_support import SECRETS, Clock, bearer, deployment, session_url, stored_url

from conformance.cli import main
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.contract.vocabulary import VERDICTS
from conformance.errors import UsageError
from conformance.reference.dataset import KINDS, REQUIRED, STORED_OUTCOMES, build_fleet, features
from conformance.reference.server import DEFAULT_TOKEN_TTL_S, TOKEN_PATH, bind, start_in_thread, write_target_config
from conformance.reference.variants import VARIANTS, Variants


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def lines():
    return []


@pytest.fixture(scope="module")
def reference(clock, lines):
    dep = deployment(clock=clock, log=lines.append)
    with start_in_thread(dep) as base:
        with httpx.Client(base_url=base, timeout=10) as client:
            yield dep, base, client


def token(client: httpx.Client, **kwargs) -> httpx.Response:
    return client.post(TOKEN_PATH, **kwargs)


# --- the token endpoint ---


def assert_token_answer(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert body["expires_in"] == DEFAULT_TOKEN_TTL_S


def test_client_credentials_in_the_form_body(reference):
    _, _, client = reference
    data = {"grant_type": "client_credentials", "client_id": "reference-client-a", "client_secret": "secret-a"}
    assert_token_answer(token(client, data=data))


def test_client_credentials_with_http_basic(reference):
    _, _, client = reference
    assert_token_answer(token(client, data={"grant_type": "client_credentials"},
                              auth=("reference-client-b", "secret-b")))


@pytest.mark.parametrize("client_auth", [None, ("reference-client-a", "secret-a")])
def test_password_grant_with_and_without_client_authentication(reference, client_auth):
    _, _, client = reference
    data = {"grant_type": "password", "username": "operator@tenant-a.example", "password": "password-a"}
    assert_token_answer(token(client, data=data, auth=client_auth))


def test_issued_tokens_read_the_tenants_own_sessions(reference):
    dep, _, client = reference
    for key, (secret, _) in SECRETS.items():
        issued = token(client, data={"grant_type": "client_credentials"}, auth=(f"reference-client-{key}", secret))
        stored = dep.fleet.sessions_of(key)[0]
        read = client.get(stored_url("", stored), headers={"Authorization": f"Bearer {issued.json()['access_token']}"})
        assert read.status_code == 200


def _basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


TOKEN_ERRORS = {
    "grant type missing": ({"data": {"client_id": "reference-client-a"}}, 400, "invalid_request"),
    "grant type unknown": ({"data": {"grant_type": "authorization_code"}}, 400, "unsupported_grant_type"),
    "not a form": ({"json": {"grant_type": "client_credentials"}}, 400, "invalid_request"),
    "parameter repeated": ({"content": b"grant_type=client_credentials&grant_type=password",
                            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400, "invalid_request"),
    "two client authentication methods": ({"data": {"grant_type": "client_credentials", "client_secret": "secret-a"},
                                           "auth": ("reference-client-a", "secret-a")}, 400, "invalid_request"),
    "no client authentication": ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client"),
    "wrong secret in the form": ({"data": {"grant_type": "client_credentials", "client_id": "reference-client-a",
                                           "client_secret": "secret-b"}}, 401, "invalid_client"),
    "wrong secret with Basic": ({"data": {"grant_type": "client_credentials"},
                                 "auth": ("reference-client-a", "nope")}, 401, "invalid_client"),
    "unknown client": ({"data": {"grant_type": "client_credentials"},
                        "auth": ("reference-client-z", "secret-a")}, 401, "invalid_client"),
    "malformed Basic": ({"data": {"grant_type": "client_credentials"}, "headers": _basic("no-colon")},
                        401, "invalid_client"),
    "password missing": ({"data": {"grant_type": "password", "username": "operator@tenant-a.example"}},
                         400, "invalid_request"),
    "wrong password": ({"data": {"grant_type": "password", "username": "operator@tenant-a.example",
                                 "password": "password-b"}}, 400, "invalid_grant"),
    "user of another client's tenant": ({"data": {"grant_type": "password", "username": "operator@tenant-b.example",
                                                  "password": "password-b"},
                                         "auth": ("reference-client-a", "secret-a")}, 400, "invalid_grant"),
}


@pytest.mark.parametrize("case", TOKEN_ERRORS, ids=list(TOKEN_ERRORS))
def test_token_errors_follow_rfc_6749_section_5_2(reference, case):
    _, _, client = reference
    kwargs, status, error = TOKEN_ERRORS[case]
    response = token(client, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error and isinstance(body["error_description"], str)
    assert "secret-" not in response.text and "password-" not in response.text
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic ")


def test_token_endpoint_answers_only_post(reference):
    _, _, client = reference
    response = client.get(TOKEN_PATH)
    assert response.status_code == 405 and response.headers["allow"] == "POST"


# --- the session endpoint: auth ---


def test_no_token_is_401_with_a_bare_bearer_challenge(reference):
    dep, _, client = reference
    for headers in ({}, _basic("reference-client-a:secret-a"), {"Authorization": "Token abc"}):
        response = client.get(stored_url("", dep.fleet.sessions[0]), headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": "Unauthorized"}
        assert response.headers["www-authenticate"] == 'Bearer realm="hems-reference"'


@pytest.mark.parametrize("value", ["Bearer", "Bearer not-a-token", "Bearer not a token", "bearer %%%%"])
def test_bad_token_is_401_invalid_token(reference, value):
    dep, _, client = reference
    response = client.get(stored_url("", dep.fleet.sessions[0]), headers={"Authorization": value})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_expired_token_is_401_invalid_token(reference, clock):
    dep, _, client = reference
    headers = bearer(dep)
    url = stored_url("", dep.fleet.sessions[0])
    assert client.get(url, headers=headers).status_code == 200
    clock.now += DEFAULT_TOKEN_TTL_S
    try:
        response = client.get(url, headers=headers)
    finally:
        clock.now -= DEFAULT_TOKEN_TTL_S
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "expired" in response.headers["www-authenticate"]


# --- the session endpoint: 422, 404, 405 ---

BAD_UUIDS = ["not-a-uuid", "1234", "0f64da7c-b525-5788-8be1-d5140534f4dz", "0f64da7c_b525_5788_8be1_d5140534f4db",
             "{0f64da7c-b525-5788-8be1-d5140534f4db}"]


@pytest.mark.parametrize("field", ["org_id", "user_id", "wallbox_id"])
@pytest.mark.parametrize("value", BAD_UUIDS)
def test_malformed_uuid_is_422_naming_the_parameter(reference, field, value):
    dep, _, client = reference
    response = client.get(stored_url("", dep.fleet.sessions[0], **{field: value}), headers=bearer(dep))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["detail"]
    assert error["loc"] == ["path", field] and error["type"] == "uuid_parsing" and error["msg"]


@pytest.mark.parametrize("value, kind", [
    ("abc", "int_parsing"), ("1.5", "int_parsing"), ("7.0", "int_parsing"), ("0x10", "int_parsing"),
    (str(2**63), "less_than_equal"), ("9" * 5000, "less_than_equal"), (str(-(2**63) - 1), "greater_than_equal"),
])
def test_session_id_that_is_not_an_int64_is_422(reference, value, kind):
    dep, _, client = reference
    response = client.get(stored_url("", dep.fleet.sessions[0], session_id=value), headers=bearer(dep))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "session_id"]
    assert response.json()["detail"][0]["type"] == kind


def test_every_malformed_parameter_is_listed(reference):
    dep, _, client = reference
    response = client.get(session_url("", "x", "y", "z", "w"), headers=bearer(dep))
    assert [e["loc"][1] for e in response.json()["detail"]] == ["org_id", "user_id", "wallbox_id", "session_id"]


def test_auth_is_checked_before_the_parameters(reference):
    response = reference[2].get(session_url("", "x", "y", "z", "w"))
    assert response.status_code == 401


def _not_found(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
    response = client.get(url, headers=headers)
    assert response.status_code == 404, url
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("session_id", [0, -1, 1, 2**63 - 1, -(2**63)])
def test_unknown_session_id_is_404(reference, session_id):
    dep, _, client = reference
    _not_found(client, stored_url("", dep.fleet.sessions[0], session_id=session_id), bearer(dep))


def test_another_tenants_session_is_404_both_ways(reference):
    dep, _, client = reference
    for owner, reader in (("a", "b"), ("b", "a")):
        for stored in dep.fleet.sessions_of(owner):
            _not_found(client, stored_url("", stored), bearer(dep, reader))


@pytest.mark.parametrize("field", ["org_id", "user_id", "wallbox_id"])
def test_a_parent_replaced_by_a_random_uuid_is_404(reference, field):
    dep, _, client = reference
    for stored in dep.fleet.sessions_of("a")[:4]:
        _not_found(client, stored_url("", stored, **{field: str(uuid.uuid4())}), bearer(dep))


def test_a_session_moved_under_another_wallbox_or_user_of_the_tenant_is_404(reference):
    dep, _, client = reference
    tenant = dep.fleet.tenant("a")
    stored = dep.fleet.sessions_of("a")[0]
    for user in tenant.users:
        for wallbox in user.wallboxes:
            if (user.id, wallbox.id) != (stored.user_id, stored.wallbox_id):
                _not_found(client, stored_url("", stored, user_id=str(user.id), wallbox_id=str(wallbox.id)),
                           bearer(dep))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_other_methods_are_405(reference, method):
    dep, _, client = reference
    response = client.request(method, stored_url("", dep.fleet.sessions[0]), headers=bearer(dep))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json() == {"detail": "Method Not Allowed"}


def test_unknown_paths_are_json_404(reference):
    response = reference[2].get("/api/partners/v2.0/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


# --- the session endpoint: 200 ---


def test_a_session_is_served_as_json_under_its_own_id_and_read_the_same_twice(reference):
    dep, _, client = reference
    headers = bearer(dep)
    for stored in dep.fleet.sessions_of("a"):
        first, second = (client.get(stored_url("", stored), headers=headers) for _ in range(2))
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/json"
        assert first.headers["cache-control"] == "no-store"
        assert first.json()["session"]["id"] == stored.session_id
        assert first.content == second.content


def test_equivalent_spellings_of_the_ids_are_served(reference):
    dep, _, client = reference
    stored = dep.fleet.sessions_of("a")[0]
    spellings = {"org_id": str(stored.org_id).upper(), "user_id": stored.user_id.hex,
                 "wallbox_id": f"urn:uuid:{stored.wallbox_id}", "session_id": f"00{stored.session_id}"}
    response = client.get(stored_url("", stored, **spellings), headers=bearer(dep))
    assert response.status_code == 200 and response.json()["session"]["id"] == stored.session_id


def test_head_answers_like_get_without_a_body(reference):
    dep, _, client = reference
    response = client.head(stored_url("", dep.fleet.sessions[0]), headers=bearer(dep))
    assert response.status_code == 200 and response.content == b""


def test_concurrent_clients_are_all_served(reference):
    dep, base, _ = reference
    urls = [stored_url(base, s) for s in dep.fleet.sessions_of("a")] * 8
    headers = bearer(dep)
    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda url: client.get(url, headers=headers).status_code, urls))
    assert statuses == [200] * len(urls)


def test_request_log_has_method_path_status_ms_and_never_a_query_or_secret(reference, lines):
    dep, _, client = reference
    stored = dep.fleet.sessions[0]
    client.get(stored_url("", stored) + "?client_secret=secret-a", headers=bearer(dep))
    token(client, data={"grant_type": "client_credentials"}, auth=("reference-client-a", "secret-a"))
    assert any(line.startswith(f"GET {stored_url('', stored)} 200 ") and line.endswith("ms") for line in lines)
    assert any(line.startswith(f"POST {TOKEN_PATH} 200 ") for line in lines)
    assert not any("?" in line or "secret" in line or "Bearer" in line for line in lines)


# --- what is served: the judge, coverage, check ---


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_served_payload_of_a_clean_deployment_passes_the_judge(seed):
    dep, judge = deployment(seed), Judge()
    with start_in_thread(dep) as base, httpx.Client(base_url=base, timeout=10) as client:
        for key in ("a", "b"):
            headers = bearer(dep, key)
            for stored in dep.fleet.sessions_of(key):
                response = client.get(stored_url("", stored), headers=headers)
                assert response.status_code == 200
                judgement = judge.judge(response.json())
                assert judgement.findings == [], (seed, stored.session_id, judgement.ids)


def test_check_cli_passes_a_dump_of_every_served_payload(reference, tmp_path):
    dep, _, client = reference
    for key in ("a", "b"):
        headers = bearer(dep, key)
        for stored in dep.fleet.sessions_of(key):
            (tmp_path / f"{stored.session_id}.json").write_bytes(client.get(stored_url("", stored), headers=headers).content)
    result = subprocess.run([sys.executable, "-m", "conformance", "check", str(tmp_path), "--report-dir",
                             f"{tmp_path}-reports"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(dep.fleet.sessions)} payload(s) judged, 0 failing" in result.stdout + result.stderr


@pytest.mark.e2e
def test_no_seed_from_0_to_20_serves_a_session_strict_check_rejects(tmp_path, capsys):
    """The reference deployment obeys the contract it teaches (seed 0 once served session 981 as
    charged_from_solar with 0 kWh, and sessions 981 and 986 as steering_ineffective with an applied 0 A stop).
    What `serve --seed N` stores is what it serves; one `check --strict` run over every fleet, as stored and
    through every payload variant, with every reading on: the literal readings (OUT-008) and the INFO ones
    raised to MUST, so no finding of any level is left."""
    variants = Variants(name for name, variant in VARIANTS.items() if variant.transform is not None)
    lines = []
    for seed in range(21):
        for stored in build_fleet(seed).sessions:
            lines += [json.dumps(stored.payload), json.dumps(variants.transform(stored.payload))]
    path = tmp_path / "seeds-0-20.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "every-reading.toml"
    config.write_text("[judge.levels]\n" + "".join(f'"{i}" = "MUST"\n' for i, inv in CATALOGUE.items()
                                                     if Level.INFO in (inv.level, inv.ongoing_level)), encoding="utf-8")
    code = main(["check", "--strict", "--config", str(config), "--report-dir", str(tmp_path / "reports"), str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1] == f"{len(lines)} payload(s) judged, 0 failing (no findings): conformant"


@pytest.mark.parametrize("seed", range(12))
def test_each_tenant_shows_every_outcome_kind_and_verdict(seed):
    fleet = build_fleet(seed, sessions_per_tenant=1)
    assert {o for kind, o in REQUIRED if kind == "outcome"} == set(STORED_OUTCOMES)
    assert {("kind", k) for k in KINDS} | {("verdict", v) for v in VERDICTS} <= set(REQUIRED)
    for tenant in fleet.tenants:
        shown = set().union(*(features(s.payload) for s in fleet.sessions_of(tenant.key)))
        assert set(REQUIRED) <= shown, (seed, tenant.key, set(REQUIRED) - shown)


def test_the_fleet_is_deterministic_and_shaped_as_documented():
    fleet = build_fleet(5, 14)
    assert fleet == build_fleet(5, 14) and fleet != build_fleet(6, 14)
    assert len(fleet.tenants) == 2 and all(len(fleet.sessions_of(t.key)) >= 14 for t in fleet.tenants)
    assert len({t.org_id for t in fleet.tenants}) == 2
    ids = [s.session_id for s in fleet.sessions]
    assert len(set(ids)) == len(ids)
    command_ids = [c["id"] for s in fleet.sessions for c in s.payload["commands"]]
    assert len(set(command_ids)) == len(command_ids)
    for tenant in fleet.tenants:
        assert len(tenant.users) >= 2 and all(len(u.wallboxes) >= 2 for u in tenant.users)
        wallboxes = {w.id: w for u in tenant.users for w in u.wallboxes}
        for stored in fleet.sessions_of(tenant.key):
            user = next(u for u in tenant.users if u.id == stored.user_id)
            assert stored.wallbox_id in {w.id for w in user.wallboxes}
            phases = {c["commanded_phases"] for c in stored.payload["commands"]} - {None}
            assert phases <= ({1, 3} if wallboxes[stored.wallbox_id].phases == 3 else set())


# --- the target configuration ---


def test_write_config_lists_every_session_with_working_credentials(reference, tmp_path):
    dep, base, client = reference
    path = tmp_path / "target.toml"
    write_target_config(str(path), dep.target_config(base))
    assert path.stat().st_mode & 0o077 == 0
    config = tomllib.loads(path.read_text())
    assert set(config) == {"base_url", "auth", "sessions", "tenant_b"} and config["base_url"] == base
    assert set(config["tenant_b"]) == {"auth", "sessions"}
    for auth, key in ((config["auth"], "a"), (config["tenant_b"]["auth"], "b")):
        listed = config["sessions"] if key == "a" else config["tenant_b"]["sessions"]
        assert listed == [s.coordinates() for s in dep.fleet.sessions_of(key)]
        assert auth["token_url"] == TOKEN_PATH
        form = {"grant_type": auth["grant"]} | ({"username": auth["username"], "password": auth["password"]}
                                                  if auth["grant"] == "password" else {})
        issued = token(client, data=form, auth=(auth["client_id"], auth["client_secret"]))
        headers = {"Authorization": "Bearer " + issued.json()["access_token"]}
        for ref in listed:
            assert client.get(session_url("", *ref.values()), headers=headers).status_code == 200
    assert config["auth"]["grant"] == "client_credentials" and config["tenant_b"]["auth"]["grant"] == "password"


def test_write_config_onto_an_existing_file_makes_it_owner_only_too(tmp_path):
    path = tmp_path / "target.toml"
    path.write_text("# an older config\n")
    path.chmod(0o644)
    write_target_config(str(path), {"base_url": "http://127.0.0.1:1"})
    assert path.stat().st_mode & 0o777 == 0o600


def test_write_config_to_an_unwritable_place_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot write"):
        write_target_config(str(tmp_path / "missing" / "target.toml"), {"base_url": "http://127.0.0.1:1"})


# --- the process ---


def test_a_taken_port_is_a_one_line_usage_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"port {port} on 127.0.0.1 is already in use"):
            bind("127.0.0.1", port)
        result = subprocess.run([sys.executable, "-m", "conformance", "serve", "--port", str(port), "--quiet"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"hems-conformance: error: port {port} on 127.0.0.1 is already in use"]


@pytest.mark.parametrize("argv, message", [
    (["--fault", "no-such-fault"], "unknown fault 'no-such-fault'"),
    (["--sessions", "0"], "--sessions must be at least 1"),
    (["--token-ttl", "0"], "--token-ttl must be positive"),
])
def test_bad_serve_options_are_usage_errors(capsys, argv, message):
    from conformance.cli import main

    assert main(["serve", "--port", "0", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.e2e
def test_serve_process_writes_its_config_logs_requests_and_stops_cleanly_on_sigterm(tmp_path):
    path = tmp_path / "target.toml"
    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0", "--seed", "3",
                                "--write-config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    try:
        banner = process.stdout.readline()
        assert banner.startswith("hems-conformance serve: http://127.0.0.1:"), banner
        config = tomllib.loads(path.read_text())
        assert banner.split()[2] == config["base_url"]
        auth, ref = config["auth"], config["sessions"][0]
        with httpx.Client(base_url=config["base_url"], timeout=10) as client:
            issued = token(client, data={"grant_type": "client_credentials"},
                           auth=(auth["client_id"], auth["client_secret"])).json()["access_token"]
            read = client.get(session_url("", *ref.values()), headers={"Authorization": f"Bearer {issued}"})
        assert read.status_code == 200
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.strip().endswith("hems-conformance serve: stopped")
    assert f"GET {session_url('', *ref.values())} 200 " in err
    assert auth["client_secret"] not in out + err and issued not in out + err
    assert "Traceback" not in err


def test_list_faults_prints_the_table(capsys):
    from conformance.cli import main
    from conformance.reference.faults import FAULTS

    assert main(["serve", "--list-faults"]) == 0
    out = capsys.readouterr().out
    assert [cell.strip() for cell in out.splitlines()[0].split("|")] == ["fault", "breaks", "description"]
    for fault in FAULTS.values():
        assert any(line.startswith(fault.name + " ") and fault.description in line for line in out.splitlines())


def test_current_is_the_latest_started_running_session_and_an_unreadable_start_counts_as_earliest():
    from conformance.reference.dataset import StoredSession
    from conformance.reference.siblings import running

    def stored(session_id: int, started_at: str, ended_at: str | None = None) -> StoredSession:
        ids = [uuid.uuid4() for _ in range(3)]
        return StoredSession("a", *ids, session_id, {"session": {"started_at": started_at, "ended_at": ended_at}})

    early, unreadable, earlier_by_offset = stored(1, "2026-06-01T08:00:00Z"), stored(2, "not a time"), \
        stored(3, "2026-06-01T09:00:00+02:00")
    ended = stored(4, "2026-06-02T08:00:00Z", "2026-06-02T10:00:00Z")
    assert running([early, unreadable, earlier_by_offset, ended]) is early  # 09:00+02:00 is 07:00Z
    assert running([unreadable]) is unreadable and running([ended]) is None
