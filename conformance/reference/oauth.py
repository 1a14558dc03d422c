"""The reference deployment's OAuth 2.0 side: tenant credentials, the token request (RFC 6749) and tokens.

Kept apart from the HTTP app so the rules of RFC 6749 §2.3.1 (client authentication), §4.3 (password
grant), §4.4 (client credentials) and §5.2 (error responses) read in one place. Secrets are random per
start unless given, compared in constant time, and never part of any repr or message.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_plus

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
GRANTS = ("client_credentials", "password", "refresh_token")


@dataclass(frozen=True)
class Credentials:
    """What one tenant authenticates with: an OAuth client and an operator login (password grant)."""

    tenant: str
    client_id: str
    client_secret: str = field(repr=False)
    username: str
    password: str = field(repr=False)


def make_credentials(logins: Iterable[tuple[str, str, str]],
                     given: Mapping[str, tuple[str, str]] | None = None) -> dict[str, Credentials]:
    """Credentials per (tenant, client_id, username); secret and password random per start unless given."""
    made = {}
    for tenant, client_id, username in logins:
        secret, password = (given or {}).get(tenant) or (secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        made[tenant] = Credentials(tenant, client_id, secret, username, password)
    return made


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: the error code, a description safe to show, and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def json_fields(body: bytes, content_type: str) -> dict[str, str] | None:
    """The token request of a JSON token backend: one JSON object (null values left out); None for a body that
    is not JSON (such a backend reads a form as no fields at all)."""
    if _media_type(content_type) != JSON:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    if any(not isinstance(v, str) for v in document.values() if v is not None):
        raise OAuthError("invalid_request", "every parameter of the token request is a string")
    return {k: v for k, v in document.items() if v is not None}


def form_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The token request as RFC 6749 writes it: application/x-www-form-urlencoded."""
    if _media_type(content_type) != FORM:
        raise OAuthError("invalid_request", f"the token request must be {FORM} (RFC 6749 §4.4.2)")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the request body is not a valid form encoding") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"parameter {key} is repeated (RFC 6749 §3.2)")
        form[key] = value
    return form


def _basic(authorization: str) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header (RFC 6749 §2.3.1: form-urlencoded, then Base64)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        colon = ""
    if not colon:
        raise OAuthError("invalid_client", "malformed HTTP Basic credentials", 401)
    return unquote_plus(client_id), unquote_plus(secret)


class TokenIssuer:
    """Checks token requests against the tenants' credentials and keeps the tokens it issued."""

    def __init__(self, credentials: Mapping[str, Credentials], ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.credentials, self.ttl_s, self.clock = dict(credentials), ttl_s, clock
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (tenant, expiry on `clock`)
        self._refresh: dict[str, str] = {}  # refresh token -> tenant (never an access token)

    def _client(self, client_id: str | None, secret: str | None) -> Credentials:
        for creds in self.credentials.values():
            if client_id is not None and secret is not None and _same(client_id, creds.client_id) \
                    and _same(secret, creds.client_secret):
                return creds
        raise OAuthError("invalid_client", "client authentication failed", 401)

    def tenant_for(self, form: dict[str, str], authorization: str, basic_only: bool = False,
                   bind_refresh: bool = True) -> str:
        """The tenant a valid token request (its fields, its Authorization header) authenticates, or OAuthError.
        `basic_only`: the client authenticates with HTTP Basic or not at all, never in the body. `bind_refresh`:
        a refresh token is honoured only for the client it was issued to (RFC 6749 §10.4)."""
        basic = _basic(authorization)
        if basic_only and ("client_id" in form or "client_secret" in form):
            raise OAuthError("invalid_request", "authenticate the client with HTTP Basic, not in the body")
        if basic and ("client_secret" in form or ("client_id" in form and form["client_id"] != basic[0])):
            raise OAuthError("invalid_request", "use one client authentication method, not two (RFC 6749 §2.3)")
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant_type is missing")
        if grant not in GRANTS:
            raise OAuthError("unsupported_grant_type", f"supported grant types: {', '.join(GRANTS)}")
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if grant == "client_credentials":
            return self._client(client_id, secret).tenant
        client = self._client(client_id, secret) if client_id else None
        if grant == "refresh_token":  # RFC 6749 §6; a public client (no client_id) cannot be told apart
            owner = self._refresh.get(form.get("refresh_token") or "")
            if owner is None or (bind_refresh and client is not None and client.tenant != owner):
                raise OAuthError("invalid_grant", "the refresh token is invalid or was issued to another client")
            return owner
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise OAuthError("invalid_request", "the password grant needs username and password")
        for creds in self.credentials.values():
            if _same(username, creds.username) and _same(password, creds.password):
                if client is not None and client.tenant != creds.tenant:
                    break
                return creds.tenant
        raise OAuthError("invalid_grant", "the resource owner credentials are invalid")

    def issue(self, tenant: str) -> tuple[str, int]:
        """A new opaque token bound to `tenant`, and its lifetime in whole seconds."""
        now = self.clock()
        if len(self._tokens) > 1024:  # bounded memory under a token-hungry client
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
        token = secrets.token_urlsafe(32)
        self._tokens[token] = (tenant, now + self.ttl_s)
        return token, max(1, round(self.ttl_s))

    def refresh_token(self, tenant: str) -> str:
        """A refresh token bound to `tenant` (RFC 6749 §1.5): it obtains access tokens, it is not one."""
        if len(self._refresh) > 1024:
            self._refresh.clear()
        token = secrets.token_urlsafe(32)
        self._refresh[token] = tenant
        return token

    def lookup_refresh(self, token: str) -> tuple[str, bool] | None:
        """(tenant, False) for a refresh token this issuer made (the refresh-token-accepted fault reads it)."""
        tenant = self._refresh.get(token)
        return None if tenant is None else (tenant, False)

    def lookup(self, token: str) -> tuple[str, bool] | None:
        """(tenant, expired) for a token this issuer made; None for any other string."""
        entry = self._tokens.get(token)
        if entry is None:
            return None
        return entry[0], self.clock() >= entry[1]
