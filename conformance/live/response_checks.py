"""Checks applied to every response of the session endpoint, called directly by the run (`judge_every_check`).

The invariant catalogue through the same `Judge` that `check` uses, plus the HTTP-level checks that can be
judged from one response alone. A live case names its check here by function name (`on_every_response`
in `cases/live/*.json`), and the check judges under that case's ID: no ID is written in this module.
Each check returns its findings with their evidence; the run adds them to its ledger. Schemathesis
generates the requests (`fuzzing.py`); it does not carry these checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.findings import Finding
from conformance.contract.judge import Judge, Judgement
from conformance.contract.levels import Level
from conformance.contract.served import served_session
from conformance.live.client import PARSE_LIMIT
from conformance.live.ledger import Ledger
from conformance.report.records import STATUS_CAUSE, Evidence, Exchange
from conformance.report.redaction import PLACEHOLDER

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
    """What the run meant by a request: which session id the path names and which path parameters it broke."""

    exchange: Exchange
    path_session_id: Any = None
    malformed: tuple[str, ...] = ()
    curl: str = ""


@dataclass
class ResponseContext:
    judge: Judge
    ledger: Ledger
    level_of: Callable[[str], Level]
    body_limit: int = PARSE_LIMIT  # max_body_mib, in bytes
    on_session: Callable[[Exchange, Judgement], None] | None = None  # each 200 the catalogue could read as a session
    resource_ids: frozenset[str] = frozenset()  # the org, user and wallbox UUIDs (hex) of the configured sessions

    def finding(self, check_id: str, request: Request, message: str, *, pointer: str = "", expected: Any = None,
                actual: Any = None, cause: str = "") -> list[Evidence]:
        finding = Finding(pointer, message, expected, actual, check_id, self.level_of(check_id))
        return [Evidence(finding, request.exchange, request.curl, cause=cause)]


ResponseCheck = Callable[[Request, ResponseContext, str], list[Evidence]]
RESPONSE_CHECKS: dict[str, ResponseCheck] = {}


def response_check(func: ResponseCheck) -> ResponseCheck:
    """Register a check by its function name, the name a live case gives as `on_every_response`."""
    RESPONSE_CHECKS[func.__name__] = func
    return func


def catalogue_check(request: Request, ctx: ResponseContext) -> list[Evidence]:
    """Every 200 to a GET is judged by the schema (formats on) and the whole invariant catalogue. An undeclared
    method's 200 is MTH-001's finding, not a session document (and replay re-sends payload invariants as GETs)."""
    exchange = request.exchange
    if exchange.status != 200 or exchange.body is None or exchange.method != "GET":
        return []
    judgement = ctx.judge.judge(exchange.body)
    for invariant_id in CATALOGUE:
        if invariant_id not in judgement.not_evaluated:
            ctx.ledger.judged(invariant_id)
    if judgement.not_evaluated:
        ctx.ledger.note("some invariants were not evaluated on 200s whose shape SCH-001 refuses (they read the "
                        "refused values): their judged counts leave those responses out")
    if judgement.semantic_evaluated and ctx.on_session is not None:
        ctx.on_session(exchange, judgement)
    for (check_id, level), count in judgement.more.items():  # past the findings built: counted, once per body
        ctx.ledger.add_counted(check_id, level, count, exchange)
    return [Evidence(finding, exchange, request.curl) for finding in judgement.findings]


@response_check
def path_names_session(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """A 200 serves the session the path names."""
    exchange = request.exchange
    if exchange.status != 200 or not isinstance(exchange.body, dict) or request.path_session_id is None:
        return []
    ctx.ledger.judged(check_id)
    finding = served_session(exchange.body, request.path_session_id)
    if finding is None:
        return []
    return ctx.finding(check_id, request, finding.message, pointer=finding.pointer, expected=finding.expected,
                       actual=finding.actual)


@response_check
def json_200(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """A 200 is application/json and parses."""
    return _json_body(request, ctx, check_id) if request.exchange.status == 200 else []


@response_check
def json_errors(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """A 4xx or 5xx with a body has a JSON body too."""
    exchange = request.exchange
    return _json_body(request, ctx, check_id) if 400 <= exchange.status < 600 and exchange.text else []


def _json_body(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    exchange = request.exchange
    if exchange.too_large:  # said once per status, however many such answers the run gets
        said = f"a {exchange.status} answer over {ctx.body_limit / 2**20:g} MiB was not judged"
        ctx.ledger.note(f"{said} (e.g. {exchange.url})", once_per=said)
        return []
    ctx.ledger.judged(check_id)
    content_type = exchange.headers.get("content-type", "")
    if not exchange.is_json:  # a server error's page (a framework's or a gateway's) comes with its status
        return ctx.finding(check_id, request, f"Content-Type is {content_type or 'missing'}",
                           expected="application/json", actual=content_type or None,
                           cause=STATUS_CAUSE if exchange.status >= 500 else "")
    if exchange.body is None and exchange.text.strip():
        return ctx.finding(check_id, request, "body is not valid JSON", expected="JSON", actual=exchange.text[:80])
    return []


@response_check
def no_internals(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """An error body carries no stack trace, SQL or other server internals."""
    exchange = request.exchange
    if exchange.status < 400:
        return []
    ctx.ledger.judged(check_id)
    match = _INTERNALS.search(exchange.text)
    if match:
        return ctx.finding(check_id, request, "error body exposes server internals",
                           expected="no stack trace or SQL", actual=match.group(0)[:120])
    return []


@response_check
def bearer_challenge(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """Every 401 names the Bearer scheme in WWW-Authenticate (RFC 6750 §3)."""
    exchange = request.exchange
    if exchange.status != 401:
        return []
    ctx.ledger.judged(check_id)
    challenge = exchange.headers.get("www-authenticate", "")
    if not _BEARER_CHALLENGE.search(challenge):
        return ctx.finding(check_id, request, "401 without a Bearer challenge",
                           expected="WWW-Authenticate: Bearer ...", actual=challenge or None)
    return []


@response_check
def allow_on_405(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """A 405 names the methods the path serves in an Allow header (RFC 9110 §15.5.6)."""
    if request.exchange.status != 405:
        return []
    ctx.ledger.judged(check_id)
    return [] if "allow" in request.exchange.headers else ctx.finding(
        check_id, request, "405 without an Allow header", expected="Allow: GET, ...", actual=None)


@response_check
def no_server_error(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """No request, valid or not, is answered with a 5xx."""
    exchange = request.exchange
    ctx.ledger.judged(check_id)
    if exchange.status >= 500:
        return ctx.finding(check_id, request, f"server error {exchange.status}", expected="< 500",
                           actual=exchange.status, cause=STATUS_CAUSE)
    return []


@response_check
def malformed_rejected(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """A malformed path parameter is answered with a 4xx, never a 2xx."""
    exchange = request.exchange
    if not request.malformed:
        return []
    ctx.ledger.judged(check_id)
    if exchange.status < 400:
        return ctx.finding(check_id, request, f"malformed {', '.join(request.malformed)} answered {exchange.status}",
                           expected="4xx", actual=exchange.status)
    return []


_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1
_ERROR_ATTRIBUTE = re.compile(r'(?i)(?:^|[\s,])error\s*=\s*"?([^",\s]*)')


@response_check
def token_error_named(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """The error attribute of a 401's Bearer challenge (RFC 6750 §3): a request that carried a token is told why,
    error="invalid_token" (invalid_request allowed for a token that is not a b64token); a request without any
    credentials, or with another scheme, gets no error code. Without a Bearer challenge at all, AUTH-004 speaks."""
    exchange = request.exchange
    if exchange.status != 401:
        return []
    sent = next((v for k, v in exchange.request_headers.items() if k.lower() == "authorization"), "")
    scheme, _, credential = sent.partition(" ")
    challenge = exchange.headers.get("www-authenticate", "")
    # a 401 to `bearer TOKEN` is AUTH-007's finding (one defect, one finding); `Bearer` alone is neither case
    if scheme.lower() == "bearer" and (scheme != "Bearer" or not credential.strip()) \
            or not _BEARER_CHALLENGE.search(challenge):
        return []
    ctx.ledger.judged(check_id)
    found = _ERROR_ATTRIBUTE.search(challenge)
    if scheme != "Bearer":
        if found is None:
            return []
        return ctx.finding(check_id, request, "401 to a request without a Bearer token names an error code",
                           expected="no error attribute (the request had no token)", actual=challenge)
    well_formed = credential.strip() == PLACEHOLDER or _B64TOKEN.fullmatch(credential.strip())
    allowed = ("invalid_token",) if well_formed else ("invalid_token", "invalid_request")
    if found is None or found.group(1) not in allowed:
        return ctx.finding(check_id, request, "401 to a request with a Bearer token does not say why in its challenge",
                           expected=f'WWW-Authenticate: Bearer error="{allowed[0]}"', actual=challenge)
    return []


def _directives(cache_control: str) -> dict[str, str]:
    """Cache-Control directives by lower-case name (RFC 9111 §5.2: names are case-insensitive)."""
    directives = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = value.strip().strip('"')
    return directives


@response_check
def not_shared_cacheable(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """A 2xx to an authorized request carries no directive that lets a shared cache store it (RFC 9111 §3.5)."""
    exchange = request.exchange
    if not 200 <= exchange.status < 300 or not any(k.lower() == "authorization" for k in exchange.request_headers):
        return []
    ctx.ledger.judged(check_id)
    cache_control = exchange.headers.get("cache-control", "")
    directives = _directives(cache_control)
    if "private" in directives or "no-store" in directives:
        return []
    shared: list[str] = [name for name in ("public", "s-maxage") if name in directives]
    max_age = directives.get("max-age", "0")
    if "must-revalidate" in directives and "no-cache" not in directives and max_age.isdigit() and int(max_age) > 0:
        shared.append("must-revalidate")
    if shared:
        return ctx.finding(check_id, request, f"an authorized answer lets shared caches store it ({', '.join(shared)})",
                           expected="private, no-store, or no shared-cache directive", actual=cache_control)
    return []


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def uuid_hex(text: str) -> set[str]:
    """The hyphenated UUIDs in `text`, as 32 lower-case hex digits (how ids are compared, whatever their case)."""
    return {found.group(0).replace("-", "").lower() for found in _UUID.finditer(text)}


@response_check
def no_foreign_ids(request: Request, ctx: ResponseContext, check_id: str) -> list[Evidence]:
    """An error body names no org, user or wallbox id of a known session that the request's URL did not carry."""
    exchange = request.exchange
    if exchange.status < 400 or not ctx.resource_ids:
        return []
    ctx.ledger.judged(check_id)
    named = (uuid_hex(exchange.text) & ctx.resource_ids) - uuid_hex(exchange.url)
    if named:
        return ctx.finding(check_id, request, f"a {exchange.status} body names {len(named)} id(s) the request did not carry",
                           expected="no id the caller did not send", actual=sorted(named)[:3])
    return []


def judge_every_check(request: Request, ctx: ResponseContext, checks: list[tuple[str, ResponseCheck]]) -> None:
    """One response judged by the catalogue and the live cases' response checks (check ID, function), each
    finding added to the ledger with its evidence."""
    for evidence in catalogue_check(request, ctx):
        ctx.ledger.add(evidence)
    for check_id, check in checks:
        for evidence in check(request, ctx, check_id):
            ctx.ledger.add(evidence)
