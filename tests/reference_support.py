"""Shared by the reference deployment's tests: a deployment with fixed credentials and a hand-moved
token clock, and the URLs of its sessions."""

from __future__ import annotations

from conformance.dataset import build_fleet
from conformance.faults import Faults
from conformance.oauth import make_credentials
from conformance.server import Deployment

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
