"""The checks judged on every response, one response at a time: each fires on what it is about and keeps
quiet on answers that are correct in another way than the reference deployment's."""

from __future__ import annotations

import json

import pytest

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.live.cases import load_cases
from conformance.live.exchange import Exchange
from conformance.live.ledger import Ledger
from conformance.live.response_checks import RESPONSE_CHECKS, Request, ResponseContext
from conformance.report.records import CheckRecord

LEVELS = {case.id: case.level for case in load_cases()}


def judged(check_id: str, status: int, text: str = "", **headers: str) -> list[str]:
    """The messages of `check_id`'s findings on one response of the session endpoint."""
    ledger = Ledger()
    for check in [*CATALOGUE, *LEVELS]:
        ledger.register(CheckRecord(check, "live", LEVELS.get(check, Level.MUST), "", ""))
    context = ResponseContext(Judge(), ledger, lambda check: LEVELS.get(check, Level.MUST))
    exchange = Exchange("GET", "http://127.0.0.1:1/x", {}, status, {k.replace("_", "-"): v for k, v in headers.items()},
                        text, 1.0, body=json.loads(text) if text.startswith(("{", "[")) else None)
    return [e.finding.message for e in RESPONSE_CHECKS[check_id](Request(exchange), context)]


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


def test_an_answer_too_large_to_parse_is_noted_not_called_invalid_json():
    ledger = Ledger()
    exchange = Exchange("GET", "http://127.0.0.1:1/x", {}, 200, {"content-type": "application/json"}, "{", 1.0,
                        too_large=True)
    context = ResponseContext(Judge(), ledger, lambda check: Level.MUST)
    assert RESPONSE_CHECKS["RSP-002"](Request(exchange), context) == []
    assert ledger.notes == ["a 200 answer over 32 MiB was not judged (e.g. http://127.0.0.1:1/x)"]
