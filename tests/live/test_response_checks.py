"""The checks judged on every response, one response at a time: each fires on what it is about and keeps
quiet on answers that are correct in another way than the reference deployment's."""

from __future__ import annotations

import json
import re

import pytest

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.contract.served import served_session
from conformance.live.ledger import Ledger
from conformance.live.live_cases import load_live_cases
from conformance.live.registry import load_checks
from conformance.live.response_checks import Request, ResponseContext, catalogue_check
from conformance.report.records import CheckRecord, Exchange

LEVELS = {check.id: check.case.level for check in load_checks()}
ON_EVERY_RESPONSE = {check.id: check.on_every_response for check in load_checks() if check.on_every_response}


def judged(check_id: str, status: int, text: str = "", *, sent: dict[str, str] | None = None,
           url: str = "http://127.0.0.1:1/x", ids: frozenset[str] = frozenset(), **headers: str) -> list[str]:
    """The messages of `check_id`'s findings on one response of the session endpoint (`sent`: the request's
    headers; `ids`: the known parents' ids, as uuid_hex gives them)."""
    ledger = Ledger()
    for check in [*CATALOGUE, *LEVELS]:
        ledger.register(CheckRecord(check, "live", LEVELS.get(check, Level.MUST), "", ""))
    context = ResponseContext(Judge(), ledger, lambda check: LEVELS.get(check, Level.MUST), resource_ids=ids)
    exchange = Exchange("GET", url, sent or {}, status, {k.replace("_", "-"): v for k, v in headers.items()},
                        text, 1.0, body=json.loads(text) if text.startswith(("{", "[")) else None)
    return [e.finding.message for e in ON_EVERY_RESPONSE[check_id](Request(exchange), context, check_id)]


@pytest.mark.parametrize("challenge", [
    'Bearer realm="api"', 'bearer', 'Bearer error="invalid_token"',
    'DPoP algs="ES256", Bearer realm="api"',  # several challenges in one header (RFC 9110 §11.6.1)
    'Basic realm="api", Bearer',
])
def test_a_bearer_challenge_is_found_among_others(challenge):
    assert judged("AUTH-004", 401, '{"detail": "Unauthorized"}', www_authenticate=challenge) == []


@pytest.mark.parametrize("challenge", ["", 'Basic realm="api"', 'Basic realm="Bearer"', "Bearerish"])
def test_a_401_without_a_bearer_challenge_fires(challenge):
    assert judged("AUTH-004", 401, '{"detail": "Unauthorized"}', www_authenticate=challenge) != []


@pytest.mark.parametrize("detail", [
    "Please select a wallbox from the list",
    "No session was found: select another one from your sessions where it exists",
    "Not Found",
])
def test_error_prose_is_not_taken_for_server_internals(detail):
    assert judged("RSP-003", 404, json.dumps({"detail": detail}), content_type="application/json") == []


@pytest.mark.parametrize("leak", [
    'SELECT "hems_session"."id", "hems_session"."started_at" FROM "hems_session" WHERE "hems_session"."id" = 5',
    "select id, started_at from hems_session s where s.id = 5",
    'Traceback (most recent call last):\n  File "/app/views.py", line 12, in get',
    "django.db.utils.DataError: value out of range",
])
def test_stack_traces_and_sql_fire(leak):
    assert judged("RSP-003", 500, json.dumps({"detail": leak}), content_type="application/json") != []


def test_a_405_without_an_allow_header_fires_and_one_with_it_stays_quiet():
    assert judged("MTH-002", 405, '{"detail": "Method Not Allowed"}') == ["405 without an Allow header"]
    assert judged("MTH-002", 405, '{"detail": "Method Not Allowed"}', allow="GET, HEAD, OPTIONS") == []
    assert judged("MTH-002", 404, '{"detail": "Not Found"}') == []  # hiding the resource is MTH-001's business


def test_live_case_statements_say_what_their_checks_accept():
    cases = {case.id: case for case in load_live_cases()}
    for case in cases.values():
        for status in case.params.get("status", []):
            assert str(status) in case.statement, (case.id, status)
    for token_case in (cases["TOK-002"], cases["TOK-003"]):  # each reading (form, json) says what it accepts
        for body, reading in token_case.params.items():
            said = token_case.statement.split("A JSON")[body == "json"] if "A JSON" in token_case.statement \
                else token_case.statement
            rules = reading.values() if "status" not in reading else [reading]
            for rule in rules:
                errors = rule.get("errors") or []
                for value in [*rule["status"], *(e for v in (errors.values() if isinstance(errors, dict) else [errors])
                                                 for e in v)]:
                    assert str(value) in said, (token_case.id, body, value)
    assert "expires_in" in cases["TOK-001"].statement  # a string expires_in fails TOK-001
    assert "[auth] max_token_wait_s" in cases["AUTH-005"].statement and "max_wait_s" not in cases["AUTH-005"].params


def test_an_answer_too_large_to_parse_is_noted_not_called_invalid_json():
    ledger = Ledger()
    exchange = Exchange("GET", "http://127.0.0.1:1/x", {}, 200, {"content-type": "application/json"}, "{", 1.0,
                        too_large=True)
    context = ResponseContext(Judge(), ledger, lambda check: Level.MUST)
    assert ON_EVERY_RESPONSE["RSP-002"](Request(exchange), context, "RSP-002") == []
    assert ledger.notes == ["a 200 answer over 32 MiB was not judged (e.g. http://127.0.0.1:1/x)"]


def test_every_live_case_names_registered_functions_and_every_function_is_used():
    """One registry: the JSON cases bind to registered procedures and response checks (load_checks refuses
    an unknown name), and no registered function is left without a case."""
    from conformance.live.procedures import PROCEDURES
    from conformance.live.response_checks import RESPONSE_CHECKS

    checks = load_checks()
    assert all(check.procedure or check.on_every_response for check in checks)
    assert {check.case.procedure for check in checks if check.case.procedure} == set(PROCEDURES)
    assert {check.case.on_every_response for check in checks if check.case.on_every_response} == set(RESPONSE_CHECKS)


def test_a_case_naming_an_unregistered_function_is_refused(tmp_path):
    from conformance.errors import ConfigError
    from conformance.live.registry import load_check_file

    case = {"id": "XX-001", "level": "MUST", "basis": "domain", "statement": "s", "cite": "c",
            "on_every_response": "no_such_check"}
    (tmp_path / "x.json").write_text(json.dumps({"cases": [case]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="XX-001: unknown response check 'no_such_check'"):
        load_check_file(tmp_path / "x.json")


@pytest.mark.parametrize(("change", "says"), [
    ({"basis": None}, "a case needs an 'id', a 'level', a 'basis'"),
    ({"basis": "vibes"}, "'basis' must be one of"),
    ({"basis": "title"}, "XX-001: a reading whose basis is a title alone is INFO"),
    ({"basis": "charter", "level": "INFO"}, "XX-001: a reading whose basis is the charter is at least SHOULD"),
])
def test_a_case_names_the_basis_its_level_rests_on(tmp_path, change, says):
    """Every reading names its basis (the guide's 'Readings by their basis'), live cases as the catalogue's: a title
    alone justifies INFO, the charter at least SHOULD."""
    from conformance.errors import ConfigError
    from conformance.live.live_cases import load_live_case_file

    case = {"id": "XX-001", "level": "MUST", "basis": "domain", "statement": "s", "cite": "c", "procedure": "fuzz"}
    case = {k: v for k, v in (case | change).items() if v is not None}
    (tmp_path / "x.json").write_text(json.dumps({"cases": [case]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_live_case_file(tmp_path / "x.json")
    title_info = case | {"basis": "title", "level": "INFO"}
    (tmp_path / "x.json").write_text(json.dumps({"cases": [title_info]}), encoding="utf-8")
    assert load_live_case_file(tmp_path / "x.json")[0].basis == "title"


@pytest.mark.parametrize(("served", "fires"), [(7, False), (7.0, False), ("7", False), ("8", True), (8, True),
                                               ("seven", True), (None, True)])
def test_the_served_session_is_judged_by_value_so_a_string_id_is_one_finding(served, fires):
    """A string "7" for session 7 is a schema defect (SCH-001), not another session; "8" is both."""
    assert (served_session({"session": {"id": served}}, "7") is not None) is fires


# --- AUTH-008: a 401 to a request with a Bearer token says why (RFC 6750 §3) ---

UNKNOWN = {"Authorization": "Bearer 0c6e4f1a8d3b4e7f9a2c5d8e1f4a7b0c"}
EXPIRED = {"Authorization": "Bearer [REDACTED]"}  # a real token the run masked, used past its expires_in


@pytest.mark.parametrize(("sent", "challenge"), [
    (UNKNOWN, 'Bearer realm="api"'), (EXPIRED, "Bearer"), (UNKNOWN, 'Bearer realm="api", error="invalid_request"'),
    (EXPIRED, 'Bearer error_description="expired"'),
])
def test_a_401_to_a_token_without_invalid_token_warns(sent, challenge):
    assert judged("AUTH-008", 401, "{}", sent=sent, www_authenticate=challenge) != []


def test_a_401_naming_an_error_to_a_request_without_a_token_warns():
    assert judged("AUTH-008", 401, "{}", sent={}, www_authenticate='Bearer error="invalid_token"') != []
    assert judged("AUTH-008", 401, "{}", sent={"Authorization": "Token abc"},
                  www_authenticate='Bearer realm="api", error="invalid_request"') != []


@pytest.mark.parametrize(("sent", "challenge"), [
    (UNKNOWN, 'Bearer realm="api", error="invalid_token", error_description="unknown"'),
    (EXPIRED, 'Bearer error=invalid_token'),  # a token, not a quoted string: tolerated
    (EXPIRED, 'DPoP algs="ES256", Bearer realm="api", error="invalid_token"'),
    ({"Authorization": "Bearer not a token"}, 'Bearer error="invalid_request"'),  # malformed: invalid_request too
    ({}, 'Bearer realm="api"'),  # no token sent: no error code (RFC 6750 §3 SHOULD NOT)
    ({"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, 'Bearer realm="api"'),  # another scheme: none either
    ({"Authorization": "Bearer"}, 'Bearer realm="api"'),
    ({"Authorization": "bearer 0c6e4f1a8d3b4e7f9a2c5d8e1f4a7b0c"}, 'Bearer realm="api"'),  # AUTH-007's finding
    (UNKNOWN, 'Basic realm="api"'),  # no Bearer challenge: AUTH-004's finding
])
def test_a_401_that_names_why_or_had_no_token_is_quiet(sent, challenge):
    assert judged("AUTH-008", 401, "{}", sent=sent, www_authenticate=challenge) == []


# --- RSP-006: authorized answers are not marked for shared caches (RFC 9111 §3.5) ---

AUTHORIZED = {"Authorization": "Bearer [REDACTED]"}


@pytest.mark.parametrize("cache_control", [
    "public, max-age=600", "s-maxage=60", "PUBLIC", "max-age=60, must-revalidate", 'public, max-age="600"',
])
def test_an_authorized_answer_a_shared_cache_may_store_fires(cache_control):
    assert judged("RSP-006", 200, "{}", sent=AUTHORIZED, cache_control=cache_control) != []


@pytest.mark.parametrize("cache_control", [
    "", "no-store", "private, max-age=60", "no-cache", "max-age=600", "public, no-store",
    "max-age=0, no-cache, no-store, must-revalidate, private",  # Django's never_cache
    "private, s-maxage=60", "max-age=0, must-revalidate", "no-cache, must-revalidate, max-age=60",
])
def test_answers_only_private_caches_may_keep_are_quiet(cache_control):
    assert judged("RSP-006", 200, "{}", sent=AUTHORIZED, cache_control=cache_control) == []
    assert judged("RSP-006", 401, "{}", sent=AUTHORIZED, cache_control="public") == []  # only 2xx are judged


# --- RSP-007: error bodies name no id the caller did not send ---

ORG, USER, WALLBOX = ("7d1f0c2e-4b5a-4c3d-8e9f-0a1b2c3d4e5f", "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
                      "2c3d4e5f-6071-4829-93a4-b5c6d7e8f9a0")
KNOWN = frozenset(u.replace("-", "") for u in (ORG, USER, WALLBOX))
RANDOM_ORG = "6a1e5d2c-0000-4000-8000-000000000000"
PROBE = f"http://127.0.0.1:1/api/partners/v2.0/org/{RANDOM_ORG}/users/{USER}/wallboxes/{WALLBOX}/hems-sessions/5"


def test_an_error_naming_the_owners_ids_fires():
    leak = json.dumps({"detail": f"session 5 belongs to org {ORG}, user {USER}, wallbox {WALLBOX}"})
    assert judged("RSP-007", 404, leak, url=PROBE, ids=KNOWN) != []
    assert judged("RSP-007", 403, json.dumps({"detail": f"org {ORG.upper()}"}), url=PROBE, ids=KNOWN) != []


@pytest.mark.parametrize("body", [
    json.dumps({"detail": "Not Found"}),
    json.dumps({"detail": f"no session 5 under wallbox {WALLBOX}"}),  # the caller sent that id
    json.dumps({"detail": f"no session 5 under wallbox {WALLBOX.upper()}"}),  # in another case
    json.dumps({"detail": "Not Found", "trace_id": "0f0e0d0c-0b0a-4909-8807-060504030201"}),  # not a known id
    json.dumps({"detail": [{"loc": ["path", "org_id"], "input": RANDOM_ORG}]}),
])
def test_an_error_naming_only_what_was_sent_or_unknown_ids_is_quiet(body):
    assert judged("RSP-007", 404, body, url=PROBE, ids=KNOWN) == []


# --- OBJ-005, AUTH-006: what counts as a route serving data ---

@pytest.mark.parametrize(("route", "status", "body", "served"), [
    ("list", 200, {"total": 0, "items": []}, False),  # an empty list under a wallbox one may not see discloses nothing
    ("list", 200, {"total": 1, "items": [{"id": 7}]}, True),
    ("list", 404, {"detail": "Not Found"}, False),
    ("current", 200, {"session": None}, False),
    ("current", 200, {"session": {"session": {"id": 7}}}, True),
    ("current", 403, {"detail": "Forbidden"}, False),
    ("session", 200, {"session": {"id": 7}}, True),
])
def test_a_route_serves_data_only_with_a_2xx_that_holds_some(route, status, body, served):
    from conformance.live.procedures import _served_something

    exchange = Exchange("GET", "http://127.0.0.1:1/x", {}, status, {}, json.dumps(body), 1.0, body=body)
    assert _served_something(route, exchange) is served


def test_the_catalogue_judges_answers_to_get_only():
    """A POST answered 200 with a token body is MTH-001's one finding, not three SCH-001 ones (which `replay` then
    refused as a tampered report: payload invariants are re-sent as GETs only)."""
    ledger = Ledger()
    for check in CATALOGUE:
        ledger.register(CheckRecord(check, "live", Level.MUST, "", ""))
    context = ResponseContext(Judge(), ledger, lambda check: Level.MUST)
    body = {"access_token": "t", "token_type": "Bearer"}
    answers = {method: catalogue_check(Request(Exchange(method, "http://127.0.0.1:1/x", {}, 200, {}, json.dumps(body),
                                                        1.0, body=body)), context) for method in ("GET", "POST")}
    assert answers["GET"] and answers["POST"] == []
