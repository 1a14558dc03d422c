"""The HEMS routes of the Django target, answering as a Django Ninja app does (JSON errors, 401 with a Bearer
challenge, 422 naming each malformed path or query parameter), from the reference deployment's data. Tokens are
django-oauth-toolkit's, checked by its own validator; a token's tenant is its application's name."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider.oauth2_backends import get_oauthlib_core

from conformance.reference import siblings
from conformance.reference.dataset import Fleet, StoredSession
from conformance.reference.server import _Invalid, parse_parents, parse_path

_SERVED: dict[str, Fleet] = {}
READ = ("GET", "HEAD")


def serve(fleet: Fleet) -> None:
    _SERVED["fleet"] = fleet


def _json(body: Any, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _json({"detail": "Not Found"}, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _json({"detail": "Internal Server Error"}, 500)


def _caller(request: HttpRequest) -> str | HttpResponse:
    """The tenant of a valid DOT access token, or Django Ninja's 401 with an RFC 6750 challenge."""
    valid, oauth = get_oauthlib_core().verify_request(request, scopes=[])
    if valid:
        return oauth.access_token.application.name
    given = request.headers.get("Authorization", "").lower().startswith("bearer ")
    challenge = 'Bearer realm="django-target"' + (', error="invalid_token"' if given else "")
    return _json({"detail": "Unauthorized"}, 401, WWW_Authenticate=challenge)


def _method(request: HttpRequest) -> HttpResponse | None:
    return None if request.method in READ else _json({"detail": "Method not allowed"}, 405, Allow="GET, HEAD")


def _wallbox(request: HttpRequest, org_id: str, user_id: str, wallbox_id: str) -> list[StoredSession] | HttpResponse:
    """The caller's sessions of the wallbox, or the answer to give (405, 401, 422, 404)."""
    refused = _method(request) or _caller(request)
    if isinstance(refused, HttpResponse):
        return refused
    try:
        org, user, wallbox = parse_parents({"org_id": org_id, "user_id": user_id, "wallbox_id": wallbox_id})
    except _Invalid as exc:
        return _json({"detail": exc.errors}, 422)
    fleet = _SERVED["fleet"]
    tenant = fleet.tenant(refused)
    if tenant.org_id != org or not any(u.id == user and any(w.id == wallbox for w in u.wallboxes) for u in tenant.users):
        return not_found(request)
    return [s for s in fleet.sessions_of(tenant.key) if (s.user_id, s.wallbox_id) == (user, wallbox)]


def list_sessions(request: HttpRequest, org_id: str, user_id: str, wallbox_id: str) -> HttpResponse:
    sessions = _wallbox(request, org_id, user_id, wallbox_id)
    if isinstance(sessions, HttpResponse):
        return sessions
    try:
        first, last, limit, offset = siblings.parse_window(request.GET)
    except siblings.QueryError as exc:
        return _json({"detail": exc.errors}, 422)
    chosen = siblings.in_window(sessions, first, last)
    return _json({"total": len(chosen), "items": [s.payload["session"] for s in chosen[offset:offset + limit]]})


def current_session(request: HttpRequest, org_id: str, user_id: str, wallbox_id: str) -> HttpResponse:
    sessions = _wallbox(request, org_id, user_id, wallbox_id)
    if isinstance(sessions, HttpResponse):
        return sessions
    running = siblings.running(sessions)
    return not_found(request) if running is None else _json({"session": running.payload})


def session(request: HttpRequest, org_id: str, user_id: str, wallbox_id: str, session_id: str) -> HttpResponse:
    refused = _method(request) or _caller(request)
    if isinstance(refused, HttpResponse):
        return refused
    try:
        org, user, wallbox, number = parse_path({"org_id": org_id, "user_id": user_id, "wallbox_id": wallbox_id,
                                                 "session_id": session_id})
    except _Invalid as exc:
        return _json({"detail": exc.errors}, 422)
    stored = next((s for s in _SERVED["fleet"].sessions_of(refused) if s.session_id == number), None)
    if stored is None or (stored.org_id, stored.user_id, stored.wallbox_id) != (org, user, wallbox):
        return not_found(request)
    response = _json(stored.payload)
    response["Cache-Control"] = "no-store"
    return response
