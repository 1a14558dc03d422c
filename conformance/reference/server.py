"""`hems-conformance serve`: the reference deployment of the HEMS session endpoint, with fault injection.

A Starlette app over the deterministic fleet of `dataset.py`, served by uvicorn. It answers the way the
contract reads (see docs/reference-deployment.md): OAuth 2.0 tokens bound to a tenant, 401 with a Bearer
challenge, Django Ninja style 422 and 404 bodies, tenant isolation and path-parent checks. Every way it
can be made wrong is a named fault of `faults.py`, consulted where the behaviour bends.

`start_in_thread` runs it on a loopback port inside the calling process (tests, `run` without a config);
`serve` is the command: its own socket (so a taken port is a one-line error), its own signal handling
(SIGINT and SIGTERM stop it cleanly with exit 0).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import tomli_w
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.errors import UsageError
from conformance.reference import siblings
from conformance.reference.dataset import DEFAULT_SESSIONS, Fleet, StoredSession, build_fleet, load_fleet
from conformance.reference.faults import Faults
from conformance.reference.oauth import Credentials, OAuthError, TokenIssuer, form_fields, json_fields, make_credentials
from conformance.reference.variants import PODERO_TOKEN_TTL_S, RATE_LIMIT_EVERY, SHORT_TOKEN_TTL_S, Variants

TOKEN_PATH = "/api/partners/v2.0/auth/token"
PODERO_TOKEN_PATH = "/oauth2/token/"  # Podero's developer guide: HTTP Basic, a JSON body
LIST_PATH = "/api/partners/v2.0/org/{org_id}/users/{user_id}/wallboxes/{wallbox_id}/hems-sessions"
CURRENT_PATH = LIST_PATH + "/current"
SESSION_PATH = LIST_PATH + "/{session_id}"
PODERO_SCOPE = "read write"
DEFAULT_TOKEN_TTL_S = 3600.0
# `run` without --config: tokens short enough that AUTH-005 (a token used past its expires_in is refused) is
# exercised within [auth] max_token_wait_s, and that the client's refresh runs in every newcomer's first run
BUNDLED_TOKEN_TTL_S = 3.0
EXPIRING_TOKEN_TTL_S = 2.0  # the lifetime under the expired-token-accepted fault
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
REALM = "hems-reference"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_UUID = re.compile(r"(?:urn:uuid:)?(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
                   re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1
_ANY_TENANT = ""  # the caller when auth-not-enforced serves a request without credentials
_TOKEN_PARAMETERS = ("grant_type", "client_id", "client_secret", "username", "password", "scope", "refresh_token")


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class _Invalid(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid path parameters")
        self.errors = errors


def _session_id(raw: str) -> int:
    """An int64 from the path, as pydantic reads it ('007' is 7); _Invalid in Django Ninja's words if not."""
    loc = ["path", "session_id"]
    if not _INTEGER.fullmatch(raw):
        raise _Invalid([{"type": "int_parsing", "loc": loc,
                         "msg": "Input should be a valid integer, unable to parse string as an integer"}])
    value = int(raw) if len(raw.lstrip("+-0")) <= 19 else None  # longer cannot be an int64
    if value is None or value > INT64_MAX:
        raise _Invalid([{"type": "less_than_equal", "loc": loc, "ctx": {"le": INT64_MAX},
                         "msg": f"Input should be less than or equal to {INT64_MAX}"}])
    if value < INT64_MIN:
        raise _Invalid([{"type": "greater_than_equal", "loc": loc, "ctx": {"ge": INT64_MIN},
                         "msg": f"Input should be greater than or equal to {INT64_MIN}"}])
    return value


def _parsed_session_id(raw: str) -> int | None:
    try:
        return _session_id(raw)
    except _Invalid:
        return None


def _parents(params: dict[str, str], errors: list[dict[str, Any]]) -> list[uuid.UUID]:
    """org_id, user_id and wallbox_id from the path; each malformed one is added to `errors`."""
    ids = []
    for name in ("org_id", "user_id", "wallbox_id"):
        if _UUID.fullmatch(params[name]):
            ids.append(uuid.UUID(params[name]))
        else:
            errors.append({"type": "uuid_parsing", "loc": ["path", name], "msg": "Input should be a valid UUID"})
    return ids


def parse_parents(params: dict[str, str]) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The wallbox's three path parameters, or _Invalid listing every malformed one (422)."""
    errors: list[dict[str, Any]] = []
    ids = _parents(params, errors)
    if errors:
        raise _Invalid(errors)
    return ids[0], ids[1], ids[2]


def parse_path(params: dict[str, str]) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, int]:
    """The four path parameters, or _Invalid listing every malformed one (422)."""
    errors: list[dict[str, Any]] = []
    ids = _parents(params, errors)
    try:
        session_id = _session_id(params["session_id"])
    except _Invalid as exc:
        errors.extend(exc.errors)
    if errors:
        raise _Invalid(errors)
    return ids[0], ids[1], ids[2], session_id


class Deployment:
    """The reference deployment: a fleet, the tenants' credentials, the tokens issued, the active faults."""

    def __init__(self, fleet: Fleet, faults: Faults | None = None, *, token_ttl_s: float = DEFAULT_TOKEN_TTL_S,
                 credentials: dict[str, Credentials] | None = None, clock: Callable[[], float] = time.monotonic,
                 log: Callable[[str], None] | None = None, variants: Variants | None = None) -> None:
        self.faults = faults or Faults()
        self.variants = variants or Variants()
        self.fleet = self.faults.apply_to(fleet)
        self.credentials = credentials or make_credentials((t.key, t.client_id, t.username) for t in fleet.tenants)
        self.podero = self.variants.on("podero-token")
        self.serves_siblings = self.podero or self.faults.siblings
        if self.podero:
            token_ttl_s = PODERO_TOKEN_TTL_S
        if self.variants.on("short-lived-tokens"):
            token_ttl_s = min(token_ttl_s, SHORT_TOKEN_TTL_S)
        if self.faults.on("expired-token-accepted"):  # expiry is only observable on tokens that expire soon
            token_ttl_s = min(token_ttl_s, EXPIRING_TOKEN_TTL_S)
        self.issuer = TokenIssuer(self.credentials, token_ttl_s, clock)
        self._stored = {s.session_id: s for s in self.fleet.sessions}
        self._bodies = {s.session_id: _encode(self.variants.transform(s.payload)) for s in self.fleet.sessions}
        self._reads: Counter[int] = Counter()
        self._requests = itertools.count()
        self._shared_token: tuple[str, int] | None = None  # shared-token-across-tenants
        routes = [Route(TOKEN_PATH, self.token, methods=METHODS)]
        if self.podero:  # Django's routing: the slashless path is APPEND_SLASH's redirect, never the token view
            routes += [Route(PODERO_TOKEN_PATH, self.podero_token, methods=METHODS),
                       Route(PODERO_TOKEN_PATH.rstrip("/"), _append_slash, methods=METHODS)]
        if self.serves_siblings:  # before the session route: `current` is a route, not a session id
            routes += [Route(LIST_PATH, self.list_sessions, methods=["GET", "HEAD"]),
                       Route(CURRENT_PATH, self.current_session, methods=["GET", "HEAD"])]
        routes.append(Route(SESSION_PATH, self.session, methods=METHODS))
        app = Starlette(
            routes=routes,
            exception_handlers={HTTPException: self._http_exception, Exception: self._crash},
        )
        if self.podero:  # Django matches paths exactly: no redirect to the path with or without a slash but one
            app.router.redirect_slashes = False
        self.app: ASGIApp = app if log is None else AccessLog(app, log)

    # --- responses ---

    def _json(self, body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
        if status >= 400 and self.faults.on("stack-trace-in-errors"):
            body = dict(body, traceback=_traceback(status))
        return JSONResponse(body, status, headers)

    def _error(self, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
        return self._json({"detail": detail}, status, headers)

    def _unauthorized(self, error: str | None = None, description: str = "", status: int = 401) -> Response:
        challenge = f'Bearer realm="{REALM}"'
        if error and not (error == "invalid_token" and self.faults.on("challenge-without-error")):
            challenge += f', error="{error}", error_description="{description}"'
        headers = {} if self.faults.on("missing-www-authenticate") else {"WWW-Authenticate": challenge}
        return self._error(status, "Unauthorized" if status == 401 else "Bad Request", headers)

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # a method outside METHODS: name the ones this path really answers
            headers["Allow"] = "POST" if request.url.path in (TOKEN_PATH, PODERO_TOKEN_PATH) else "GET, HEAD"
        return self._error(exc.status_code, exc.detail, headers)

    async def _crash(self, request: Request, exc: Exception) -> Response:
        return self._error(500, "Internal Server Error")

    # --- the token endpoint (RFC 6749) ---

    async def token(self, request: Request) -> Response:
        """The spec's tokenUrl: an RFC 6749 form; under podero-token, Django Ninja reading a JSON TokenInput."""
        return await self._token(request, basic_only=False)

    async def podero_token(self, request: Request) -> Response:
        """Podero's /oauth2/token/: a JSON token backend, the client authenticated by HTTP Basic only."""
        return await self._token(request, basic_only=True)

    async def _token(self, request: Request, *, basic_only: bool) -> Response:
        reads_query = self.faults.on("token-get-allowed") if request.method == "GET" else \
            self.faults.on("token-query-credentials")
        if request.method != "POST" and not (request.method == "GET" and reads_query):
            return self._error(405, "Method Not Allowed", {"Allow": "POST"})
        if self.faults.on("token-endpoint-500"):
            return self._error(500, "Internal Server Error")
        body, content_type = await request.body(), request.headers.get("content-type", "")
        try:
            if self.podero:
                fields = json_fields(body, content_type)
                if fields is None and not basic_only:
                    return self._error(400, "Cannot parse request body")
                fields = fields or {}  # a JSON backend reads a form as no fields at all
            elif request.method == "GET":
                fields = {}
            else:
                fields = form_fields(body, content_type)
            if reads_query:
                fields = dict(request.query_params) | fields
            if self.faults.on("token-strict-parameters") and any(
                    key not in _TOKEN_PARAMETERS or not value for key, value in fields.items()):
                raise OAuthError("invalid_request", "unrecognized or empty parameter")
            tenant = self.issuer.tenant_for(fields, request.headers.get("authorization", ""), basic_only,
                                            bind_refresh=not self.faults.on("refresh-token-unbound"))
        except OAuthError as exc:
            if self.faults.on("token-errors-not-rfc"):
                return self._error(403, exc.description)
            scheme = "Bearer" if self.faults.on("invalid-client-bearer-challenge") else "Basic"
            challenge = {"WWW-Authenticate": f'{scheme} realm="{REALM}"'} \
                if exc.status == 401 and not self.faults.on("invalid-client-without-challenge") else {}
            return self._json({"error": exc.error, "error_description": exc.description}, exc.status,
                              NO_STORE | challenge)
        if self.faults.on("shared-token-across-tenants"):  # the first token issued, whoever asks
            self._shared_token = self._shared_token or self.issuer.issue(tenant)
            token, expires_in = self._shared_token
        else:
            token, expires_in = self.issuer.issue(tenant)
        # RFC 6749 §4.3.3: the password grant may issue a refresh token (§4.4.3: client credentials should not)
        refreshing = ("password", "client_credentials") if self.faults.on("refresh-token-for-client-credentials") \
            else ("password",)
        refresh = {"refresh_token": self.issuer.refresh_token(tenant)} if fields.get("grant_type") in refreshing else {}
        headers = {} if self.faults.on("token-cacheable") else NO_STORE
        token_type = "mac" if self.faults.on("token-type-not-bearer") else "Bearer"
        answer = {"access_token": token, "token_type": token_type, "expires_in": expires_in} | refresh
        return JSONResponse(answer | ({"scope": PODERO_SCOPE} if self.podero else {}), 200, headers)

    # --- the session endpoint ---

    def _caller(self, request: Request) -> str | Response:
        """The tenant whose token the request carries, or the 401 to answer."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = scheme == "Bearer" if self.faults.on("scheme-case-sensitive") else scheme.lower() == "bearer"
        if not bearer:  # RFC 9110 §11.1: the scheme is a case-insensitive token
            return _ANY_TENANT if self.faults.on("auth-not-enforced") else self._unauthorized()
        token = token.strip()
        if self.variants.on("malformed-token-400") and not _B64TOKEN.fullmatch(token):
            return self._unauthorized("invalid_request", "The access token is malformed", 400)
        found = self.issuer.lookup(token)
        if found is None and self.faults.on("refresh-token-accepted"):
            found = self.issuer.lookup_refresh(token)
        if found is None:
            if token and self.faults.on("any-token-accepted"):
                return self.fleet.tenants[0].key
            return self._unauthorized("invalid_token", "The access token is malformed or unknown")
        tenant, expired = found
        if expired and not self.faults.on("expired-token-accepted"):
            return self._unauthorized("invalid_token", "The access token expired")
        return tenant

    def _find(self, tenant: str, org: uuid.UUID, user: uuid.UUID, wallbox: uuid.UUID,
              session_id: int) -> StoredSession | None:
        stored = self._stored.get(session_id)
        if stored is None or stored.org_id != org:
            return None
        if tenant not in (_ANY_TENANT, stored.tenant) and not self.faults.on("cross-tenant-read"):
            return None
        user_matches = stored.user_id == user or self.faults.on("user-not-checked")
        if not (user_matches and stored.wallbox_id == wallbox) and not self.faults.on("path-parents-unchecked"):
            return None
        return stored

    async def session(self, request: Request) -> Response:
        response = self._session(request)
        if response.status_code >= 400 and self.faults.on("html-error-pages"):
            kept = {k: v for k, v in response.headers.items() if k in ("www-authenticate", "allow")}
            return HTMLResponse(f"<html><body><h1>Error {response.status_code}</h1></body></html>",
                                response.status_code, kept)
        return response

    def _session(self, request: Request) -> Response:
        number = next(self._requests)
        if request.method not in ("GET", "HEAD") and not self.faults.on("other-methods-allowed"):
            return self._error(405, "Method Not Allowed", {} if self.faults.on("405-without-allow") else {"Allow": "GET, HEAD"})
        if self.faults.on("intermittent-500") and number % 4 == 3:
            return self._error(500, "Internal Server Error")
        if self.variants.on("rate-limited") and number % RATE_LIMIT_EVERY == RATE_LIMIT_EVERY - 1:
            return self._error(429, "Too Many Requests", {"Retry-After": "1"})
        caller = self._caller(request)
        if isinstance(caller, Response):
            return caller
        try:
            org, user, wallbox, session_id = parse_path(request.path_params)
        except _Invalid as exc:
            if self.faults.on("server-error-on-malformed-input"):
                return self._error(500, "Internal Server Error")
            if self.faults.on("malformed-ids-served"):
                return self._json({"session": None, "decisions": [], "commands": []}, 200)
            parsed = _parsed_session_id(request.path_params["session_id"])
            stored = None if parsed is None else self._stored.get(parsed)
            if self.faults.on("malformed-parents-served") and stored is not None and caller in (_ANY_TENANT, stored.tenant):
                return Response(self._bodies[stored.session_id], 200, {"Cache-Control": "no-store"}, "application/json")
            return self._json({"detail": exc.errors}, 422)
        stored = self._find(caller, org, user, wallbox, session_id)
        if stored is None:
            if session_id not in self._stored and self.faults.on("unknown-session-500"):
                return self._error(500, "Internal Server Error")
            fallback = next((s for s in self._stored.values() if (s.org_id, s.user_id, s.wallbox_id) == (org, user, wallbox)
                             and caller in (_ANY_TENANT, s.tenant)), None)
            if session_id not in self._stored and fallback and self.faults.on("unknown-session-served"):
                return Response(self._bodies[fallback.session_id], 200, {"Cache-Control": "no-store"}, "application/json")
            if self.variants.on("forbidden-not-found") or (
                    self.variants.on("forbidden-across-tenants") and self._foreign(caller, session_id)):
                return self._error(403, "Forbidden")
            owner = self._stored.get(session_id)
            if owner is not None and self.faults.on("ids-in-errors"):
                return self._error(404, f"session {session_id} belongs to org {owner.org_id}, user {owner.user_id}, "
                                        f"wallbox {owner.wallbox_id}")
            return self._error(404, "Not Found")
        body = self._bodies[session_id]
        if self.faults.on("unstable-reads") and stored.payload["session"]["ended_at"] is not None:
            body = self._drifted(stored)
        if self.variants.on("served-at-stamp"):
            body = _encode(json.loads(body) | {"x_served_at": datetime.now(UTC).isoformat(timespec="microseconds")})
        media_type = "text/html; charset=utf-8" if self.faults.on("wrong-content-type") else "application/json"
        cache = "public, max-age=600" if self.faults.on("shared-cacheable-sessions") else "no-store"
        return Response(body, 200, {"Cache-Control": cache}, media_type)

    def _foreign(self, caller: str, session_id: int) -> bool:
        """The session exists but belongs to another tenant (forbidden-across-tenants answers 403 for it)."""
        stored = self._stored.get(session_id)
        return stored is not None and caller not in (_ANY_TENANT, stored.tenant)

    def _drifted(self, stored: StoredSession) -> bytes:
        """unstable-reads: energy and savings back-filled a little more on every read."""
        self._reads[stored.session_id] += 1
        reads = self._reads[stored.session_id]
        payload = json.loads(self._bodies[stored.session_id])
        session = payload["session"]
        if isinstance(session.get("energy_from_solar_kwh"), (int, float)):
            session["energy_from_solar_kwh"] = round(session["energy_from_solar_kwh"] + 0.001 * reads, 3)
        if isinstance(session.get("savings_eur"), (int, float)):
            session["savings_eur"] = round(session["savings_eur"] + 0.01 * reads, 2)
        return _encode(payload)

    # --- the sibling routes (spec/siblings.yaml) ---

    def _wallbox_sessions(self, request: Request) -> list[StoredSession] | Response:
        """The caller's sessions of the wallbox the path names (lookups as the session endpoint's), or the
        answer to give: 401, 422 for a malformed id, 404 for a wallbox the caller does not have."""
        caller = self._caller(request)
        if isinstance(caller, Response):
            return caller
        try:
            org, user, wallbox = parse_parents(request.path_params)
            if self.faults.on("sibling-routes-cross-tenant"):  # the wallbox found by its own id, for anyone
                return [s for s in self.fleet.sessions if s.wallbox_id == wallbox]
        except _Invalid as exc:
            return self._json({"detail": exc.errors}, 422)
        if not any(self._owns(caller, tenant, org, user, wallbox) for tenant in self.fleet.tenants):
            return self._error(404, "Not Found")
        return [s for s in self.fleet.sessions if self._find(caller, org, user, wallbox, s.session_id) is s]

    def _owns(self, caller: str, tenant: Any, org: uuid.UUID, user: uuid.UUID, wallbox: uuid.UUID) -> bool:
        return caller in (_ANY_TENANT, tenant.key) and tenant.org_id == org and any(
            u.id == user and any(w.id == wallbox for w in u.wallboxes) for u in tenant.users)

    def _served(self, session_id: int) -> dict[str, Any]:
        return json.loads(self._bodies[session_id])

    async def list_sessions(self, request: Request) -> Response:
        sessions = self._wallbox_sessions(request)
        if isinstance(sessions, Response):
            return sessions
        try:
            first, last, limit, offset = siblings.parse_window(request.query_params,
                                                               ranges=not self.faults.on("list-paging-unchecked"))
        except siblings.QueryError as exc:
            return self._json({"detail": exc.errors}, 422)
        first -= timedelta(days=self.faults.on("list-includes-day-before"))
        last -= timedelta(days=self.faults.on("list-to-exclusive"))
        chosen = siblings.in_window(sessions, first, last)
        items = [self._list_item(s) for s in chosen[offset:offset + limit]]
        total = len(items) if self.faults.on("list-total-page-length") else len(chosen)
        return self._json({"total": total, "items": items}, 200)

    def _list_item(self, stored: StoredSession) -> dict[str, Any]:
        item = self._served(stored.session_id)["session"]
        if self.faults.on("list-detail-mismatch") and item.get("ended_at") is not None \
                and isinstance(item.get("savings_eur"), (int, float)):
            item["savings_eur"] = round(item["savings_eur"] + 0.5, 2)
        return item

    async def current_session(self, request: Request) -> Response:
        sessions = self._wallbox_sessions(request)
        if isinstance(sessions, Response):
            return sessions
        stored = siblings.running(sessions)
        if stored is None:
            return self._error(404, "Not Found")
        running = self._served(stored.session_id)
        if self.faults.on("current-rolled-up"):
            running["session"]["outcome"] = "no_surplus"
        return self._json({"session": running}, 200)

    # --- the target configuration `hems-conformance run` reads ---

    def target_config(self, base_url: str) -> dict[str, Any]:
        """Base URL, credentials and every session of the first two tenants, in issue 4's TOML shape.

        Tenant A authenticates with client credentials, tenant B with the password grant, so a run
        exercises both flows of the token endpoint. Under podero-token, tenant A uses the absolute
        URL of /oauth2/token/ (as Podero's guide writes it, trailing slash included) and
        tenant B the spec's tokenUrl as a public client (no client_id), both with JSON bodies. A deployment
        serving the sibling routes also lists every wallbox and a [discover] window covering its sessions.
        """
        first, second = (self.credentials[t.key] for t in self.fleet.tenants[:2])
        body = {"token_body": "json"} if self.podero else {}

        def tenant(creds: Credentials, auth: dict[str, Any]) -> dict[str, Any]:
            table = {"auth": auth | body, "sessions": [s.coordinates() for s in self.fleet.sessions_of(creds.tenant)]}
            if self.serves_siblings:
                org = self.fleet.tenant(creds.tenant)
                table["wallboxes"] = [{"org_id": str(org.org_id), "user_id": str(u.id), "wallbox_id": str(w.id)}
                                      for u in org.users for w in u.wallboxes]
            return table

        client = {"client_id": first.client_id, "client_secret": first.client_secret}
        owner = {"username": second.username, "password": second.password}
        config = {"base_url": base_url} | tenant(first, {"grant": "client_credentials", "token_url": (
            base_url + PODERO_TOKEN_PATH if self.podero else TOKEN_PATH)} | client)  # absolute, as Podero's guide
        if self.fleet.sessions_of(second.tenant):  # a file of payloads may hold tenant A's only
            config["tenant_b"] = tenant(second, {"grant": "password", "token_url": TOKEN_PATH} | owner | (
                {} if self.podero else {"client_id": second.client_id, "client_secret": second.client_secret}))
        if self.serves_siblings:
            first_day, last_day = siblings.days(self.fleet.sessions)
            config["discover"] = {"from": first_day.isoformat(), "to": last_day.isoformat()}
        return config


async def _append_slash(request: Request) -> Response:
    """Django's CommonMiddleware with APPEND_SLASH (DEBUG off) on a path whose slashed form is a route: a 301
    to it, whatever the method. A client that follows it sends a GET without the body: no token either way."""
    slashed = request.url.path + "/" + (f"?{request.url.query}" if request.url.query else "")
    return Response(b"", 301, {"Location": slashed}, "text/html; charset=utf-8")


def _traceback(status: int) -> str:
    """stack-trace-in-errors: a genuine traceback of this process, as a debug error page would leak it."""
    try:
        raise LookupError(f"HEMSSession lookup failed with {status}")
    except LookupError:
        return traceback.format_exc()


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _loggable(target: str) -> str:
    """A request target for one log line: a space, a control character (a decoded %0A) or any other character
    that is not printable is percent-encoded, so no path can end the line or forge another one."""
    return "".join(c if c.isprintable() and c != " " else "".join(f"%{b:02X}" for b in c.encode("utf-8", "replace"))
                   for c in target)


class AccessLog:
    """One line per request: method, path (never the query string), status, milliseconds, and the client's
    X-Request-ID when it sent a plain one (a UUID, say; anything else is left out, never logged raw)."""

    def __init__(self, app: ASGIApp, log: Callable[[str], None]) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            line = (f"{_loggable(scope['method'])} {_loggable(scope['path'])} {status} "
                    f"{(time.perf_counter() - started) * 1000:.1f}ms")
            request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            self.log(f"{line} request_id={request_id}" if _REQUEST_ID.fullmatch(request_id) else line)


# --- running it ---


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (0: a free port); a taken port is a one-line UsageError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UsageError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use") from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn, but a signal only asks it to stop: no re-raise after the graceful shutdown (exit 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: Any) -> None:
            self.force_exit = self.should_exit  # a second signal stops without waiting for connections
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _server(deployment: Deployment) -> _Server:
    config = uvicorn.Config(deployment.app, log_config=None, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=5, server_header=False)
    return _Server(config)


@contextlib.contextmanager
def start_in_thread(deployment: Deployment, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `deployment` from a background thread; yields the base URL and stops cleanly on exit."""
    sock = bind(host, port)
    server = _server(deployment)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hems-reference", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the reference deployment did not start")
        time.sleep(0.005)
    try:
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def write_target_config(path: str, config: dict[str, Any]) -> None:
    """The target configuration as TOML, readable by its owner only (it holds this start's secrets)."""
    header = ("# Target configuration of a running `hems-conformance serve`; its secrets are valid for that\n"
              "# process only. Use: hems-conformance run --config THIS_FILE\n")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through open(): set it on every write
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(header + tomli_w.dumps(config))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def serve(*, host: str = "127.0.0.1", port: int = 8000, seed: int = 0, sessions: int | str = DEFAULT_SESSIONS,
          faults: Sequence[str] = (), token_ttl_s: float = DEFAULT_TOKEN_TTL_S, write_config: str | None = None,
          quiet: bool = False, variants: Sequence[str] = ()) -> int:
    """The `serve` command: run until SIGINT or SIGTERM, then exit 0. `sessions` is a count per tenant, or a
    file of the partner's own payloads (dataset.load_fleet)."""
    if isinstance(sessions, int) and sessions < 1:
        raise UsageError(f"--sessions must be at least 1, got {sessions}")
    if token_ttl_s <= 0:
        raise UsageError(f"--token-ttl must be positive, got {token_ttl_s:g}")
    active = Faults(faults)
    fleet = load_fleet(sessions) if isinstance(sessions, str) else build_fleet(seed, sessions)
    deployment = Deployment(fleet, active, token_ttl_s=token_ttl_s,
                            log=None if quiet else _log_line, variants=Variants(variants))
    sock = bind(host, port)
    url = base_url(sock)
    if write_config:
        write_target_config(write_config, deployment.target_config(url))
    fleet = deployment.fleet
    origin = f"from {sessions}" if isinstance(sessions, str) else f"seed {seed}"
    print(f"hems-conformance serve: {url} ({len(fleet.tenants)} tenants, {len(fleet.sessions)} sessions, "
          f"{origin}, faults: {', '.join(active.names) or 'none'}, "
          f"variants: {', '.join(deployment.variants.names) or 'none'})"
          + (f"; target config in {write_config}" if write_config else ""), flush=True)
    try:
        _server(deployment).run(sockets=[sock])
    finally:
        sock.close()
    print("hems-conformance serve: stopped", flush=True)
    return 0


def _log_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
