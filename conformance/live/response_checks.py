"""Checks applied to every response of the session endpoint, as Schemathesis custom checks.

A live run hands each response to Schemathesis' `case.validate_response` with these checks: the
invariant catalogue through the same `Judge` that `check` uses, plus the HTTP-level checks that can be
judged from one response alone. Each check records structured findings in the run's ledger and raises
`AssertionError`, so Schemathesis sees a failure and the report keeps the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.live.client import PARSE_LIMIT, Exchange
from conformance.live.ledger import Ledger, LiveFinding

# Server internals that must never reach a client: Python/Java/.NET/Node stack traces, SQL, debug pages.
# SQL as drivers and ORMs print it (upper-case keywords on one line, or select-from-where), not English such as
# "select a wallbox from the list".
_INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\bat [\w$.]+\([\w$]+\.java:\d+\)"
    r"|\bat [\w.<>]+\(\) in .+:line \d+|\n\s+at .+\(.+\.[jt]s:\d+:\d+\)|(?-i:\bSELECT\s[^\n]{1,400}?\sFROM\s)"
    r"|\bselect\s+[\w.\"`*]+(?:\s*,\s*[\w.\"`*]+)*\s+from\s+[\w.\"`]+(?:\s+\w+)?\s+where\b|"
    r"\bpsycopg2?\.|\bsqlalchemy\.|django\.db\.|Werkzeug Debugger|DEBUG = True",
    re.IGNORECASE | re.DOTALL,
)
# A Bearer challenge among possibly several (RFC 9110 §11.6.1: one header may list challenges, comma-separated).
_BEARER_CHALLENGE = re.compile(r"(?i)(?:^|,)\s*bearer(?:\s|,|$)")


@dataclass(frozen=True)
class Request:
    """What the run meant by a request: which session id the path names and whether the input was valid."""

    exchange: Exchange
    path_session_id: Any = None
    negative: bool = False
    curl: str = ""


ResponseCheck = Callable[[Request, "ResponseContext"], list[LiveFinding]]


@dataclass
class ResponseContext:
    judge: Judge
    ledger: Ledger
    level_of: Callable[[str], Level]
    body_limit: int = PARSE_LIMIT  # max_body_mib, in bytes

    def finding(self, check_id: str, request: Request, message: str, **fields: Any) -> LiveFinding:
        return LiveFinding(check_id, self.level_of(check_id), message, exchange=request.exchange,
                           curl=request.curl, **fields)


def catalogue_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """Every 200 is judged by the schema (formats on) and the whole invariant catalogue."""
    exchange = request.exchange
    if exchange.status != 200 or exchange.body is None:
        return []
    judgement = ctx.judge.judge(exchange.body)
    view_ids = CATALOGUE if judgement.semantic_evaluated else ("SCH-001", "SCH-002")
    for invariant_id in view_ids:
        ctx.ledger.judged(invariant_id)
    return [
        LiveFinding(f.invariant, f.level, f.message, pointer=f.pointer, expected=f.expected, actual=f.actual,
                    exchange=exchange, curl=request.curl)
        for f in judgement.findings
    ]


def path_id_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """RSP-001: a 200 serves the session the path names."""
    exchange = request.exchange
    if exchange.status != 200 or not isinstance(exchange.body, dict) or request.path_session_id is None:
        return []
    ctx.ledger.judged("RSP-001")
    served = exchange.body.get("session", {}).get("id") if isinstance(exchange.body.get("session"), dict) else None
    try:
        expected = int(str(request.path_session_id))
    except ValueError:
        return []
    if served != expected:
        return [ctx.finding("RSP-001", request, f"path names session {expected}, body serves {served!r}",
                            pointer="/session/id", expected=expected, actual=served)]
    return []


def json_content_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """RSP-002: a 200 is application/json and parses; RSP-004: error bodies are JSON too (SHOULD)."""
    exchange = request.exchange
    check_id = "RSP-002" if exchange.status == 200 else "RSP-004"
    if not (exchange.status == 200 or 400 <= exchange.status < 600) or (check_id == "RSP-004" and not exchange.text):
        return []
    if exchange.too_large:  # said once per status, however many such answers the run gets
        said = f"a {exchange.status} answer over {ctx.body_limit / 2**20:g} MiB was not judged"
        if not any(note.startswith(said) for note in ctx.ledger.notes):
            ctx.ledger.note(f"{said} (e.g. {exchange.url})")
        return []
    ctx.ledger.judged(check_id)
    content_type = exchange.headers.get("content-type", "")
    if not exchange.is_json:
        return [ctx.finding(check_id, request, f"Content-Type is {content_type or 'missing'}",
                            expected="application/json", actual=content_type or None)]
    if exchange.body is None and exchange.text.strip():
        return [ctx.finding(check_id, request, "body is not valid JSON", expected="JSON", actual=exchange.text[:80])]
    return []


def internals_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """RSP-003: an error body carries no stack trace, SQL or other server internals."""
    exchange = request.exchange
    if exchange.status < 400:
        return []
    ctx.ledger.judged("RSP-003")
    match = _INTERNALS.search(exchange.text)
    if match:
        return [ctx.finding("RSP-003", request, "error body exposes server internals",
                            expected="no stack trace or SQL", actual=match.group(0)[:120])]
    return []


def challenge_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """AUTH-004: every 401 names the Bearer scheme in WWW-Authenticate (RFC 6750 §3)."""
    exchange = request.exchange
    if exchange.status != 401:
        return []
    ctx.ledger.judged("AUTH-004")
    challenge = exchange.headers.get("www-authenticate", "")
    if not _BEARER_CHALLENGE.search(challenge):
        return [ctx.finding("AUTH-004", request, "401 without a Bearer challenge",
                            expected="WWW-Authenticate: Bearer ...", actual=challenge or None)]
    return []


def server_error_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """FUZ-001: no request, valid or not, is answered with a 5xx."""
    exchange = request.exchange
    ctx.ledger.judged("FUZ-001")
    if exchange.status >= 500:
        return [ctx.finding("FUZ-001", request, f"server error {exchange.status}", expected="< 500",
                            actual=exchange.status)]
    return []


def rejection_check(request: Request, ctx: ResponseContext) -> list[LiveFinding]:
    """FUZ-002: a malformed path parameter is answered with a 4xx, never a 2xx."""
    exchange = request.exchange
    if not request.negative:
        return []
    ctx.ledger.judged("FUZ-002")
    if exchange.status < 400:
        return [ctx.finding("FUZ-002", request, f"malformed input answered {exchange.status}", expected="4xx",
                            actual=exchange.status)]
    return []


RESPONSE_CHECKS: dict[str, ResponseCheck] = {
    "catalogue": catalogue_check,
    "RSP-001": path_id_check,
    "RSP-002": json_content_check,
    "RSP-003": internals_check,
    "AUTH-004": challenge_check,
    "FUZ-001": server_error_check,
    "FUZ-002": rejection_check,
}


def as_schemathesis_checks(request: Request, ctx: ResponseContext) -> list[Callable[..., None]]:
    """The response checks bound to one request, in Schemathesis' `(ctx, response, case)` form."""

    def bind(name: str, check: ResponseCheck) -> Callable[..., None]:
        def schemathesis_check(_st_ctx: Any, _response: Any, _case: Any) -> None:
            findings = check(request, ctx)
            for finding in findings:
                ctx.ledger.add(finding)
            failing = [f for f in findings if f.level is not Level.OFF]
            if failing:
                raise AssertionError("; ".join(f"{f.check_id} {f.pointer} {f.message}" for f in failing[:5]))

        schemathesis_check.__name__ = f"hems_{name.replace('-', '_').lower()}"
        return schemathesis_check

    return [bind(name, check) for name, check in RESPONSE_CHECKS.items()]
