"""The HTTP client and auth: tokens fetched once per tenant and refreshed, bounded retries, recorded exchanges.

Transient trouble (a reset or refused connection, 429, 502, 503, 504) is retried with exponential backoff and
jitter, honouring Retry-After, within `max_retries` per request and `max_retry_total_s` of waiting per run, and
counted per kind (`absorbed`). Trouble that persists on one request is that request's answer: a status is
returned like any other, no answer at all raises `NoAnswer`; the run decides whether the target as a whole
stopped answering. Infrastructure trouble (TLS, a broken token endpoint, the retry budget spent) raises
`TargetError` so it can never read as a conformance failure; everything the server answered is returned as an
`Exchange` for the checks to judge.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import http.cookiejar
import json
import math
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import requests
import urllib3
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from requests import Response  # by name in the client class, whose `requests` is a property

from conformance import __version__
from conformance.contract.spec import SESSION_PATH
from conformance.errors import ConfigError, TargetError
from conformance.live.target import AUTH_TABLES, DEFAULT_BODY_LIMIT, AuthConfig, TargetConfig, TenantConfig
from conformance.live.token_request import authlib_method, mismatch, redirect_hint
from conformance.report.records import Exchange
from conformance.report.redaction import MIN_SECRET, Redactor

RATE_LIMITED = 429
TRANSIENT_STATUSES = (RATE_LIMITED, 502, 503, 504)  # retried: a gateway's or a server's passing trouble
RESET = "reset"  # the kind of a connection reset, refused or closed without an answer
TRANSIENT_KINDS = (RESET, *map(str, TRANSIENT_STATUSES))  # how absorbed trouble is counted and reported
BACKOFF_BASE_S = 0.5  # the first wait without Retry-After; doubled on each retry of the same request
_BODY_LIMIT = 64 * 1024  # of the text an Exchange keeps for evidence
PARSE_LIMIT = DEFAULT_BODY_LIMIT  # bodies up to this size (max_body_mib) are parsed and judged
TOKEN_ANSWER_LIMIT = 64 * 1024  # a token answer larger than this is a broken token endpoint (JWTs are a few KiB)
_CHUNK = 64 * 1024
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")
_CREDENTIAL_ERRORS = {"invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope"}
USER_AGENT = f"hems-conformance/{__version__}"
REQUEST_ID = "X-Request-ID"


def traced(headers: dict[str, str]) -> dict[str, str]:
    """The headers with the suite's User-Agent and a fresh X-Request-ID first (replacing any the caller set, in
    any case): the API owner finds each request of a report in the server's logs by its id."""
    own = {"User-Agent": USER_AGENT, REQUEST_ID: str(uuid.uuid4())}
    return own | {name: value for name, value in headers.items() if name.lower() not in ("user-agent", "x-request-id")}


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # nested deeper than Python parses: not a document the checks can judge
        return None


def _read_capped(response: requests.Response, limit: int) -> bool:
    """Read a streamed body, decoded (gzip included), up to `limit` bytes and no further; True if there was more.
    What was read becomes the response's content: all of it, or of a larger body (neither parsed nor judged) only
    its head, as evidence. Nothing downstream reads the rest, or holds more than `limit`."""
    chunks, size = [], 0
    for chunk in response.iter_content(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    response.close()  # unread rest: the connection is dropped, not drained
    if size > limit:  # the head only
        kept = 0
        for n, chunk in enumerate(chunks):
            kept += len(chunk)
            if kept >= _BODY_LIMIT:
                del chunks[n + 1:]
                break
    response._content = b"".join(chunks)  # requests' own cache of the body
    return size > limit


def _cut(connection: Any) -> None:
    """End whatever read is blocked on this connection's socket (shutdown wakes it, close would not). The socket
    as connected: http.client forgets it once a response that closes the connection has it."""
    sock = getattr(connection, "connected_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Deadline:
    """A deadline for one whole request, token requests included (a socket timeout bounds each read only, so a
    target dripping a byte a second would hold a request forever): when it passes, the sockets the request uses
    are shut down, which ends any read in progress, and leaving the block raises a one-line TargetError."""

    _current = threading.local()  # the deadline of the request this thread is sending, for _WatchedConnection

    def __init__(self, seconds: float, what: str, why: str) -> None:
        self.expired, self.what, self.why = False, what, why
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _Deadline._current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._timer.cancel()
        _Deadline._current.deadline = None
        if self.expired:
            raise TargetError(f"{self.what}: {self.why}") from None

    @classmethod
    def watch(cls, connection: Any) -> None:
        """A connection starts a request, or connects: the current deadline covers it."""
        deadline = getattr(cls._current, "deadline", None)
        if deadline is not None:
            with deadline._lock:
                if connection not in deadline._connections:
                    deadline._connections.append(connection)
                if deadline.expired:
                    _cut(connection)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for connection in self._connections:
                _cut(connection)


class _WatchedConnection(urllib3.connection.HTTPConnection):
    """A urllib3 connection whose reads a _Deadline can end (and, first in the bases, an HTTPS one's)."""

    connected_sock: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.connected_sock = self.sock
        _Deadline.watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _Deadline.watch(self)
        super().request(*args, **kwargs)


class _HTTPConnection(_WatchedConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections a _Deadline can end, direct or through an HTTP(S) proxy."""

    _POOLS = {"http": _HTTPPool, "https": _HTTPSPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # not SOCKS, whose pools have connections of their own
            manager.pool_classes_by_scheme = self._POOLS
        return manager


_URI = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")  # RFC 3986 characters only


class _AsWritten(requests.Session):
    """A requests session that sends a URL as it was given: requests re-quotes every URL, turning `%7E` into `~`;
    a URL already in RFC 3986 form is kept byte for byte (query parameters appended as requests encodes them).
    Only a URL with characters that are not allowed in one (a space) is left to requests to percent-encode."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        given = request.url if isinstance(request.url, str) else ""
        if _URI.fullmatch(given) and "#" not in given:
            # requests' own query encoder, so params read as requests sends them; its stubs omit private members
            params = prepared._encode_params(request.params) if request.params else ""  # type: ignore[attr-defined]
            prepared.url = given + ("&" if "?" in given else "?") + params if params else given
        return prepared


class _Session(_AsWritten, requests.Session):
    pass


class _OAuth2Session(_AsWritten, OAuth2Session):
    pass


def _mount(session: requests.Session, connections: int = 10) -> None:
    """At most `connections` connections per host (a worker beyond them waits for one): one kept-alive per worker."""
    adapter = _Adapter(pool_maxsize=max(1, connections), pool_block=True)
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds to wait (RFC 9110 §10.2.3: delay-seconds or an HTTP-date, urllib3 reads both);
    None if absent or unusable."""
    if not value or not value.strip():
        return None
    try:
        return float(urllib3.util.Retry().parse_retry_after(value.strip()))
    except urllib3.exceptions.InvalidHeader:
        return None


class _Transient(Exception):
    """No answer, or an answer of passing trouble: `kind` is one of TRANSIENT_KINDS."""

    def __init__(self, kind: str, cause: str, retry_after: str | None = None) -> None:
        super().__init__(cause)
        self.kind, self.cause, self.retry_after = kind, cause, retry_after


class Stopped(TargetError):
    """Not sent: another part of the run met an error that ends it (TargetClient.stop)."""


class NoAnswer(TargetError):
    """A request that got no answer (reset, refused, closed) however often it was sent: the run decides whether
    the request broke the server (a finding) or the target stopped answering (exit 3)."""

    def __init__(self, message: str, cause: str, method: str, url: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.cause, self.method, self.url, self.headers = cause, method, url, headers


class TokenSource:
    """One tenant's access token: fetched on first use, refetched when expired or after a 401."""

    def __init__(self, client: TargetClient, tenant: TenantConfig, where: str = AUTH_TABLES["a"]) -> None:
        self.client, self.config, self.redactor = client, client.config, client.redactor
        self.tenant, self.where = tenant, where
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0  # token requests sent (under the lock)

    @property
    def needed(self) -> bool:
        return self.tenant.auth.grant != "none"

    @property
    def fetched(self) -> bool:
        """Whether the token comes from the token endpoint (and a refused one is worth fetching again)."""
        return self.tenant.auth.grant in ("client_credentials", "password")

    def authorization(self) -> dict[str, str]:
        """The Authorization header for this tenant, or none for grant = "none"."""
        auth = self.tenant.auth
        if auth.grant == "none":
            return {}
        if auth.grant == "bearer":
            assert auth.token is not None, "the target config requires a token for grant = bearer"
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
        url = self.config.token_url(self.tenant)
        if self.client.stopped is not None:
            raise Stopped(f"token endpoint {url}: not sent, the run stopped")
        attempt = 0
        while True:
            try:
                token = self._request(url)
                break
            except _Transient as trouble:
                self.client.wait_to_retry(trouble, attempt, f"token endpoint {url}")
                attempt += 1
        _add_tokens(self.redactor, token, f"token endpoint {url}")
        lifetime = _seconds(token.get("expires_in")) or 3600.0
        self._token = token["access_token"]
        self._expires_at = time.monotonic() + max(0.0, lifetime - min(5.0, lifetime / 4))

    def _request(self, url: str) -> Any:
        auth = self.tenant.auth
        secret = auth.client_secret.reveal() if auth.client_secret else None
        extra = {"username": auth.username, "password": auth.password.reveal()} \
            if auth.grant == "password" and auth.password is not None else {}  # the config requires it there
        with _OAuth2Session(auth.client_id or None, secret, token_endpoint_auth_method=authlib_method(auth),
                           scope=auth.scope or None) as oauth, self.client.deadline(f"token endpoint {url}"):
            _mount(oauth)
            oauth.headers["User-Agent"] = USER_AGENT
            oauth.register_compliance_hook("access_token_response",
                                           lambda answer: _usable_token_answer(url, answer, auth, self.where))
            self.fetches += 1
            try:
                return oauth.fetch_token(url, grant_type=auth.grant, timeout=self.config.timeout_s, stream=True,
                                         verify=self.config.verify_tls, allow_redirects=False, **extra)
            except OAuthError as exc:
                if exc.error in _CREDENTIAL_ERRORS:
                    raise ConfigError(f"{self.where}: token endpoint {url} rejected the configured credentials: "
                                      f"{exc.error}") from None
                raise TargetError(f"token endpoint {url} answered an error: {exc.error}") from None
            except requests.HTTPError as exc:
                raise TargetError(f"token endpoint {url} is broken: HTTP {exc.response.status_code}") from None
            except requests.RequestException as exc:
                cause = _network_cause(exc)
                if cause in _RESETS:
                    raise _Transient(RESET, cause) from None
                raise TargetError(f"token endpoint {url}: {cause}") from None
            except ValueError as exc:  # authlib cannot read the answer (e.g. expires_in that is not a number)
                raise TargetError(f"token endpoint {url} is broken: {exc}") from None


def _add_tokens(redactor: Redactor, answer: dict[str, Any], what: str) -> None:
    """The tokens of a token answer become secrets; one over TOKEN_ANSWER_LIMIT is a broken token endpoint."""
    for key in _TOKEN_FIELDS:
        value = answer.get(key)
        if isinstance(value, str) and len(value) > TOKEN_ANSWER_LIMIT:
            raise TargetError(f"{what} is broken: its {key} is over {TOKEN_ANSWER_LIMIT // 1024} KiB (no token is that large)")
        if isinstance(value, str) and 0 < len(value) < MIN_SECRET:  # too short to mask without masking innocent text
            raise TargetError(f"{what} is broken: its {key} has fewer than {MIN_SECRET} characters")
        if isinstance(value, str):
            redactor.add(value)


def _usable_token_answer(url: str, answer: requests.Response, auth: AuthConfig, where: str) -> requests.Response:
    """What authlib cannot tell apart, as one-line TargetErrors: a redirect (never followed: it would carry the
    credentials elsewhere), an answer over TOKEN_ANSWER_LIMIT, a body that is not a JSON object, a success
    without an access token; and, as a ConfigError naming token_body or token_auth_method, the refusal of a body in
    the encoding, or of the client authentication, the endpoint does not read (token_request.mismatch). Transient
    trouble (429, 502, 503, 504) is retried."""
    status = answer.status_code
    if _read_capped(answer, TOKEN_ANSWER_LIMIT):
        raise TargetError(f"token endpoint {url} is broken: HTTP {status} with an answer over "
                          f"{TOKEN_ANSWER_LIMIT // 1024} KiB (no token is that large)")
    if 300 <= status < 400:
        location = answer.headers.get("Location")
        raise TargetError(f"token endpoint {url} answered {status}, a redirect to {location or 'nowhere'} "
                          f"({redirect_hint(url, location)})")
    if status in TRANSIENT_STATUSES:
        raise _Transient(str(status), f"HTTP {status}", answer.headers.get("Retry-After"))
    if status >= 500:
        return answer  # authlib raises requests.HTTPError
    body = _parse_json(answer.text)
    kind = answer.headers.get("Content-Type") or "no Content-Type"
    refused = mismatch(where, url, auth, status, body, kind)
    if refused is not None:
        raise refused
    if not isinstance(body, dict):
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


_CLOSED = "the server closed the connection without an answer"
_RESETS = (_CLOSED, "the answer broke off before its end", "connection failed (is it up? is the URL right?)")
# the causes retried as a reset: a connection reset, refused or closed, which a restarting server or a gateway
# causes in passing (a timeout is not: timeout_s is the deadline of a request, retries included or not)


def _network_cause(exc: requests.RequestException) -> str:
    inner = exc.args[0] if exc.args else None
    if isinstance(exc, requests.exceptions.ConnectionError) and isinstance(inner, urllib3.exceptions.ProtocolError):
        for arg in inner.args:
            if isinstance(arg, http.client.RemoteDisconnected):
                break
            if isinstance(arg, http.client.BadStatusLine):
                return "the answer is not HTTP (is the port right?)"
            if isinstance(arg, http.client.HTTPException) and str(arg):  # e.g. "got more than 100 headers"
                return f"the answer is not valid HTTP: {str(arg)[:200]}"
        return _CLOSED
    return next((cause for kind, cause in _CAUSES if isinstance(exc, kind)), f"{type(exc).__name__}: {str(exc)[:200]}")


class Pace:
    """How many requests are in flight at once and how fast they start. At most `limit` at once (the workers);
    a 429 halves that, and every RESTORE_AFTER answers without one give a slot back, up to `limit` again; with
    `max_rps`, starts are spaced 1 / max_rps seconds apart."""

    RESTORE_AFTER = 10

    def __init__(self, limit: int, max_rps: float | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = self.allowed = max(1, limit)
        self.in_flight = 0
        self._calm = 0  # answers since the last 429 or the last slot given back
        self._spacing = 1.0 / max_rps if max_rps else 0.0
        self._next_start = 0.0
        self._sleep = sleep
        self._turn = threading.Condition()

    def __enter__(self) -> Pace:
        with self._turn:
            while self.in_flight >= self.allowed:
                self._turn.wait()
            self.in_flight += 1
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._spacing
        if start > now:
            self._sleep(start - now)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        with self._turn:
            self.in_flight -= 1
            self._calm += 1
            if self.allowed < self.limit and self._calm >= self.RESTORE_AFTER:
                self.allowed += 1
                self._calm = 0
            self._turn.notify_all()

    def slow_down(self) -> None:
        """A 429: half as many requests at once from now on (at least one)."""
        with self._turn:
            self.allowed = max(1, self.allowed // 2)
            self._calm = 0


def _as_given(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class TargetClient:
    """Sends requests to the target for one or two tenants, with auth, retries and redacted recording."""

    def __init__(self, config: TargetConfig, redactor: Redactor | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, str], None] = lambda status, url: None, connections: int = 10,
                 max_run_s: float | None = None, seed: int = 0) -> None:
        self.config = config
        self.on_retry = on_retry  # told of every 429 / 503 it waits out: (status, redacted URL)
        self.redactor = redactor or Redactor(config.secrets())
        self.session = _Session()
        self.session.verify = config.verify_tls
        # No cookies: each request carries only the credentials it means to (a session cookie set by one
        # tenant's read would authenticate the unauthenticated probes and blur tenant isolation).
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.session.auth = _as_given  # and no ~/.netrc: requests would put its Basic login over the Bearer token
        _mount(self.session, connections)
        self.max_run_s = max_run_s or config.max_run_s or math.inf
        self.ends = time.monotonic() + self.max_run_s  # no request is sent or waited for past this
        self.tokens = {key: TokenSource(self, tenant, AUTH_TABLES[key]) for key, tenant in config.tenants()}
        self.sleep = sleep
        self.pace = Pace(connections, config.max_rps)
        self.requests_sent = 0
        self.retries = 0
        self.waited = 0.0  # seconds waited before retries in this run
        self.absorbed: Counter[str] = Counter()  # transient trouble retried, per kind (TRANSIENT_KINDS)
        self.stopped: Exception | None = None  # the error that ended the run, once one has (see stop)
        self._jitter = random.Random(seed)  # the same seed, the same waits (as far as threads ask in turn)
        self._counting = threading.Lock()  # --workers send from several threads

    def close(self) -> None:
        self.session.close()

    def stop(self, error: Exception) -> None:
        """The run ends on `error`: every request not yet sent, by any thread, raises Stopped instead."""
        self.stopped = self.stopped or error

    @property
    def requests(self) -> int:
        """Every request sent to the target so far, token requests included."""
        return self.requests_sent + sum(source.fetches for source in self.tokens.values())

    def url(self, path: str) -> str:
        return self.config.url(path)

    def deadline(self, what: str) -> _Deadline:
        """The deadline of one request: timeout_s from now, or the end of the run (max_run_s) if sooner."""
        left = self.ends - time.monotonic()
        over = f"the run reached max_run_s = {self.max_run_s:g} s"
        if left <= 0:
            raise TargetError(f"{what}: not sent, {over}")
        if left < self.config.timeout_s:
            return _Deadline(left, what, f"timed out: no complete answer before {over}")
        return _Deadline(self.config.timeout_s, what,
                         f"timed out: no complete answer within timeout_s = {self.config.timeout_s:g} s")

    def send(self, method: str, url: str, *, tenant: str | None = "a", headers: dict[str, str] | None = None,
             note: str = "", public: bool = False, **kwargs: Any) -> Exchange:
        """Send one request; `tenant=None` sends no credentials. A 401 refetches the token once (and a fresh token
        refused where the tenant's own session refuses it too stops the run); transient trouble is retried (see
        the module), and when it persists the last answer is returned, or NoAnswer raised. Every request the suite
        sends may be repeated: GETs, token requests of these grants, and bodiless probes of undeclared methods,
        which the target is to refuse. `public` (only without a tenant): `headers` are a case file's probe values,
        kept as sent (Redactor.headers)."""
        source = self.tokens[tenant] if tenant else None
        what = f"{method} {self.redactor.text(url)}"
        refreshed = False
        attempt = 0
        while True:
            sent_headers = traced(headers or {})
            if source is not None:
                sent_headers.update(source.authorization())
            try:
                response, too_large = self._transmit(method, url, sent_headers, kwargs, what)
            except _Transient as trouble:
                if attempt >= self.config.max_retries:
                    raise NoAnswer(f"{what}: {trouble.cause} ({attempt + 1} attempts)", trouble.cause, method,
                                   self.redactor.text(url), self.redactor.headers(sent_headers)) from None
                self.wait_to_retry(trouble, attempt, what)
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and source is not None and source.fetched:
                if not refreshed:
                    source.invalidate(sent_headers)
                    refreshed = True
                    continue
                self._fresh_token_refused(source, url)
            if status in TRANSIENT_STATUSES and attempt < self.config.max_retries:
                if status in (RATE_LIMITED, 503):
                    self.on_retry(status, self.redactor.text(url))
                self.wait_to_retry(_Transient(str(status), f"HTTP {status}", response.headers.get("Retry-After")),
                                   attempt, what)
                attempt += 1
                continue
            return self._record(method, url, sent_headers, response, too_large, note, tenant,
                                public=public and source is None)

    def _fresh_token_refused(self, source: TokenSource, url: str) -> None:
        """A token fetched just now got a 401 too. If the tenant's own first session refuses it as well, every
        token is refused: nothing can be judged (exit 3), however many tokens the run would fetch."""
        ref = source.tenant.sessions[0]
        own = self.url(SESSION_PATH.format(**ref.path_parameters))
        if own != url:
            try:
                probe, _ = self._transmit("GET", own, traced(source.authorization()), {}, f"GET {self.redactor.text(own)}")
            except _Transient:  # no telling now: the 401 stands as this request's answer
                return
            if probe.status_code != 401:
                return
        raise TargetError(f"the target refuses the token its token endpoint just issued for {source.where} with 401 "
                          "(a token endpoint of another environment, or another audience?)")

    def wait_to_retry(self, trouble: _Transient, attempt: int, what: str) -> None:
        """Wait out one transient trouble before the next attempt: Retry-After if the answer gave one, else
        BACKOFF_BASE_S doubled per attempt with jitter (half to all of it), never more than max_retry_wait_s;
        raise once max_retries are spent (the token endpoint's callers) or the run's budget would be."""
        if attempt >= self.config.max_retries:
            why = " (rate limited or unavailable)" if trouble.kind != RESET else ""
            raise TargetError(f"{what}: still {trouble.cause} after {attempt} retries{why}")
        given = _retry_after(trouble.retry_after)
        with self._counting:
            backoff = BACKOFF_BASE_S * 2.0 ** attempt * (0.5 + self._jitter.random() / 2)
        wait = min(self.config.max_retry_wait_s, given if given is not None else backoff)
        self._budget(wait, f"{what}: {trouble.cause} again")
        with self._counting:
            self.absorbed[trouble.kind] += 1
        if trouble.kind == str(RATE_LIMITED):
            self.pace.slow_down()
        self.sleep(wait)

    def _budget(self, wait: float, what: str) -> None:
        """Count one retry and its wait against the run's whole budget (max_retry_total_s), so a target that
        is troubled or rate-limits most requests stops the run in bounded time instead of stretching it for hours."""
        with self._counting:
            if self.waited + wait > self.config.max_retry_total_s:
                raise TargetError(f"{what}, and the run already waited {self.waited:g} s for transient trouble "
                                  f"(max_retry_total_s = {self.config.max_retry_total_s:g})")
            if time.monotonic() + wait > self.ends:
                raise TargetError(f"{what}, and waiting {wait:g} s would pass max_run_s = {self.max_run_s:g} s")
            self.waited += wait
            self.retries += 1

    def trouble(self) -> dict[str, Any]:
        """The transient trouble absorbed so far, for the reports: per kind, retries and seconds waited."""
        with self._counting:
            return {"absorbed": {kind: self.absorbed[kind] for kind in TRANSIENT_KINDS}, "retries": self.retries,
                    "waited_s": round(self.waited, 3)}

    def _transmit(self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any],
                  what: str) -> tuple[Response, bool]:
        """Send, and read the body within the deadline up to max_body_mib: (response, whether there was more)."""
        if self.stopped is not None:
            raise Stopped(f"{what}: not sent, the run stopped")
        with self._counting:
            self.requests_sent += 1
        with self.pace, self.deadline(what):
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.config.timeout_s,
                                                verify=self.config.verify_tls, allow_redirects=False, stream=True,
                                                **kwargs)
                return response, _read_capped(response, self.config.max_body_bytes)
            except requests.RequestException as exc:
                cause = _network_cause(exc)
                if cause in _RESETS:
                    raise _Transient(RESET, cause) from None
                raise TargetError(f"{what}: {cause}") from None

    def _record(self, method: str, url: str, headers: dict[str, str], response: Response,
                too_large: bool, note: str, tenant: str | None = None, public: bool = False) -> Exchange:
        body = None if too_large else _parse_json(response.text)
        if isinstance(body, dict):  # a token endpoint answer: its tokens become secrets before anything is kept
            _add_tokens(self.redactor, body, f"{method} {self.redactor.text(url)}")
        text = response.content[:_BODY_LIMIT].decode(response.encoding or "utf-8", errors="replace")
        form, basic = _sent_credentials(response.request)
        return Exchange(
            method=method,
            url=self.redactor.text(url),
            request_headers=self.redactor.headers(headers, public),
            status=response.status_code,
            headers=self.redactor.headers({k.lower(): v for k, v in response.headers.items()}),
            text=self.redactor.text(text),
            elapsed_ms=response.elapsed.total_seconds() * 1000,
            note=note,
            request_form=tuple((key, self.redactor.text(value)) for key, value in form),
            request_basic=self.redactor.text(basic),
            body=body,
            too_large=too_large,
            request_id=headers[REQUEST_ID],
            tenant=tenant,
        )


def access_token(config: TargetConfig, tenant: str = "a") -> str:
    """A fresh access token of one tenant's credentials (`hems-conformance token`), for the `$HEMS_TOKEN` of a
    report's reproductions: fetched from the token endpoint, or the configured one for grant = "bearer".
    ConfigError for a tenant without credentials; TargetError when the token endpoint gives none."""
    client = TargetClient(config)
    try:
        source = client.tokens.get(tenant)
        if source is None:
            raise ConfigError(f"the target config has no {AUTH_TABLES[tenant]} (tenant {tenant.upper()})")
        header = source.authorization().get("Authorization", "")
        if not header:
            raise ConfigError(f"{source.where}.grant = \"none\": the target takes no token")
        return header.removeprefix("Bearer ")
    finally:
        client.close()


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
