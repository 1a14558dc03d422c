"""The procedures of the live cases: each sends requests through the run and judges their answers.

Every response a procedure provokes is also judged by the response checks (`response_checks.py`).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from conformance.contract import cross, pointers
from conformance.contract.levels import Level
from conformance.contract.payload import parse_instant
from conformance.errors import TargetError
from conformance.live import token_request
from conformance.live.live_cases import LiveCase
from conformance.live.target import SessionRef, TenantConfig, WallboxRef
from conformance.report.records import STATUS_CAUSE
from conformance.report.redaction import form_encoded

if TYPE_CHECKING:
    from schemathesis.core.transport import HttpMethod

    from conformance.live.runner import LiveRun


# --- procedures ---

Procedure = Callable[["LiveRun", LiveCase], None]
PROCEDURES: dict[str, Procedure] = {}


def procedure(func: Procedure) -> Procedure:
    """Register a procedure by its function name, the name a live case gives as `procedure`."""
    PROCEDURES[func.__name__] = func
    return func


def _first_sessions(run: LiveRun) -> list[tuple[str, Any]]:
    """One known session per tenant: enough to probe behaviour that does not depend on the session."""
    return [(key, tenant.sessions[0]) for key, tenant in run.config.tenants()]


def _expect_status(run: LiveRun, case: LiveCase, exchange: Any, allowed: list[int], what: str) -> None:
    run.ledger.judged(case.id)
    if exchange.status not in allowed:
        run.finding(case.id, f"{what}: answered {exchange.status}", exchange,
                    expected=" or ".join(map(str, allowed)), actual=exchange.status, cause=STATUS_CAUSE,
                    statuses=tuple((status, status) for status in allowed))


@procedure
def read_every_session(run: LiveRun, case: LiveCase) -> None:
    """Read every configured session with its own tenant's token; the response checks judge each 200."""

    def read(entry: tuple[str, SessionRef]) -> None:
        tenant, ref = entry
        exchange = run.read(ref, tenant=tenant, note=f"tenant {tenant.upper()}: configured session")
        _expect_status(run, case, exchange, [200], f"configured {ref.label()}")

    run.concurrently(read, [(tenant, ref) for tenant, config in run.config.tenants() for ref in config.sessions])


@procedure
def unauthenticated(run: LiveRun, case: LiveCase) -> None:
    """Requests with missing, malformed or wrong-scheme credentials (params: headers, a list of header sets)."""
    if not run.auth_enabled:
        run.ledger.skip(case.id, "auth.grant = none: the target is configured without auth")
        return
    ref = _first_sessions(run)[0][1]

    def probe(variant: dict[str, str]) -> None:
        exchange = run.read(ref, tenant=None, headers=variant, public=True, note=f"credentials: {variant or 'none'}")
        _expect_status(run, case, exchange, case.params.get("status", [401]), f"credentials {variant or 'none'}")

    run.concurrently(probe, case.params.get("headers", [{}]))


@procedure
def unknown_session(run: LiveRun, case: LiveCase) -> None:
    """A well-formed session id the tenant does not have, under a known wallbox."""
    known = {ref.session_id for ref in run.config.tenant.sessions}
    ref = run.config.tenant.sessions[0]
    candidate = case.params.get("session_id", 2**62 + 7)
    while candidate in known:
        candidate += 1
    exchange = run.read(ref, override={"session_id": candidate}, note="unknown session id")
    _expect_status(run, case, exchange, case.params.get("status", [404]), f"unknown session {candidate}")


@procedure
def foreign_parents(run: LiveRun, case: LiveCase) -> None:
    """Each parent id of a known session replaced by a random UUID (broken object-level authorization)."""
    namespace = uuid.UUID(int=run.options.seed)

    def probe(entry: tuple[str, SessionRef, str]) -> None:
        tenant, ref, name = entry
        fake = str(uuid.uuid5(namespace, f"{name}:{ref.session_id}"))
        exchange = run.read(ref, tenant=tenant, override={name: fake}, note=f"{name} replaced by a random UUID")
        _expect_not_ok(run, case, exchange, f"{ref.label()} with a random {name}")

    run.concurrently(probe, [(tenant, ref, name) for tenant, ref in _first_sessions(run)
                             for name in ("org_id", "user_id", "wallbox_id")])


NOT_SERVED = ((100, 199), (300, 599))  # any answer but a 2xx: a session not served


def _expect_not_ok(run: LiveRun, case: LiveCase, exchange: Any, what: str) -> None:
    run.ledger.judged(case.id)
    if 200 <= exchange.status < 300:
        run.finding(case.id, f"{what}: answered {exchange.status}, the session leaked", exchange,
                    expected="403 or 404", actual=exchange.status, cause=STATUS_CAUSE, statuses=NOT_SERVED)


def _moves(sessions: tuple[SessionRef, ...]) -> Iterator[tuple[SessionRef, str, str]]:
    """(session, parent, value): one parent of a configured session swapped for a real one of the same tenant,
    another wallbox of the same user, or another user of the same org (the path otherwise unchanged)."""
    for ref in sessions:
        peers = [other for other in sessions if other.org_id == ref.org_id]
        wallbox = next((o.wallbox_id for o in peers if o.user_id == ref.user_id and o.wallbox_id != ref.wallbox_id), None)
        user = next((o.user_id for o in peers if o.user_id != ref.user_id), None)
        yield from ((ref, name, value) for name, value in (("wallbox_id", wallbox), ("user_id", user)) if value)


@procedure
def moved_session(run: LiveRun, case: LiveCase) -> None:
    """A known session requested under another wallbox of its user, or another user of its org, is not served."""
    moves = list(itertools.islice(_moves(run.config.tenant.sessions), case.params.get("limit", 4)))
    if not moves:
        run.ledger.not_exercised(case.id, "two configured sessions of one org on different wallboxes or users")

    def probe(move: tuple[SessionRef, str, str]) -> None:
        ref, name, value = move
        what = "another wallbox of its user" if name == "wallbox_id" else "another user of its org"
        exchange = run.read(ref, override={name: value}, note=f"moved under {what}")
        if 200 <= exchange.status < 300 and not _same_session(run, ref, exchange):
            run.ledger.judged(case.id)  # ids numbered per wallbox: that wallbox's own session of this number
        else:
            _expect_not_ok(run, case, exchange, f"{ref.label()} under {what}")

    run.concurrently(probe, moves)


def _identity(body: Any) -> tuple[Any, Any] | None:
    """What tells two sessions apart when their ids may be numbered per wallbox: id and start instant."""
    session = body.get("session") if isinstance(body, dict) else None
    if not isinstance(session, dict):
        return None
    return session.get("id"), parse_instant(session.get("started_at")) or session.get("started_at")


def _same_session(run: LiveRun, ref: SessionRef, served: Any) -> bool:
    """Whether a 200 under other parents is `ref` itself (a leak), not another session of the same number
    there. In doubt (no 200 under its own parents, no readable body) it is the same."""
    own = run.read(ref, note="the session under its own parents, to compare")
    theirs, mine = _identity(served.body), _identity(own.body)
    return own.status != 200 or theirs is None or mine is None or theirs == mine


@procedure
def cross_tenant(run: LiveRun, case: LiveCase) -> None:
    """Tenant B's token on tenant A's sessions, and the reverse: 403 or 404, never the session."""
    if not run.config.tenant_b:
        run.ledger.not_exercised(case.id, "a [tenant_b] table: a second tenant with its own sessions")
        return
    if any(tenant.auth.grant == "none" for _, tenant in run.config.tenants()):
        run.ledger.skip(case.id, "a tenant with grant = none: tenants cannot be told apart")
        return
    limit = case.params.get("limit", 3)

    def probe(entry: tuple[str, SessionRef]) -> None:
        reader, ref = entry
        exchange = run.read(ref, tenant=reader, note=f"tenant {reader.upper()} token on the other tenant's session")
        _expect_status(run, case, exchange, case.params.get("status", [403, 404]),
                       f"{ref.label()} read by tenant {reader.upper()}")

    run.concurrently(probe, [(reader, ref) for reader, owner in (("b", run.config.tenant), ("a", run.config.tenant_b))
                             for ref in owner.sessions[:limit]])


@procedure
def stable_reads(run: LiveRun, case: LiveCase) -> None:
    """Two reads of an ended session are the same document (compared parsed: order of keys, 7 vs 7.0 aside,
    and only in what the spec declares: an undeclared extra such as a served-at stamp may change). Only two 200
    JSON documents are compared: a failed second read is read again once, and if it fails again the pair is not
    judged (its answer is judged by the checks of every response) and a note says so."""
    schema = run.contract.response_schema

    def compare(ref: SessionRef) -> None:
        first = run.read(ref, note="stability: first read")
        if not _document(first) or _ongoing(first.body):
            return
        second = run.read(ref, note="stability: second read")
        if not _document(second):
            second = run.read(ref, note="stability: second read, again (the first answered "
                                        f"{second.status or 'nothing'})")
        if not _document(second):
            run.ledger.note(f"{case.id}: a second read of {ref.label()} answered {second.status or 'nothing'} twice: "
                            "that pair was not compared")
            return
        run.ledger.judged(case.id)
        before, after = declared_only(first.body, schema, schema), declared_only(second.body, schema, schema)
        if after != before:
            pointer = _first_difference(before, after)
            run.finding(case.id, f"two reads of ended {ref.label()} differ at {pointer}", second, pointer=pointer,
                        expected=pointers.resolve(before, pointer), actual=pointers.resolve(after, pointer))

    run.concurrently(compare, run.config.tenant.sessions[: case.params.get("limit", 5)])


def _document(exchange: Any) -> bool:
    """A 200 with a JSON object: a read whose document can be compared."""
    return exchange.status == 200 and isinstance(exchange.body, dict)


def declared_only(value: Any, schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """`value` without the object properties its JSON Schema does not declare (local $refs, anyOf/oneOf/allOf
    branches that describe objects or arrays followed; anything else kept as it is)."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        schema = pointers.resolve(root, schema["$ref"][1:])
    if not isinstance(schema, dict) or depth > 32:
        return value
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        declared = schema["properties"]
        return {k: declared_only(v, declared[k], root, depth + 1) for k, v in value.items() if k in declared}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [declared_only(item, schema["items"], root, depth + 1) for item in value]
    for branch in (b for key in ("anyOf", "oneOf", "allOf") for b in schema.get(key, [])):
        narrowed = declared_only(value, branch, root, depth + 1)
        if narrowed is not value:
            return narrowed
    return value


def _ongoing(body: dict[str, Any]) -> bool:
    session = body.get("session")
    return not isinstance(session, dict) or session.get("ended_at") is None


def _first_difference(a: Any, b: Any, pointer: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), pointers.child(pointer, key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_difference(x, y, pointers.child(pointer, i))
    return pointer or "/"


@procedure
def undeclared_methods(run: LiveRun, case: LiveCase) -> None:
    """Methods the spec does not declare on the path are refused (405 ideally, any 4xx), never served."""
    ref = run.config.tenant.sessions[0]

    def probe(method: HttpMethod) -> None:  # the case file's words, as Schemathesis takes them
        st_case = run.operation.Case(method=method, path_parameters=ref.path_parameters)
        exchange = run.send_case(st_case, note=f"undeclared method {method}")
        run.ledger.judged(case.id)
        if exchange.status < 400:
            run.finding(case.id, f"{method} answered {exchange.status}", exchange, expected="405 (or another 4xx)",
                        actual=exchange.status, cause=STATUS_CAUSE, statuses=((400, 599),))

    run.concurrently(probe, case.params.get("methods", ["POST", "PUT", "PATCH", "DELETE"]))


@procedure
def expired_token(run: LiveRun, case: LiveCase) -> None:
    """A token used after its expires_in is refused with 401; waits at most [auth] max_token_wait_s."""
    if not _token_grant_in_use(run, case):
        return
    form, basic = _credentials(run)
    issued = _token_post(run, form, basic, "token request: a token to let expire")
    answer = issued.body if issued.status == 200 and isinstance(issued.body, dict) else {}
    lifetime, token = answer.get("expires_in"), answer.get("access_token")
    budget = run.config.tenant.auth.max_token_wait_s
    if not token or not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool):
        run.ledger.not_exercised(case.id, "a token answer with an access_token and a numeric expires_in")
        return
    if lifetime > budget:  # its need unmet: not exercised, never passed
        run.ledger.not_exercised(case.id, f"tokens that live at most auth.max_token_wait_s = {budget:g} s (they live "
                                          f"{lifetime:g} s): raise it, or run against a deployment with short-lived "
                                          "tokens")
        return
    time.sleep(lifetime + case.params.get("grace_s", 1.5))
    exchange = run.read(run.config.tenant.sessions[0], tenant=None, headers={"Authorization": f"Bearer {token}"},
                        note=f"token used {lifetime:g} s after issue, past its expires_in")
    _expect_status(run, case, exchange, [401], "expired token")


# --- the token endpoint (RFC 6749) ---


def _token_post(run: LiveRun, fields: dict[str, str], basic: tuple[str, str] | None, note: str,
                tenant: TenantConfig | None = None) -> Any:
    """A token request of `tenant` (tenant A by default) with these fields and this HTTP Basic pair."""
    import requests.auth

    tenant = tenant or run.config.tenant
    if basic:  # a probe's secret (TOK-002's wrong one) is masked like the configured ones, in every encoding
        run.redactor.add_basic(*basic)
    for key in ("client_secret", "password"):
        run.redactor.add(fields.get(key, ""))
    auth = requests.auth.HTTPBasicAuth(*form_encoded(*basic)) if basic else None  # as the token source sends it
    return run.client.send("POST", run.config.token_url(tenant), tenant=None, auth=auth, note=note,
                           **token_request.encoded(tenant.auth, fields))


def _credentials(run: LiveRun, wrong_secret: bool = False,
                 tenant: TenantConfig | None = None) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The configured token request's fields and HTTP Basic pair (a wrong secret or password if asked), of
    `tenant` (tenant A by default)."""
    auth = (tenant or run.config.tenant).auth
    fields = {"grant_type": auth.grant}
    wrong = "x" if wrong_secret else ""
    if auth.grant == "password" and auth.password is not None:  # the config requires it for this grant
        fields |= {"username": auth.username, "password": auth.password.reveal() + wrong}
    client_fields, basic = token_request.credentials(
        auth, auth.client_secret.reveal() + wrong if auth.client_secret else None)
    return fields | client_fields, basic


def _token_grant_in_use(run: LiveRun, case: LiveCase) -> bool:
    auth = run.config.tenant.auth
    if auth.grant in ("client_credentials", "password"):
        run.ledger.note(f"the token endpoint is judged (TOK-*) with {auth.token_body}-encoded requests, "
                        f"as [auth] token_body configures")  # each TOK statement says how each encoding is read
        return True
    run.ledger.skip(case.id, f"auth.grant = {auth.grant}: the suite does not use the token endpoint")
    return False


def _reading(run: LiveRun, case: LiveCase) -> tuple[str, dict[str, Any]]:
    """The reading of the request format the case probes: its name, and the case's params for it (form: RFC 6749
    §4's request, §5.2's refusals; json: Podero's TokenInput, whose refusals the spec leaves unwritten)."""
    body = run.config.tenant.auth.token_body
    return ("RFC 6749 §5.2, form request" if body == "form" else "TokenInput, JSON request"), case.params[body]


def _refused(run: LiveRun, case: LiveCase, exchange: Any, rule: dict[str, Any], what: str, reading: str) -> None:
    """Judge one answer by `rule`: its status among rule["status"] and, where the rule names errors, an RFC 6749
    error code among them (a 200 the rule allows carries a token, not an error)."""
    run.ledger.judged(case.id)
    body = exchange.body if isinstance(exchange.body, dict) else {}
    errors = rule.get("errors")
    if exchange.status in rule["status"] and (errors is None or exchange.status == 200 or body.get("error") in errors):
        return
    statuses = " or ".join(map(str, rule["status"]))
    said = "with an access token" if "access_token" in body else f"error {body['error']!r}" if "error" in body \
        else "without an RFC 6749 error code"
    run.finding(case.id, f"{what}: answered {exchange.status} {said} ({reading})", exchange,
                expected=statuses + (f" with error {' or '.join(errors)}" if errors else ""),
                actual=f"{exchange.status} {said}",
                cause=STATUS_CAUSE if exchange.status not in rule["status"] else "")


@procedure
def token_success(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §5.1: the configured credentials get a Bearer access token as JSON."""
    if not _token_grant_in_use(run, case):
        return
    form, basic = _credentials(run)
    exchange = _token_post(run, form, basic, "token request with the configured credentials")
    if exchange.status >= 500:
        raise TargetError(f"token endpoint answered {exchange.status}")
    run.ledger.judged(case.id)
    body = exchange.body if isinstance(exchange.body, dict) else {}
    problems = []
    if exchange.status != 200:
        problems.append(f"status {exchange.status}")
    if not isinstance(body.get("access_token"), str) or not body.get("access_token"):
        problems.append("no access_token")
    if str(body.get("token_type", "")).lower() != "bearer":
        problems.append(f"token_type {body.get('token_type')!r}")
    if "expires_in" in body and (isinstance(body["expires_in"], bool) or not isinstance(body["expires_in"], (int, float))):
        problems.append(f"expires_in {body['expires_in']!r}")
    if problems:
        run.finding(case.id, "token response: " + ", ".join(problems), exchange,
                    expected="200 JSON access_token, token_type Bearer", actual=", ".join(problems))


@procedure
def token_no_store(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §5.1: a token response carries Cache-Control: no-store."""
    if not _token_grant_in_use(run, case):
        return
    form, basic = _credentials(run)
    exchange = _token_post(run, form, basic, "token request: caching headers")
    run.ledger.judged(case.id)
    if exchange.status == 200 and "no-store" not in exchange.headers.get("cache-control", "").lower():
        run.finding(case.id, "token response may be cached", exchange, expected="Cache-Control: no-store",
                    actual=exchange.headers.get("cache-control"))


@procedure
def token_bad_credentials(run: LiveRun, case: LiveCase) -> None:
    """A wrong client secret (or password) is refused: RFC 6749 §5.2's invalid_client / invalid_grant for a form
    request, any 400/401 for a JSON one (TokenInput's route documents no error format)."""
    if not _token_grant_in_use(run, case):
        return
    reading, rule = _reading(run, case)
    errors = rule.get("errors")
    rule = rule | ({"errors": errors[run.config.tenant.auth.grant]} if errors else {})
    form, basic = _credentials(run, wrong_secret=True)
    exchange = _token_post(run, form, basic, "token request with a wrong secret")
    _refused(run, case, exchange, rule, "wrong credentials", reading)


@procedure
def token_bad_request(run: LiveRun, case: LiveCase) -> None:
    """An unknown grant type and a missing one, judged by the reading of the encoding sent: RFC 6749 §4 / §5.2 for a
    form, Podero's TokenInput for JSON (grant_type null or absent may be read as the password grant)."""
    if not _token_grant_in_use(run, case):
        return
    reading, rules = _reading(run, case)
    form, basic = _credentials(run)
    for grant, rule in (("urn:example:no-such-grant", rules["unknown_grant"]), (None, rules["missing_grant"])):
        sent = {k: v for k, v in (form | {"grant_type": grant}).items() if v is not None}
        exchange = _token_post(run, sent, basic, f"token request with grant_type {grant!r}")
        _refused(run, case, exchange, rule, f"grant_type {grant!r}", reading)


@procedure
def fuzz(run: LiveRun, case: LiveCase) -> None:
    """Schemathesis-generated requests (params: mode positive|negative); see conformance.live.fuzzing."""
    from conformance.live.fuzzing import explore

    explore(run, case, negative=case.params.get("mode") == "negative")


# --- the protocol clauses of the adopted standards (RFC 6749, 6750, 9110) ---


def _issued(run: LiveRun, key: str, tenant: TenantConfig, note: str) -> Any:
    """A token request with `tenant`'s configured credentials (the exchange, for its answer and evidence)."""
    form, basic = _credentials(run, tenant=tenant)
    return _token_post(run, form, basic, f"tenant {key.upper()}: {note}", tenant=tenant)


def _answer(exchange: Any, key: str) -> str | None:
    """A string field of a 200 token answer, or None."""
    value = exchange.body.get(key) if exchange.status == 200 and isinstance(exchange.body, dict) else None
    return value if isinstance(value, str) and value else None


def _with_query(url: str, query: dict[str, str]) -> str:
    """`url` with `query` as its query string, so the exchange (and its reproduction) shows what was sent."""
    return f"{url}?{urlencode(query)}"


def _sibling_urls(run: LiveRun, wallbox: WallboxRef) -> list[tuple[str, str]]:
    """(url, route) of a wallbox's list (over the [discover] days) and current routes, when the run reads them."""
    window = run.config.discover
    if window is None:
        return []
    query = {"from": window.from_day.isoformat(), "to": window.to_day.isoformat()}
    return [(_with_query(run.client.url(cross.LIST_PATH.format(**wallbox.path_parameters)), query), "list"),
            (run.client.url(cross.CURRENT_PATH.format(**wallbox.path_parameters)), "current")]


def _read_sibling(run: LiveRun, url: str, tenant: str | None, note: str,
                  headers: dict[str, str] | None = None) -> Any:
    """GET a list or current route; its answer is judged by the response checks as the session route's are."""
    exchange = run.client.send("GET", url, tenant=tenant, headers=headers, note=note)
    run.judge_sibling(exchange)
    return exchange


def _served_something(route: str, exchange: Any) -> bool:
    """A 2xx that hands out data: a list with an item, a current session, any other 2xx body of the session route.
    An empty list under a wallbox the caller may not see discloses nothing (a legitimate answer)."""
    if not 200 <= exchange.status < 300:
        return False
    body = exchange.body
    if route == "list":
        return not isinstance(body, dict) or bool(body.get("items"))
    if route == "current":
        return not isinstance(body, dict) or body.get("session") is not None
    return True


@procedure
def refresh_token_as_access(run: LiveRun, case: LiveCase) -> None:
    """Each tenant's refresh token (if its grant issues one) sent as a Bearer token to the session route and, with
    [discover], the list and current routes: refused there, it is not an access token."""
    issued = False
    for key, tenant in run.config.tenants():
        if tenant.auth.grant not in ("client_credentials", "password"):
            continue
        refresh = _answer(_issued(run, key, tenant, "token request, for its refresh token"), "refresh_token")
        if refresh is None:
            continue
        issued = True
        headers = {"Authorization": f"Bearer {refresh}"}
        exchanges = [("session", run.read(tenant.sessions[0], tenant=None, headers=headers,
                                          note=f"tenant {key.upper()}: its refresh token as a Bearer token"))]
        for wallbox in tenant.wallboxes[:1]:
            exchanges += [(route, _read_sibling(run, url, None, f"tenant {key.upper()}: its refresh token on the "
                                                                f"{route} route", headers))
                          for url, route in _sibling_urls(run, wallbox)]
        for route, exchange in exchanges:
            run.ledger.judged(case.id)
            if _served_something(route, exchange):
                run.finding(case.id, f"tenant {key.upper()}'s refresh token was accepted as an access token on the "
                                     f"{route} route: answered {exchange.status}", exchange,
                            expected="401 invalid_token", actual=exchange.status, token_variable="$HEMS_REFRESH_TOKEN")
    if not issued:
        run.ledger.not_exercised(case.id, "a token answer with a refresh_token (the password grant may issue one)")


@procedure
def scheme_case(run: LiveRun, case: LiveCase) -> None:
    """The configured token with its scheme written in other cases reads the first configured session."""
    if not run.auth_enabled:
        run.ledger.skip(case.id, "auth.grant = none: the target is configured without auth")
        return
    ref = run.config.tenant.sessions[0]
    scheme, _, token = run.client.tokens["a"].authorization().get("Authorization", "").partition(" ")
    for written in case.params.get("schemes", ["bearer"]):
        exchange = run.read(ref, tenant=None, headers={"Authorization": f"{written} {token}"},
                            note=f"the configured token under the scheme written {written!r}")
        _expect_status(run, case, exchange, [200], f"Authorization: {written} <token>")


def _basic_probe(run: LiveRun, case: LiveCase) -> Any:
    """HTTP Basic with the configured client_id and a wrong secret: the answer if it is an invalid_client refusal
    (401, or the invalid_client error), else None (a 200 is TOK-002's finding, another error says nothing about
    the client's authentication)."""
    if not _token_grant_in_use(run, case):
        return None
    auth = run.config.tenant.auth
    if not auth.client_id:
        run.ledger.not_exercised(case.id, "a client_id in [auth], to authenticate the client with HTTP Basic")
        return None
    form, _ = _credentials(run)
    fields = {k: v for k, v in form.items() if k not in ("client_id", "client_secret")}
    wrong = (auth.client_secret.reveal() if auth.client_secret else "") + "-not-the-secret"
    exchange = _token_post(run, fields, (auth.client_id, wrong), "token request: HTTP Basic with a wrong secret")
    error = exchange.body.get("error") if isinstance(exchange.body, dict) else None
    if exchange.status != 401 and error != "invalid_client":
        return None
    run.ledger.judged(case.id)
    return exchange


@procedure
def token_basic_challenge(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §5.2: HTTP Basic with a wrong secret is 401 invalid_client with a WWW-Authenticate challenge."""
    exchange = _basic_probe(run, case)
    if exchange is None:
        return
    challenge = exchange.headers.get("www-authenticate", "")
    if exchange.status != 401 or not challenge.strip():
        run.finding(case.id, f"invalid_client after HTTP Basic: answered {exchange.status} "
                             f"{'with WWW-Authenticate: ' + challenge if challenge else 'without WWW-Authenticate'}",
                    exchange, expected="401 with a WWW-Authenticate challenge",
                    actual=f"{exchange.status} {challenge or 'no WWW-Authenticate'}")


@procedure
def token_basic_challenge_scheme(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §5.2, read literally: the invalid_client challenge names the scheme the client used, Basic."""
    exchange = _basic_probe(run, case)
    challenge = exchange.headers.get("www-authenticate", "") if exchange is not None else ""
    if exchange is not None and exchange.status == 401 and challenge.strip() and not _BASIC_CHALLENGE.search(challenge):
        run.finding(case.id, f"invalid_client after HTTP Basic challenges with {challenge.split()[0]}, not Basic",
                    exchange, expected="WWW-Authenticate: Basic ...", actual=challenge)


_BASIC_CHALLENGE = re.compile(r"(?i)(?:^|,)\s*basic(?:\s|,|$)")


def _credentials_in_url_allowed(run: LiveRun, case: LiveCase) -> bool:
    """TOK-006 and TOK-007 put the configured credentials in a URL, which gateways and servers log: a check turned
    OFF in [judge.levels] sends nothing (the way to run the suite against production without that exposure)."""
    if run.level_of(case.id) is Level.OFF:
        return False
    return _token_grant_in_use(run, case)


def _query_credentials(run: LiveRun) -> dict[str, str]:
    """The configured token request's grant and credentials as one set of parameters (the client's too)."""
    form, basic = _credentials(run)
    return form | ({"client_id": basic[0], "client_secret": basic[1]} if basic else {})


def _empty_body(run: LiveRun) -> dict[str, Any]:
    """A token request body with no field, in the configured encoding (so a parser reads it and finds nothing)."""
    if run.config.tenant.auth.token_body == "json":
        return {"json": {}}
    return {"data": "", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


@procedure
def token_query_credentials(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §2.3.1: a POST with the grant and credentials in the query string and an empty body gets no token."""
    if not _credentials_in_url_allowed(run, case):
        return
    url = _with_query(run.config.token_url(run.config.tenant), _query_credentials(run))
    exchange = run.client.send("POST", url, tenant=None, note="token request: credentials in the query string",
                               **_empty_body(run))
    run.ledger.judged(case.id)
    if _answer(exchange, "access_token"):
        run.finding(case.id, "a token request with its credentials in the query string got a token", exchange,
                    expected="no token (400 invalid_request, or another refusal)", actual=f"{exchange.status} with a token")


@procedure
def token_get_refused(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §3.2 and RFC 9110 §15.5.6: GET on the token endpoint gets no token, and a 405 carries Allow."""
    if not _credentials_in_url_allowed(run, case):
        return
    url = _with_query(run.config.token_url(run.config.tenant), _query_credentials(run))
    exchange = run.client.send("GET", url, tenant=None, note="token request by GET, credentials in the query")
    run.ledger.judged(case.id)
    if _answer(exchange, "access_token"):
        run.finding(case.id, "a GET token request got a token", exchange, expected="405 with Allow: POST",
                    actual=f"{exchange.status} with a token")
    elif exchange.status == 405 and "post" not in exchange.headers.get("allow", "").lower():
        run.finding(case.id, "405 from the token endpoint without POST in Allow", exchange,
                    expected="Allow: POST", actual=exchange.headers.get("allow"))


# --- tenant isolation beyond the session route (OWASP API1, RFC 6749 §10.3) ---


@procedure
def sibling_isolation(run: LiveRun, case: LiveCase) -> None:
    """The other tenant's token, and each parent swapped, on the list and current routes of a known wallbox."""
    if run.config.discover is None or not any(tenant.wallboxes for _, tenant in run.config.tenants()):
        run.ledger.not_exercised(case.id, "[discover] with [[wallboxes]]: the list and current routes")
        return
    for reader, wallbox, what in _sibling_probes(run):
        for url, route in _sibling_urls(run, wallbox):
            exchange = _read_sibling(run, url, reader, f"{route} route: {what}")
            run.ledger.judged(case.id)
            if _served_something(route, exchange):
                run.finding(case.id, f"the {route} route of wallbox {wallbox.wallbox_id} {what}: answered "
                                     f"{exchange.status} with data", exchange,
                            expected="403 or 404 (or a list with no item)", actual=exchange.status)


def _sibling_probes(run: LiveRun) -> Iterator[tuple[str, WallboxRef, str]]:
    """(reader, wallbox, what): each tenant's first wallbox read by the other tenant, then under a random org, user
    or wallbox id, and under another user of its org."""
    tenants = run.config.tenants()
    namespace = uuid.UUID(int=run.options.seed)
    if len(tenants) == 2 and all(tenant.auth.grant != "none" for _, tenant in tenants):
        for (reader, _), (owner, tenant) in ((tenants[1], tenants[0]), (tenants[0], tenants[1])):
            for wallbox in tenant.wallboxes[:1]:
                yield reader, wallbox, f"read with tenant {reader.upper()}'s token (tenant {owner.upper()}'s wallbox)"
    for key, tenant in tenants:
        for wallbox in tenant.wallboxes[:1]:
            for name in ("org_id", "user_id", "wallbox_id"):
                fake = str(uuid.uuid5(namespace, f"{name}:{wallbox.wallbox_id}"))
                yield key, _replace_parent(wallbox, name, fake), f"under a random {name}"
            user = next((w.user_id for w in tenant.wallboxes if w.org_id == wallbox.org_id
                         and w.user_id != wallbox.user_id), None)
            if user is not None:
                yield key, _replace_parent(wallbox, "user_id", user), "under another user of its org"


def _replace_parent(wallbox: WallboxRef, name: str, value: str) -> WallboxRef:
    return dataclasses.replace(wallbox, **{name: value})


@procedure
def distinct_tenant_tokens(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §10.3: a token is shared only with the client it was issued to, so two clients get two tokens."""
    if run.ledger.records[case.id].total_findings:
        return  # discovery found tenant B's token reading tenant A's data already
    if not run.config.tenant_b:
        run.ledger.not_exercised(case.id, "a [tenant_b] table: a second tenant with its own client")
        return
    fetched = [(key, tenant) for key, tenant in run.config.tenants() if tenant.auth.grant in ("client_credentials", "password")]
    if len(fetched) < 2:
        run.ledger.skip(case.id, "both tenants need tokens from the token endpoint (grant client_credentials or password)")
        return
    exchanges = [_issued(run, key, tenant, "token request, to compare with the other tenant's") for key, tenant in fetched]
    run.ledger.judged(case.id)
    first, second = (_answer(exchange, "access_token") for exchange in exchanges)
    if first is not None and first == second:
        run.finding(case.id, "tenants A and B were issued the same access token", exchanges[1],
                    expected="a token of tenant B's own", actual="tenant A's access token")


@procedure
def token_no_refresh_for_client(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §4.4.3: a client_credentials answer carries no refresh token."""
    clients = [(key, tenant) for key, tenant in run.config.tenants() if tenant.auth.grant == "client_credentials"]
    if not clients:
        run.ledger.not_exercised(case.id, "a tenant whose [auth] grant is client_credentials")
        return
    for key, tenant in clients:
        exchange = _issued(run, key, tenant, "client_credentials token request: a refresh token?")
        run.ledger.judged(case.id)
        if _answer(exchange, "refresh_token"):
            run.finding(case.id, f"tenant {key.upper()}'s client_credentials answer carries a refresh_token", exchange,
                        expected="no refresh_token", actual="a refresh_token")


@procedure
def token_extra_parameters(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §3.2: an unrecognized parameter is ignored, and one sent without a value counts as omitted."""
    if not _token_grant_in_use(run, case):
        return
    form, basic = _credentials(run)
    auth = run.config.tenant.auth
    probes = [(case.params.get("unrecognized", {"hems_conformance_probe": "1"}), "an unrecognized parameter")]
    if auth.token_body == "form" and "scope" not in form and not auth.scope:
        probes.append(({"scope": ""}, "scope sent without a value"))
    for extra, what in probes:
        exchange = _token_post(run, form | extra, basic, f"token request with {what}")
        run.ledger.judged(case.id)
        if not _answer(exchange, "access_token"):
            body = exchange.body if isinstance(exchange.body, dict) else {}
            run.finding(case.id, f"the configured token request with {what} was refused: {exchange.status} "
                                 f"{body.get('error')!r}", exchange, expected="200 with an access_token",
                        actual=f"{exchange.status} {body.get('error')!r}")


@procedure
def refresh_token_binding(run: LiveRun, case: LiveCase) -> None:
    """RFC 6749 §10.4: tenant B's refresh token presented by tenant A's client is refused; then B's own client
    refreshes it, which shows the endpoint refreshes at all (otherwise the check is not exercised)."""
    need = "tenant B's token answer with a refresh_token, tenant A's client_id and secret, and an endpoint that " \
           "refreshes B's token for B"
    if not _token_grant_in_use(run, case) or not run.config.tenant_b:
        run.ledger.not_exercised(case.id, need)
        return
    a, b = run.config.tenant, run.config.tenant_b
    refresh = _answer(_issued(run, "b", b, "token request, for its refresh token"), "refresh_token") \
        if b.auth.grant in ("client_credentials", "password") else None
    if refresh is None or not a.auth.client_id or not a.auth.client_secret:
        run.ledger.not_exercised(case.id, need)
        return
    grant = {"grant_type": "refresh_token", "refresh_token": refresh}
    fields, basic = token_request.credentials(a.auth, a.auth.client_secret.reveal())
    foreign = _token_post(run, grant | fields, basic, "tenant B's refresh token presented by tenant A's client",
                          tenant=b)
    own_fields, own_basic = token_request.credentials(b.auth, b.auth.client_secret.reveal() if b.auth.client_secret
                                                      else None)
    own = _token_post(run, grant | own_fields, own_basic, "tenant B's refresh token presented by its own client",
                      tenant=b)
    if _answer(foreign, "access_token"):
        run.ledger.judged(case.id)
        run.finding(case.id, "tenant B's refresh token got a token for tenant A's client", foreign,
                    expected="400 invalid_grant", actual=f"{foreign.status} with a token")
    elif _answer(own, "access_token"):
        run.ledger.judged(case.id)
    else:
        run.ledger.not_exercised(case.id, need)
