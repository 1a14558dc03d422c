"""The procedures of the live cases: each sends requests through the run and judges their answers.

Every response a procedure provokes is also judged by the response checks (`response_checks.py`).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from conformance.contract import pointers
from conformance.contract.payload import parse_instant
from conformance.errors import TargetError
from conformance.live import token_request
from conformance.live.cases import LiveCase
from conformance.live.target import SessionRef
from conformance.report.redaction import form_encoded

if TYPE_CHECKING:
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
                    expected=" or ".join(map(str, allowed)), actual=exchange.status)


@procedure
def read_every_session(run: LiveRun, case: LiveCase) -> None:
    """Read every configured session with its own tenant's token; the response checks judge each 200."""
    for tenant, config in run.config.tenants():
        for ref in config.sessions:
            exchange = run.read(ref, tenant=tenant, note=f"tenant {tenant.upper()}: configured session")
            _expect_status(run, case, exchange, [200], f"configured {ref.label()}")


@procedure
def unauthenticated(run: LiveRun, case: LiveCase) -> None:
    """Requests with missing, malformed or wrong-scheme credentials (params: headers, a list of header sets)."""
    if not run.auth_enabled:
        run.ledger.skip(case.id, "auth.grant = none: the target is configured without auth")
        return
    for _, ref in _first_sessions(run)[:1]:
        for variant in case.params.get("headers", [{}]):
            exchange = run.read(ref, tenant=None, headers=variant, public=True, note=f"credentials: {variant or 'none'}")
            _expect_status(run, case, exchange, case.params.get("status", [401]), f"credentials {variant or 'none'}")


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
    for tenant, ref in _first_sessions(run):
        for name in ("org_id", "user_id", "wallbox_id"):
            fake = str(uuid.uuid5(namespace, f"{name}:{ref.session_id}"))
            exchange = run.read(ref, tenant=tenant, override={name: fake}, note=f"{name} replaced by a random UUID")
            _expect_not_ok(run, case, exchange, f"{ref.label()} with a random {name}")


def _expect_not_ok(run: LiveRun, case: LiveCase, exchange: Any, what: str) -> None:
    run.ledger.judged(case.id)
    if 200 <= exchange.status < 300:
        run.finding(case.id, f"{what}: answered {exchange.status}, the session leaked", exchange,
                    expected="403 or 404", actual=exchange.status)


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
    for ref, name, value in moves:
        what = "another wallbox of its user" if name == "wallbox_id" else "another user of its org"
        exchange = run.read(ref, override={name: value}, note=f"moved under {what}")
        if 200 <= exchange.status < 300 and not _same_session(run, ref, exchange):
            run.ledger.judged(case.id)  # ids numbered per wallbox: that wallbox's own session of this number
        else:
            _expect_not_ok(run, case, exchange, f"{ref.label()} under {what}")


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
    for reader, owner in (("b", run.config.tenant), ("a", run.config.tenant_b)):
        for ref in owner.sessions[:limit]:
            exchange = run.read(ref, tenant=reader, note=f"tenant {reader.upper()} token on the other tenant's session")
            _expect_status(run, case, exchange, case.params.get("status", [403, 404]), f"{ref.label()} read by tenant {reader.upper()}")


@procedure
def stable_reads(run: LiveRun, case: LiveCase) -> None:
    """Two reads of an ended session are the same document (compared parsed: order of keys, 7 vs 7.0 aside,
    and only in what the spec declares: an undeclared extra such as a served-at stamp may change)."""
    schema = run.contract.response_schema
    for ref in run.config.tenant.sessions[: case.params.get("limit", 5)]:
        first = run.read(ref, note="stability: first read")
        if first.status != 200 or not isinstance(first.body, dict) or _ongoing(first.body):
            continue
        second = run.read(ref, note="stability: second read")
        run.ledger.judged(case.id)
        before, after = declared_only(first.body, schema, schema), declared_only(second.body, schema, schema)
        if after != before:
            pointer = _first_difference(before, after)
            run.finding(case.id, f"two reads of ended {ref.label()} differ at {pointer}", second, pointer=pointer,
                        expected=pointers.resolve(before, pointer), actual=pointers.resolve(after, pointer))


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
    for method in case.params.get("methods", ["POST", "PUT", "PATCH", "DELETE"]):
        st_case = run.operation.Case(method=method, path_parameters=ref.path_parameters)
        exchange = run.send_case(st_case, note=f"undeclared method {method}")
        run.ledger.judged(case.id)
        if exchange.status < 400:
            run.finding(case.id, f"{method} answered {exchange.status}", exchange, expected="405 (or another 4xx)",
                        actual=exchange.status)


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
        run.ledger.skip(case.id, "the token answer has no access_token with a numeric expires_in")
        return
    if lifetime > budget:
        run.ledger.skip(case.id, f"tokens live {lifetime:g} s, longer than auth.max_token_wait_s = {budget:g} s; "
                                 "raise it, or run against a deployment with short-lived tokens")
        return
    time.sleep(lifetime + case.params.get("grace_s", 1.5))
    exchange = run.read(run.config.tenant.sessions[0], tenant=None, headers={"Authorization": f"Bearer {token}"},
                        note=f"token used {lifetime:g} s after issue, past its expires_in")
    _expect_status(run, case, exchange, [401], "expired token")


# --- the token endpoint (RFC 6749) ---


def _token_post(run: LiveRun, fields: dict[str, str], basic: tuple[str, str] | None, note: str) -> Any:
    import requests.auth

    if basic:  # a probe's secret (TOK-002's wrong one) is masked like the configured ones, in every encoding
        run.redactor.add_basic(*basic)
    for key in ("client_secret", "password"):
        run.redactor.add(fields.get(key, ""))
    auth = requests.auth.HTTPBasicAuth(*form_encoded(*basic)) if basic else None  # as the token source sends it
    return run.client.send("POST", run.config.token_url(run.config.tenant), tenant=None, auth=auth, note=note,
                           **token_request.encoded(run.config.tenant.auth, fields))


def _credentials(run: LiveRun, wrong_secret: bool = False) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The configured token request's fields and HTTP Basic pair (a wrong secret or password if asked)."""
    auth = run.config.tenant.auth
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
    run.finding(case.id, f"{what}: answered {exchange.status} {body.get('error')!r} ({reading})", exchange,
                expected=statuses + (f" with error {' or '.join(errors)}" if errors else ""),
                actual=f"{exchange.status} {body.get('error')!r}")


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
