"""The reference deployment's fleet: tenants, users, wallboxes and their simulated HEMS sessions.

Everything comes from one seed: identifiers are uuid5 names under the seed, sessions are drawn with
`draw_scenario` over a seeded `random.Random` and run through `simulate`, so the same seed always
serves the same bytes. Coverage is forced, not hoped for: each tenant first gets sessions steered
(by fixing the wallbox's answers, the day shape and how the session ends) until every outcome, every
decision kind and every command verdict occurs among its sessions, ongoing sessions included; the
rest are free draws.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.contract.clipping import clip
from conformance.contract.vocabulary import VERDICTS
from conformance.errors import UsageError
from conformance.model.loop import OUTCOMES, RandomDraw, Scenario, draw_scenario, simulate

STORED_OUTCOMES = tuple(None if o == "ongoing" else o for o in OUTCOMES)  # the model's, as stored (None: ongoing)
KINDS = ("start", "step", "hold", "stop", "skip")
TENANT_KEYS = ("a", "b")
USERS_PER_TENANT = 3
DEFAULT_SESSIONS = 12
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:hems-conformance:reference-deployment")
_DRAW_ARGUMENTS = ("shape", "outcome", "readings")
_ATTEMPTS = 400  # bounded search for a session with a wanted feature; a miss is a bug, not bad luck

Feature = tuple[str, Any]  # ("outcome", "no_surplus"), ("kind", "skip"), ("verdict", "timeout")
BRIEF: Feature = ("brief", True)  # an ended session of at most one decision point: a car plugged in briefly
REQUIRED: tuple[Feature, ...] = (
    *(("outcome", o) for o in STORED_OUTCOMES),
    *(("kind", k) for k in KINDS),
    *(("verdict", v) for v in VERDICTS),
    BRIEF,
)

# The wallbox answer that earns each verdict on the first command (loop.WALLBOX_ANSWERS).
_ANSWER_FOR = {
    "applied": "obey",
    "accepted_ineffective": "ignore",
    "phase_switch_ineffective": "drop_phase_switch",
    "unverified": "lose_measurand",
    "rejected": "reject",
    "unreachable": "unreachable",
    "timeout": "timeout",
    "not_capable": "not_capable",
}


@dataclass(frozen=True)
class Wallbox:
    id: uuid.UUID
    phases: int  # 1: single phase only; 3: switches between 1p and 3p


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    wallboxes: tuple[Wallbox, ...]


@dataclass(frozen=True)
class Tenant:
    """One partner organisation: its OAuth client, its operator login, its users and their wallboxes."""

    key: str
    org_id: uuid.UUID
    client_id: str
    username: str
    users: tuple[User, ...]


@dataclass(frozen=True)
class StoredSession:
    """One session as the deployment stores it: where it lives and the payload it serves."""

    tenant: str
    org_id: uuid.UUID
    user_id: uuid.UUID
    wallbox_id: uuid.UUID
    session_id: int
    payload: dict[str, Any]

    def coordinates(self) -> dict[str, Any]:
        return {"org_id": str(self.org_id), "user_id": str(self.user_id), "wallbox_id": str(self.wallbox_id),
                "session_id": self.session_id}


@dataclass(frozen=True)
class Fleet:
    seed: int
    tenants: tuple[Tenant, ...]
    sessions: tuple[StoredSession, ...]

    def tenant(self, key: str) -> Tenant:
        return next(t for t in self.tenants if t.key == key)

    def sessions_of(self, key: str) -> list[StoredSession]:
        return [s for s in self.sessions if s.tenant == key]

    def with_payloads(self, transform: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Fleet:
        """The fleet with `transform` applied to every payload it fits (None: left as it was)."""
        changed = []
        for stored in self.sessions:
            payload = transform(stored.payload)
            changed.append(stored if payload is None else replace(stored, payload=payload))
        return replace(self, sessions=tuple(changed))


def features(payload: dict[str, Any]) -> set[Feature]:
    """The outcome, decision kinds and command verdicts one payload shows, and whether it is brief."""
    ended = payload["session"]["ended_at"] is not None
    found: set[Feature] = {("outcome", payload["session"]["outcome"] if ended else None)}
    if ended and len(payload["decisions"]) <= 1:
        found.add(BRIEF)
    found.update(("kind", d["decision"]) for d in payload["decisions"])
    found.update(("verdict", c["outcome"]) for c in payload["commands"])
    return found


def _steer(feature: Feature) -> dict[str, Any]:
    """draw_scenario arguments (shape, outcome) and Scenario overrides (answers, ...) that favour `feature`."""
    kind, value = feature
    if feature == BRIEF:
        return {"outcome": "no_surplus", "readings": (0, 1)}
    if kind == "outcome":
        return {"outcome": value or "ongoing"}
    if kind == "verdict":  # the first command gets the answer that earns the verdict
        steer = {"shape": "sunny", "answers": (_ANSWER_FOR[value],)}
        return steer | ({"wallbox_phases": 3, "shape": "cloudy"} if value == "phase_switch_ineffective" else {})
    return {"shape": "sunset" if value == "stop" else "sunny"}  # decision kinds: a stop needs the sun to set


class _Generator:
    """Draws sessions in order, numbering sessions and commands as one database would."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.draw = RandomDraw(self.rng)
        self.next_session = 100 + self.rng.randrange(900)
        self.next_command = 5000 + self.rng.randrange(5000)

    def session(self, steer: dict[str, Any]) -> tuple[Scenario, dict[str, Any]]:
        args = {k: v for k, v in steer.items() if k in _DRAW_ARGUMENTS}
        overrides = {k: v for k, v in steer.items() if k not in _DRAW_ARGUMENTS}
        scenario = draw_scenario(self.draw, self.next_session, self.next_command, **args)
        scenario = replace(scenario, **overrides)
        return scenario, simulate(scenario)

    def commit(self, payload: dict[str, Any]) -> None:
        self.next_session += 1 + self.rng.randrange(7)
        self.next_command += len(payload["commands"]) + self.rng.randrange(20)

    def covering(self, feature: Feature) -> tuple[Scenario, dict[str, Any]]:
        for _ in range(_ATTEMPTS):
            scenario, payload = self.session(_steer(feature))
            if feature in features(payload):
                return scenario, payload
        raise RuntimeError(f"no simulated session shows {feature} after {_ATTEMPTS} draws")


def _tenant(seed: int, key: str, rng: random.Random) -> Tenant:
    def name(*parts: Any) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, "/".join(map(str, (seed, key, *parts))))

    users = tuple(
        User(name("user", u), tuple(Wallbox(name("user", u, "wallbox", w), phases) for w, phases in
                                    enumerate(rng.sample((1, 3), 2))))
        for u in range(USERS_PER_TENANT)
    )
    return Tenant(key, name("org"), f"reference-client-{key}", f"operator@tenant-{key}.example", users)


def _place(tenant: Tenant, scenarios: Iterable[tuple[Scenario, dict[str, Any]]]) -> list[StoredSession]:
    """Give each session to a wallbox that can do what its scenario did, cycling through the users."""
    placed = []
    for n, (scenario, payload) in enumerate(scenarios):
        user = tenant.users[n % len(tenant.users)]
        wallbox = next(w for w in user.wallboxes if w.phases == scenario.wallbox_phases)
        placed.append(StoredSession(tenant.key, tenant.org_id, user.id, wallbox.id, scenario.session_id, payload))
    return placed


def build_fleet(seed: int = 0, sessions_per_tenant: int = DEFAULT_SESSIONS) -> Fleet:
    """The deterministic fleet for `seed`: every tenant covers every REQUIRED feature.

    A tenant holds max(sessions_per_tenant, what coverage takes) sessions; coverage takes about 6 to 10.
    """
    generator = _Generator(seed)
    tenants, stored = [], []
    for key in TENANT_KEYS:
        tenant = _tenant(seed, key, generator.rng)
        drawn: list[tuple[Scenario, dict[str, Any]]] = []
        seen: set[Feature] = set()
        for feature in REQUIRED:
            if feature not in seen:
                drawn.append(generator.covering(feature))
                seen |= features(drawn[-1][1])
                generator.commit(drawn[-1][1])
        while len(drawn) < sessions_per_tenant:
            drawn.append(generator.session({}))
            generator.commit(drawn[-1][1])
        tenants.append(tenant)
        stored.extend(_place(tenant, drawn))
    return Fleet(seed, tuple(tenants), tuple(stored))


# --- a partner's own payloads (`serve --sessions FILE`) ---

_RECORD_KEYS = {"org_id", "user_id", "wallbox_id", "session_id", "tenant", "detail"}


def load_fleet(path: str) -> Fleet:
    """The sessions of a JSON file (one record or an array) or a JSON Lines file, one record each:
    `{"org_id", "user_id", "wallbox_id", "detail": HEMSSessionDetail}`, plus `session_id` (default: the
    detail's session.id) and `tenant` ("a", the default, or "b"). Each detail is served as it is, under the
    reference deployment's auth and error handling; a record it cannot place is a UsageError naming it."""
    records = [(f"{path}[{n}]" if many else path, record) for n, record, many in _records(path)]
    stored: list[StoredSession] = []
    seen: dict[int, str] = {}
    for where, record in records:
        placed = _placed(where, record)
        if placed.session_id in seen:
            raise UsageError(f"{where}: session_id {placed.session_id} repeats {seen[placed.session_id]}")
        seen[placed.session_id] = where
        stored.append(placed)
    if not any(s.tenant == "a" for s in stored):
        raise UsageError(f"{path}: no session of tenant a (every record without a tenant is a's)")
    tenants = []
    for key in TENANT_KEYS:
        own = [s for s in stored if s.tenant == key]
        org = own[0].org_id if own else uuid.uuid5(_NAMESPACE, f"file/{key}/org")
        wallboxes: dict[uuid.UUID, list[uuid.UUID]] = {}
        for s in own:
            wallboxes.setdefault(s.user_id, []).append(s.wallbox_id)
        users = tuple(User(user, tuple(Wallbox(w, 3) for w in dict.fromkeys(ids))) for user, ids in wallboxes.items())
        tenants.append(Tenant(key, org, f"reference-client-{key}", f"operator@tenant-{key}.example", users))
    return Fleet(0, tuple(tenants), tuple(stored))


def _records(path: str) -> Iterable[tuple[int, Any, bool]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise UsageError(f"{path}: not valid JSON: nested too deeply to parse") from None
    except ValueError:
        document = None
        lines = [(n, line) for n, line in enumerate(text.splitlines()) if line.strip()]
        for n, line in lines:
            try:
                yield n, json.loads(line), True
            except RecursionError:
                raise UsageError(f"{path}:{n + 1}: not valid JSON: nested too deeply to parse") from None
            except ValueError as exc:
                raise UsageError(f"{path}:{n + 1}: not JSON (nor a JSON document): {exc}") from None
        return
    items = document if isinstance(document, list) else [document]
    yield from ((n, item, isinstance(document, list)) for n, item in enumerate(items))


def _placed(where: str, record: Any) -> StoredSession:
    if not isinstance(record, dict) or not isinstance(record.get("detail"), dict):
        raise UsageError(f'{where}: expected {{"org_id", "user_id", "wallbox_id", "detail": {{...}}}}')
    unknown = sorted(set(record) - _RECORD_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_RECORD_KEYS))})")
    ids = []
    for key in ("org_id", "user_id", "wallbox_id"):
        try:
            ids.append(uuid.UUID(str(record.get(key))))
        except ValueError:
            raise UsageError(f"{where}: {key}: {clip(repr(record.get(key)), 80)} is not a UUID") from None
    session = record["detail"].get("session")
    session_id = record.get("session_id", session.get("id") if isinstance(session, dict) else None)
    if isinstance(session_id, bool) or not isinstance(session_id, int):
        raise UsageError(f"{where}: session_id: give an integer (the detail's session.id is {session_id!r})")
    tenant = record.get("tenant", "a")
    if tenant not in TENANT_KEYS:
        raise UsageError(f"{where}: tenant: {tenant!r} is not one of {', '.join(TENANT_KEYS)}")
    org_id, user_id, wallbox_id = ids
    return StoredSession(tenant, org_id, user_id, wallbox_id, session_id, record["detail"])

