"""Every fault of the reference deployment changes what it serves, in the way the fault table says.

One probe (token requests, every session read twice, the auth, isolation, malformed-input and expiry
requests) runs against the clean deployment and against each faulty one; a fault must change the
observations it is about. A payload fault must make the judge report exactly its invariant over the
served payloads, and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from reference_support import SECRETS, Clock, bearer, deployment, stored_url

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.errors import UsageError
from conformance.reference.faults import FAULTS, Faults, fault_markdown
from conformance.reference.server import DEFAULT_TOKEN_TTL_S, TOKEN_PATH, Deployment, start_in_thread

ROOT = Path(__file__).resolve().parents[2]
CLIENT_A = ("reference-client-a", SECRETS["a"][0])
CLIENT_B = ("reference-client-b", SECRETS["b"][0])
JUDGE = Judge()

# HTTP fault -> the probe observations it must change.
HTTP_EFFECTS = {
    "auth-not-enforced": {"no token"},
    "any-token-accepted": {"bad token"},
    "expired-token-accepted": {"expired token"},
    "missing-www-authenticate": {"no token", "bad token"},
    "unknown-session-500": {"unknown session"},
    "unknown-session-served": {"unknown session"},
    "path-parents-unchecked": {"moved session", "random user"},
    "user-not-checked": {"random user"},
    "cross-tenant-read": {"other tenant"},
    "server-error-on-malformed-input": {"bad uuid", "int64 overflow"},
    "intermittent-500": {"reads", "rereads"},
    "wrong-session-id": {"reads"},
    "wrong-content-type": {"reads"},
    "stack-trace-in-errors": {"unknown session", "no token", "bad uuid"},
    "html-error-pages": {"unknown session", "no token", "bad uuid"},
    "unstable-reads": {"rereads"},
    "token-endpoint-500": {"token"},
    "token-errors-not-rfc": {"token error", "token wrong secret"},
    "token-cacheable": {"token"},
    "malformed-ids-served": {"bad uuid"},
    "malformed-parents-served": {"bad uuid"},
    "other-methods-allowed": {"post"},
    "405-without-allow": {"post"},
    "token-type-not-bearer": {"token"},
    "refresh-token-accepted": {"refresh token"},
    "scheme-case-sensitive": {"lower-case scheme"},
    "challenge-without-error": {"bad token", "expired token"},
    "invalid-client-without-challenge": {"token wrong secret"},
    "invalid-client-bearer-challenge": {"token wrong secret"},
    "token-query-credentials": {"token query"},
    "token-get-allowed": {"token get"},
    "shared-cacheable-sessions": {"reads", "rereads"},
    "ids-in-errors": {"moved session", "random user"},
    "shared-token-across-tenants": {"same token for two tenants"},
    "refresh-token-for-client-credentials": {"token"},
    "token-strict-parameters": {"token extra parameter"},
    "refresh-token-unbound": {"refresh by another client"},
}


def answer(response: httpx.Response) -> tuple[Any, ...]:
    text = response.text
    if response.request.url.path == TOKEN_PATH and response.status_code == 200:
        text = sorted((k, "<token>" if k.endswith("_token") else v) for k, v in response.json().items())  # new each call
    return (response.status_code, response.headers.get("content-type"), response.headers.get("cache-control"),
            response.headers.get("www-authenticate"), response.headers.get("allow"), text)


def probe(dep: Deployment, clock: Clock) -> dict[str, Any]:
    """What a client sees of `dep`; the expiry request comes last, as it moves the clock."""
    fleet, seen = dep.fleet, {}
    first = fleet.sessions_of("a")[0]
    other_user = next(u for u in fleet.tenant("a").users if u.id != first.user_id)
    with start_in_thread(dep) as base, httpx.Client(base_url=base, timeout=10) as client:
        seen["token"] = answer(client.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=CLIENT_A))
        seen["token error"] = answer(client.post(TOKEN_PATH, data={"grant_type": "implicit"}))
        seen["token wrong secret"] = answer(client.post(TOKEN_PATH, data={"grant_type": "client_credentials"},
                                                        auth=(CLIENT_A[0], "wrong")))
        form = {"grant_type": "client_credentials"}
        seen["token query"] = answer(client.post(TOKEN_PATH, params=form | dict(zip(("client_id", "client_secret"),
                                                                                   CLIENT_A, strict=True)),
                                                 content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}))
        seen["token get"] = answer(client.get(TOKEN_PATH, params=form, auth=CLIENT_A))
        tokens = [client.post(TOKEN_PATH, data=form, auth=creds).json().get("access_token") for creds in (CLIENT_A, CLIENT_B)]
        seen["same token for two tenants"] = (tokens[0] == tokens[1],)
        password = {"grant_type": "password", "username": dep.credentials["b"].username, "password": SECRETS["b"][1]}
        refresh = client.post(TOKEN_PATH, data=password, auth=CLIENT_B).json().get("refresh_token", "none")
        seen["token extra parameter"] = answer(client.post(TOKEN_PATH, data=form | {"hems_probe": "1"}, auth=CLIENT_A))
        seen["refresh by another client"] = answer(client.post(
            TOKEN_PATH, data={"grant_type": "refresh_token", "refresh_token": refresh}, auth=CLIENT_A))
        own = {key: bearer(dep, key) for key in ("a", "b")}
        for name in ("reads", "rereads"):
            seen[name] = [answer(client.get(stored_url("", s), headers=own[s.tenant])) for s in fleet.sessions]
        checks = {
            "no token": (stored_url("", first), {}),
            "bad token": (stored_url("", first), {"Authorization": "Bearer forged"}),
            "refresh token": (stored_url("", fleet.sessions_of("b")[0]), {"Authorization": f"Bearer {refresh}"}),
            "other tenant": (stored_url("", first), own["b"]),
            "moved session": (stored_url("", first, user_id=str(other_user.id),
                                         wallbox_id=str(other_user.wallboxes[0].id)), own["a"]),
            "random user": (stored_url("", first, user_id="6a1e5d2c-0000-4000-8000-000000000000"), own["a"]),
            "unknown session": (stored_url("", first, session_id=1), own["a"]),
            "bad uuid": (stored_url("", first, org_id="not-a-uuid"), own["a"]),
            "int64 overflow": (stored_url("", first, session_id=2**64), own["a"]),
        }
        for name, (url, headers) in checks.items():
            seen[name] = answer(client.get(url, headers=headers))
        lower = {"Authorization": own["a"]["Authorization"].replace("Bearer", "bearer")}
        seen["lower-case scheme"] = (client.get(stored_url("", first), headers=lower).status_code,)  # not the payload
        seen["post"] = answer(client.post(stored_url("", first), headers=own["a"]))
        clock.now += DEFAULT_TOKEN_TTL_S
        seen["expired token"] = answer(client.get(stored_url("", first), headers=own["a"]))
    return seen


def observe(faults: tuple[str, ...] = ()) -> tuple[Deployment, dict[str, Any]]:
    clock = Clock()
    dep = deployment(faults=Faults(faults), clock=clock)
    return dep, probe(dep, clock)


@pytest.fixture(scope="module")
def clean() -> dict[str, Any]:
    return observe()[1]


def test_the_probe_sees_a_correct_deployment(clean):
    assert {status for status, *_ in clean["reads"]} == {200} and clean["reads"] == clean["rereads"]
    assert {name: seen[0] for name, seen in clean.items() if name not in ("reads", "rereads")} == {
        "token": 200, "token error": 400, "token wrong secret": 401, "no token": 401, "bad token": 401,
        "token query": 400, "token get": 405, "same token for two tenants": False, "lower-case scheme": 200,
        "refresh token": 401, "token extra parameter": 200, "refresh by another client": 400,
        "other tenant": 404, "moved session": 404, "random user": 404, "unknown session": 404, "bad uuid": 422,
        "int64 overflow": 422, "expired token": 401, "post": 405}


@pytest.mark.parametrize("name", list(FAULTS))
@pytest.mark.e2e
def test_each_fault_changes_what_the_deployment_serves(clean, name):
    fault = FAULTS[name]
    dep, faulty = observe((name,))
    changed = {key for key in clean if clean[key] != faulty[key]}
    if fault.invariant is None:
        assert HTTP_EFFECTS[name] <= changed, (name, changed)
        return
    assert changed == {"reads", "rereads"}, changed
    found = {f.check_id for status, _, _, _, _, text in faulty["reads"] for f in JUDGE.judge(json.loads(text)).findings}
    assert found == {fault.invariant}


def test_every_http_fault_has_a_probe_and_every_payload_fault_names_its_invariant():
    assert set(HTTP_EFFECTS) == {n for n, f in FAULTS.items() if f.invariant is None}
    for fault in FAULTS.values():
        if fault.invariant is not None:
            assert fault.breaks == (fault.invariant,)


def test_payload_faults_cover_every_family():
    assert {CATALOGUE[f.invariant].family for f in FAULTS.values() if f.invariant} == {
        inv.family for inv in CATALOGUE.values()}


def test_unstable_reads_differ_between_two_reads_of_one_ended_session(clean):
    _, faulty = observe(("unstable-reads",))
    assert faulty["reads"] != faulty["rereads"]


def test_what_a_fault_breaks_is_a_catalogue_invariant_or_a_live_case():
    live = {case["id"] for path in sorted((ROOT / "cases" / "live").glob("*.json"))
            for case in json.loads(path.read_text())["cases"]}
    for fault in FAULTS.values():
        assert fault.breaks and set(fault.breaks) <= set(CATALOGUE) | live, fault.name


def test_faults_combine():
    clock = Clock()
    dep = deployment(faults=Faults(["naive-timestamps", "counters-off-by-one", "naive-timestamps"]), clock=clock)
    assert dep.faults.names == ("naive-timestamps", "counters-off-by-one")
    found = {f.check_id for s in dep.fleet.sessions for f in JUDGE.judge(s.payload).findings}
    assert found == {"SCH-002", "CNT-002"}


def test_an_unknown_fault_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown fault 'nope'"):
        Faults(["nope"])
    with pytest.raises(KeyError):
        Faults().on("nope")


def test_the_docs_carry_the_current_fault_table():
    doc = (ROOT / "docs" / "reference-deployment.md").read_text(encoding="utf-8")
    assert fault_markdown() in doc, (
        "docs/reference-deployment.md is out of date: run python -m conformance.regen")
