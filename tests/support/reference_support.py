"""Shared by the reference deployment's tests: a deployment with fixed credentials and a hand-moved
token clock, the URLs of its sessions, and targets broken in ways no fault of the table is (a wrapper
that answers some requests itself, a port that hangs up)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

from conformance.reference.dataset import build_fleet
from conformance.reference.faults import Faults
from conformance.reference.oauth import make_credentials
from conformance.reference.server import TOKEN_PATH, Deployment

SECRETS = {"a": ("secret-a", "password-a"), "b": ("secret-b", "password-b")}


class Clock:
    """A token clock the tests move by hand: expiry without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deployment(seed: int = 0, faults: Faults | None = None, clock: Clock | None = None, log=None) -> Deployment:
    fleet = build_fleet(seed)
    credentials = make_credentials(((t.key, t.client_id, t.username) for t in fleet.tenants), SECRETS)
    return Deployment(fleet, faults, credentials=credentials, clock=clock or Clock(), log=log)


def session_url(base: str, org, user, wallbox, session_id) -> str:
    return f"{base}/api/partners/v2.0/org/{org}/users/{user}/wallboxes/{wallbox}/hems-sessions/{session_id}"


def stored_url(base: str, stored, **replace) -> str:
    """The URL of a stored session, with any coordinate replaced."""
    coordinates = stored.coordinates() | replace
    return session_url(base, *(coordinates[k] for k in ("org_id", "user_id", "wallbox_id", "session_id")))


def bearer(dep: Deployment, tenant: str = "a") -> dict[str, str]:
    """An Authorization header with a fresh token of `tenant`, issued without the token endpoint."""
    return {"Authorization": "Bearer " + dep.issuer.issue(tenant)[0]}


class TokenEndpointWrapper:
    """Wraps a deployment's ASGI app so that only the token endpoint's exchanges go through `token_exchange`
    (a subclass's imitation of another token endpoint); every other request reaches the app as it is."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != TOKEN_PATH:
            await self.app(scope, receive, send)
            return
        await self.token_exchange(scope, receive, send)

    async def token_exchange(self, scope, receive, send) -> None:
        raise NotImplementedError


class Misbehaving:
    """Wraps a deployment's ASGI app: `rule(scope)` returns (status, headers, body[, delay_s]) to answer a request
    itself (after delay_s), or None to let the deployment answer. For targets broken in ways no fault is."""

    def __init__(self, app, rule) -> None:
        self.app, self.rule = app, rule

    async def __call__(self, scope, receive, send) -> None:
        answer = self.rule(scope) if scope["type"] == "http" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body, *delay = answer
        await asyncio.sleep(delay[0] if delay else 0)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": body})


def authorization(scope) -> str:
    return dict(scope["headers"]).get(b"authorization", b"").decode()


@contextlib.contextmanager
def hanging_up(answer: bytes = b"", received: list[bytes] | None = None):
    """A loopback port that accepts each connection, reads the request, sends `answer` (nothing: the server
    hangs up; something else: a port that does not speak HTTP, or a whole HTTP answer) and closes. `received`
    collects each request line as it came over the wire, byte for byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    line = connection.recv(65536).split(b"\r\n", 1)[0]
                    if received is not None:
                        received.append(line)
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


class CookieSessions:
    """Wraps a deployment's ASGI app: like many web stacks it also accepts browser sessions. An authenticated
    answer sets a cookie; a request without an Authorization header is authenticated by that cookie."""

    COOKIE = b"hems_session"

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope.get("headers", []))
        if scope["type"] != "http" or b"authorization" in headers:
            token = headers.get(b"authorization", b"").partition(b" ")[2]

            async def with_cookie(message) -> None:
                if message["type"] == "http.response.start" and token:
                    message["headers"] = [*message["headers"], (b"set-cookie", self.COOKIE + b"=" + token + b"; Path=/")]
                await send(message)

            await self.app(scope, receive, with_cookie)
            return
        cookies = dict(part.strip().partition(b"=")[::2] for part in headers.get(b"cookie", b"").split(b";") if part)
        if self.COOKIE in cookies:
            scope = dict(scope, headers=[*scope["headers"], (b"authorization", b"Bearer " + cookies[self.COOKIE])])
        await self.app(scope, receive, send)
