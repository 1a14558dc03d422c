"""The checks judged on every response, one response at a time: each fires on what it is about and keeps
quiet on answers that are correct in another way than the reference deployment's."""

from __future__ import annotations

import json

import pytest

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.contract.served import served_session
from conformance.live.cases import load_cases
from conformance.live.checks import load_checks
from conformance.live.ledger import Ledger
from conformance.live.response_checks import Request, ResponseContext
from conformance.report.records import CheckRecord, Exchange

LEVELS = {check.id: check.case.level for check in load_checks()}
ON_EVERY_RESPONSE = {check.id: check.on_every_response for check in load_checks() if check.on_every_response}


def judged(check_id: str, status: int, text: str = "", **headers: str) -> list[str]:
    """The messages of `check_id`'s findings on one response of the session endpoint."""
    ledger = Ledger()
    for check in [*CATALOGUE, *LEVELS]:
        ledger.register(CheckRecord(check, "live", LEVELS.get(check, Level.MUST), "", ""))
    context = ResponseContext(Judge(), ledger, lambda check: LEVELS.get(check, Level.MUST))
    exchange = Exchange("GET", "http://127.0.0.1:1/x", {}, status, {k.replace("_", "-"): v for k, v in headers.items()},
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
    cases = {case.id: case for case in load_cases()}
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
    from conformance.live.checks import load_check_file

    case = {"id": "XX-001", "level": "MUST", "statement": "s", "cite": "c", "on_every_response": "no_such_check"}
    (tmp_path / "x.json").write_text(json.dumps({"cases": [case]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="XX-001: unknown response check 'no_such_check'"):
        load_check_file(tmp_path / "x.json")


@pytest.mark.parametrize(("served", "fires"), [(7, False), (7.0, False), ("7", False), ("8", True), (8, True),
                                               ("seven", True), (None, True)])
def test_the_served_session_is_judged_by_value_so_a_string_id_is_one_finding(served, fires):
    """A string "7" for session 7 is a schema defect (SCH-001), not another session; "8" is both."""
    assert (served_session({"session": {"id": served}}, "7") is not None) is fires
