"""The HTTP client and auth: tokens fetched once per tenant and refreshed, bounded retries, recorded exchanges.

Infrastructure trouble (connection refused, TLS, a broken token endpoint, rate limiting beyond the retry
budget) raises `TargetError` so it can never read as a conformance failure; everything the server
answered is returned as an `Exchange` for the checks to judge.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import http.client
import http.cookiejar
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import requests
import urllib3
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from conformance.errors import ConfigError, TargetError
from conformance.live.exchange import Exchange
from conformance.live.target import AUTH_TABLES, TargetConfig, Tenant
from conformance.report.redaction import Redactor

RETRIED_STATUSES = (429, 503)
_BODY_LIMIT = 64 * 1024  # of the text an Exchange keeps for evidence
PARSE_LIMIT = 32 * 1024 * 1024  # bodies up to this size are parsed and judged (long decision timelines are MBs)
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")
_CREDENTIAL_ERRORS = {"invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope"}


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds to wait (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); None if unusable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


class TokenSource:
    """One tenant's access token: fetched on first use, refetched when expired or after a 401."""

    def __init__(self, config: TargetConfig, tenant: Tenant, redactor: Redactor, where: str = AUTH_TABLES["a"]) -> None:
        self.config, self.tenant, self.redactor, self.where = config, tenant, redactor, where
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0  # token requests sent (under the lock)

    @property
    def needed(self) -> bool:
        return self.tenant.auth.grant != "none"

    def authorization(self) -> dict[str, str]:
        """The Authorization header for this tenant, or none for grant = "none"."""
        auth = self.tenant.auth
        if auth.grant == "none":
            return {}
        if auth.grant == "bearer":
            return {"Authorization": f"Bearer {auth.token.reveal()}"}
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self, refused: dict[str, str]) -> None:
        """Drop the token a 401 refused (its Authorization header), unless another thread has replaced it already:
        with --workers, every request in flight at expiry gets a 401, and one refetch serves them all."""
        with self._lock:
            if self._token is not None and refused.get("Authorization") == f"Bearer {self._token}":
                self._token = None

    def _fetch(self) -> None:
        auth, url = self.tenant.auth, self.config.token_url(self.tenant)
        method = "client_secret_basic" if auth.token_auth_method == "basic" else "client_secret_post"
        secret = auth.client_secret.reveal() if auth.client_secret else None
        extra = {"username": auth.username, "password": auth.password.reveal()} if auth.grant == "password" else {}
        with OAuth2Session(auth.client_id or None, secret, token_endpoint_auth_method=method,
                           scope=auth.scope or None) as oauth:
            oauth.register_compliance_hook("access_token_response", lambda answer: _usable_token_answer(url, answer))
            self.fetches += 1
            try:
                token = oauth.fetch_token(url, grant_type=auth.grant, timeout=self.config.timeout_s,
                                          verify=self.config.verify_tls, allow_redirects=False, **extra)
            except OAuthError as exc:
                if exc.error in _CREDENTIAL_ERRORS:
                    raise ConfigError(f"{self.where}: token endpoint {url} rejected the configured credentials: "
                                      f"{exc.error}") from None
                raise TargetError(f"token endpoint {url} answered an error: {exc.error}") from None
            except requests.HTTPError as exc:
                raise TargetError(f"token endpoint {url} is broken: HTTP {exc.response.status_code}") from None
            except requests.RequestException as exc:
                raise TargetError(f"token endpoint {url}: {_network_cause(exc)}") from None
            except ValueError as exc:  # authlib cannot read the answer (e.g. expires_in that is not a number)
                raise TargetError(f"token endpoint {url} is broken: {exc}") from None
        for key in _TOKEN_FIELDS:
            if isinstance(token.get(key), str):
                self.redactor.add(token[key])
        lifetime = _seconds(token.get("expires_in")) or 3600.0
        self._token = token["access_token"]
        self._expires_at = time.monotonic() + max(0.0, lifetime - min(5.0, lifetime / 4))


def _usable_token_answer(url: str, answer: requests.Response) -> requests.Response:
    """What authlib cannot tell apart, as one-line TargetErrors: a redirect (never followed: it would carry the
    credentials elsewhere), a body that is not a JSON object, a success without an access token."""
    status = answer.status_code
    if 300 <= status < 400:
        raise TargetError(f"token endpoint {url} answered {status}, a redirect to "
                          f"{answer.headers.get('Location') or 'nowhere'} (not followed: is token_url right?)")
    if status >= 500:
        return answer  # authlib raises requests.HTTPError
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = answer.headers.get("Content-Type") or "no Content-Type"
        raise TargetError(f"token endpoint {url} is broken: HTTP {status} with a body that is not a JSON object ({kind})")
    access = body.get("access_token")
    if "error" not in body and (not isinstance(access, str) or not access):
        raise TargetError(f"token endpoint {url} is broken: HTTP {status} without an access_token")
    return answer


def _seconds(value: Any) -> float | None:
    """A positive expires_in as seconds (JSON number, or a number in a string); None if unusable."""
    try:
        seconds = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else 0.0
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None


_CAUSES: tuple[tuple[type[Exception], str], ...] = (  # first match wins: subclasses before their bases
    (requests.exceptions.SSLError, "TLS handshake failed (certificate or protocol)"),
    (requests.exceptions.Timeout, "timed out"),
    (requests.exceptions.ChunkedEncodingError, "the answer broke off before its end"),
    (requests.exceptions.ContentDecodingError, "the answer's Content-Encoding cannot be decoded"),
    (requests.exceptions.ConnectionError, "connection failed (is it up? is the URL right?)"),
)


def _network_cause(exc: requests.RequestException) -> str:
    inner = exc.args[0] if exc.args else None
    if isinstance(exc, requests.exceptions.ConnectionError) and isinstance(inner, urllib3.exceptions.ProtocolError):
        if any(isinstance(arg, http.client.BadStatusLine) and not isinstance(arg, http.client.RemoteDisconnected)
               for arg in inner.args):
            return "the answer is not HTTP (is the port right?)"
        return "the server closed the connection without an answer"
    return next((cause for kind, cause in _CAUSES if isinstance(exc, kind)), exc.__class__.__name__)


def _as_given(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class TargetClient:
    """Sends requests to the target for one or two tenants, with auth, retries and redacted recording."""

    def __init__(self, config: TargetConfig, redactor: Redactor | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, str], None] = lambda status, url: None, connections: int = 10) -> None:
        self.config = config
        self.on_retry = on_retry  # told of every 429 / 503 it waits out: (status, redacted URL)
        self.redactor = redactor or Redactor(config.secrets())
        self.session = requests.Session()
        self.session.verify = config.verify_tls
        # No cookies: each request carries only the credentials it means to (a session cookie set by one
        # tenant's read would authenticate the unauthenticated probes and blur tenant isolation).
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.session.auth = _as_given  # and no ~/.netrc: requests would put its Basic login over the Bearer token
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, connections))  # one kept-alive per worker
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, adapter)
        self.tokens = {key: TokenSource(config, tenant, self.redactor, AUTH_TABLES[key]) for key, tenant in config.tenants()}
        self.sleep = sleep
        self.requests_sent = 0
        self.retries = 0
        self.waited = 0.0  # seconds waited for 429 / 503 in this run
        self._counting = threading.Lock()  # --workers send from several threads

    def close(self) -> None:
        self.session.close()

    @property
    def requests(self) -> int:
        """Every request sent to the target so far, token requests included."""
        return self.requests_sent + sum(source.fetches for source in self.tokens.values())

    def url(self, path: str) -> str:
        return self.config.base_url + path

    def send(self, method: str, url: str, *, tenant: str | None = "a", headers: dict[str, str] | None = None,
             note: str = "", **kwargs: Any) -> Exchange:
        """Send one request; `tenant=None` sends no credentials. 401 refetches the token once; 429/503 wait."""
        source = self.tokens[tenant] if tenant else None
        refreshed = False
        attempt = 0
        while True:
            sent_headers = dict(headers or {})
            if source is not None:
                sent_headers.update(source.authorization())
            response = self._transmit(method, url, sent_headers, kwargs)
            if (response.status_code == 401 and source is not None and source.needed
                    and source.tenant.auth.grant != "bearer" and not refreshed):
                source.invalidate(sent_headers)
                refreshed = True
                continue
            if response.status_code in RETRIED_STATUSES and attempt < self.config.max_retries:
                wait = _retry_after(response.headers.get("Retry-After"))
                wait = min(self.config.max_retry_wait_s, wait if wait is not None else 2.0 ** attempt)
                attempt += 1
                self._budget(wait, f"{method} {self.redactor.text(url)}: HTTP {response.status_code} again")
                self.on_retry(response.status_code, self.redactor.text(url))
                self.sleep(wait)
                continue
            if response.status_code in RETRIED_STATUSES:
                raise TargetError(f"{method} {self.redactor.text(url)}: still HTTP {response.status_code} after "
                                  f"{attempt} retries (rate limited or unavailable)")
            return self._record(method, url, sent_headers, response, note)

    def _budget(self, wait: float, what: str) -> None:
        """Count one retry and its wait against the run's whole budget (max_retry_total_s), so a target that
        rate-limits most requests stops the run in bounded time instead of stretching it for hours."""
        with self._counting:
            if self.waited + wait > self.config.max_retry_total_s:
                raise TargetError(f"{what}, and the run already waited {self.waited:g} s for rate limits "
                                  f"(max_retry_total_s = {self.config.max_retry_total_s:g})")
            self.waited += wait
            self.retries += 1

    def _transmit(self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]) -> requests.Response:
        with self._counting:
            self.requests_sent += 1
        try:
            return self.session.request(method, url, headers=headers, timeout=self.config.timeout_s,
                                        allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise TargetError(f"{method} {self.redactor.text(url)}: {_network_cause(exc)}") from None

    def _record(self, method: str, url: str, headers: dict[str, str], response: requests.Response,
                note: str) -> Exchange:
        too_large = len(response.content) > PARSE_LIMIT
        body = None if too_large else _parse_json(response.text)
        if isinstance(body, dict):  # a token endpoint answer: its tokens become secrets before anything is kept
            for key in _TOKEN_FIELDS:
                if isinstance(body.get(key), str):
                    self.redactor.add(body[key])
        text = response.content[:_BODY_LIMIT].decode(response.encoding or "utf-8", errors="replace")
        form, basic = _sent_credentials(response.request)
        return Exchange(
            method=method,
            url=self.redactor.text(url),
            request_headers=self.redactor.headers(headers),
            status=response.status_code,
            headers=self.redactor.headers({k.lower(): v for k, v in response.headers.items()}),
            text=self.redactor.text(text),
            elapsed_ms=response.elapsed.total_seconds() * 1000,
            note=note,
            request_form=tuple((key, self.redactor.text(value)) for key, value in form),
            request_basic=self.redactor.text(basic),
            body=body,
            too_large=too_large,
            raw=response,
        )


def _sent_credentials(request: requests.PreparedRequest) -> tuple[list[tuple[str, str]], str]:
    """What a request carried besides its headers, decoded before masking (a percent-encoded secret would escape
    it): the fields of a form body, and the user:password of a Basic Authorization the auth object added."""
    form = []
    if "application/x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body or ""
        form = parse_qsl(body, keep_blank_values=True)
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    try:
        basic = base64.b64decode(credential, validate=True).decode() if scheme.lower() == "basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        basic = ""
    return form, basic
