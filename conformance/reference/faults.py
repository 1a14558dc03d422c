"""The reference deployment's fault table: deliberate ways to be wrong, each naming what it breaks.

A payload fault breaks one catalogue invariant through `conformance.model.mutations.MUTATIONS[id]`, applied at
start to every stored session it fits, so the deployment serves exactly the payloads the catalogue's own
cases prove the invariant catches. An HTTP fault changes how the app answers; `server.py` asks
`Faults.on(name)` at the one place each fault bends the behaviour. `breaks` holds catalogue invariant
IDs or the IDs of the live cases of `hems-conformance run` (cases/live/*.json) that must catch it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance.errors import UsageError
from conformance.model.mutations import MUTATIONS
from conformance.reference.dataset import Fleet


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: tuple[str, ...]
    description: str
    invariant: str | None = None  # a payload fault: the catalogue entry whose mutation it applies


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        # --- payload faults: one catalogue invariant each, at least one per family ---
        Fault("schema-violation", ("SCH-001",), "the session id is serialised as a string (wrong type)", "SCH-001"),
        Fault("naive-timestamps", ("SCH-002",), "started_at loses its UTC offset (a timezone-unaware column)",
              "SCH-002"),
        Fault("counters-off-by-one", ("CNT-002",),
              "commands_applied one too high (counted at dispatch, not corrected by verification)", "CNT-002"),
        Fault("stale-ineffective-counter", ("CNT-003",),
              "commands_ineffective one too high (a phase_switch_ineffective counted twice)", "CNT-003"),
        Fault("sent-counter-drift", ("CNT-004",), "commands_sent one too high (a retried dispatch counted twice)",
              "CNT-004"),
        Fault("dangling-command-reference", ("REF-002",), "a decision names a command that is not in the session",
              "REF-002"),
        Fault("hold-dispatched", ("REF-004",), "a decision saved as hold though its command went out", "REF-004"),
        Fault("start-not-dispatched", ("KND-001",),
              "a start saved before its dispatch and never updated: not dispatched, its command unreferenced",
              "KND-001"),
        Fault("outcome-contradicts-verdicts", ("OUT-001",), "charged_from_solar without an applied command",
              "OUT-001"),
        Fault("zero-solar-energy", ("OUT-007",),
              "charged_from_solar with energy_from_solar_kwh 0.0 (a missing solar reading stored as 0)", "OUT-007"),
        Fault("outcome-on-ongoing", ("OUT-005",),
              "a running session carries a rolled-up outcome (or an ended one lost its ended_at)", "OUT-005"),
        Fault("verdict-without-evidence", ("EVD-001",),
              "applied without an observed Current.Offered (verdict from OCPP Accepted alone: Go-E silent no-op)",
              "EVD-001"),
        Fault("verdict-dispatch-mismatch", ("EVD-004",), "dispatch_status contradicts the verdict (a wrong back-fill)",
              "EVD-004"),
        Fault("end-before-start", ("TIM-001",), "started_at and ended_at swapped (in sessions where rows allow it)",
              "TIM-001"),
        Fault("command-before-decision", ("TIM-005",), "a command stamped 10 s before the decision that sent it",
              "TIM-005"),
        Fault("duplicate-command-ids", ("IDN-001",), "a command row appears twice with its id (join fan-out)",
              "IDN-001"),
        Fault("impossible-phases", ("PHY-001",), "a decision's null phase count written as 0", "PHY-001"),
        Fault("amps-out-of-range", ("PHY-002",), "4 A commands: surplus scaled to amps without the 6 A clamp",
              "PHY-002"),
        # --- HTTP and security faults, named after the live cases of cases/live/ that catch them ---
        Fault("auth-not-enforced", ("AUTH-001", "AUTH-002"),
              "requests without a Bearer token (none, or another scheme) are served, from every tenant "
              "(security: [] honoured)"),
        Fault("any-token-accepted", ("AUTH-002", "AUTH-003"),
              "any Bearer string is accepted as a token of the first tenant"),
        Fault("expired-token-accepted", ("AUTH-005",),
              "token expiry is not checked (tokens are issued for 2 s so that a run sees them expire)"),
        Fault("missing-www-authenticate", ("AUTH-004",), "401 answers carry no WWW-Authenticate challenge"),
        Fault("unknown-session-500", ("FUZ-001",),
              "an unknown session id raises and answers 500 (OBJ-001's finding is grouped under FUZ-001's: one cause)"),
        Fault("unknown-session-served", ("OBJ-001", "RSP-001"),
              "an unknown session id under a known wallbox is answered with that wallbox's first session (a fallback "
              "lookup)"),
        Fault("path-parents-unchecked", ("OBJ-002", "OBJ-003"),
              "sessions are looked up by session_id within the tenant; user and wallbox in the path are ignored"),
        Fault("user-not-checked", ("OBJ-002", "OBJ-003"),
              "the user in the path is not checked: a session is found by org, wallbox and id"),
        Fault("cross-tenant-read", ("OBJ-004",), "the caller's tenant is not checked: tenant B reads tenant A"),
        Fault("server-error-on-malformed-input", ("FUZ-001",),
              "a malformed UUID or a session id beyond int64 answers 500 instead of 422"),
        Fault("malformed-ids-served", ("FUZ-002",),
              "malformed path ids are not validated: 200 with an empty session instead of 422"),
        Fault("malformed-parents-served", ("FUZ-002",),
              "a known session id is served under malformed org, user or wallbox ids (only session_id is parsed)"),
        Fault("intermittent-500", ("FUZ-001",), "every fourth request to the session endpoint answers 500"),
        Fault("other-methods-allowed", ("MTH-001",), "POST, PUT, PATCH and DELETE are answered like GET"),
        Fault("405-without-allow", ("MTH-002",), "405 answers carry no Allow header"),
        Fault("wrong-session-id", ("RSP-001",), "session.id is not the id in the path (off by one)"),
        Fault("wrong-content-type", ("RSP-002",), "200 bodies are served as text/html"),
        Fault("stack-trace-in-errors", ("RSP-003",), "error bodies carry a Python traceback"),
        Fault("html-error-pages", ("RSP-004",), "error answers of the session endpoint are HTML pages, not JSON"),
        Fault("unstable-reads", ("RSP-005",),
              "energy and savings of ended sessions drift from read to read (back-filled on every GET)"),
        Fault("token-endpoint-500", ("TOK-001",),
              "the token endpoint answers 500: a run cannot authenticate and must exit 3 (target untestable)"),
        Fault("token-errors-not-rfc", ("TOK-002", "TOK-003"),
              "token errors are 403 {\"detail\": ...} without an RFC 6749 error code"),
        Fault("token-cacheable", ("TOK-004",), "token answers carry no Cache-Control: no-store"),
        Fault("token-type-not-bearer", ("TOK-001",), "token answers say token_type \"mac\" for a Bearer token"),
        Fault("refresh-token-accepted", ("AUTH-006",),
              "the refresh tokens of the password grant are accepted as Bearer access tokens"),
        Fault("scheme-case-sensitive", ("AUTH-007",), "the auth scheme is compared case-sensitively: `bearer TOKEN` is 401"),
        Fault("challenge-without-error", ("AUTH-008",),
              "401s for an expired or unknown token challenge without error=\"invalid_token\""),
        Fault("invalid-client-without-challenge", ("TOK-005",),
              "invalid_client after HTTP Basic is 401 without a WWW-Authenticate challenge"),
        Fault("invalid-client-bearer-challenge", ("TOK-011",),
              "invalid_client after HTTP Basic challenges with Bearer (as oauthlib does), not Basic"),
        Fault("token-query-credentials", ("TOK-006",),
              "the token endpoint reads its parameters from the query string too: credentials in the URI get a token"),
        Fault("token-get-allowed", ("TOK-007",), "the token endpoint answers GET like POST, reading the query string"),
        Fault("shared-cacheable-sessions", ("RSP-006",),
              "session answers carry Cache-Control: public, max-age=600 (a shared cache may serve them to anyone)"),
        Fault("ids-in-errors", ("RSP-007",),
              "a 404 for an existing session names its owner's org, user and wallbox ids"),
        Fault("refresh-token-for-client-credentials", ("TOK-008",),
              "client_credentials answers carry a refresh_token too"),
        Fault("token-strict-parameters", ("TOK-009",),
              "the token endpoint refuses an unrecognized parameter and an empty one (scope=) with invalid_request"),
        Fault("refresh-token-unbound", ("TOK-010",),
              "a refresh token is honoured whichever client presents it"),
        Fault("shared-token-across-tenants", ("OBJ-006",),
              "the token endpoint hands every client the first token it issued (a cache keyed on nothing)"),
    )
}
# Faults of the sibling routes (list, current): a deployment with one serves those routes and its written config
# discovers through them. They break the cross-endpoint checks (XEP, conformance.contract.cross), seen only by a
# run that discovers; the session endpoint answers as without them.
SIBLING_FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("list-detail-mismatch", ("XEP-001",),
              "list items of ended sessions carry a stale savings_eur (a cache the detail route bypasses)"),
        Fault("sibling-routes-cross-tenant", ("OBJ-005",),
              "the list and current routes do not check the caller's tenant or the wallbox's parents"),
        Fault("list-includes-day-before", ("SIB-003",),
              "the list also serves sessions started the day before from (a local-time or off-by-one lower bound)"),
        Fault("list-to-exclusive", ("XEP-004",),
              "the list reads to as exclusive: sessions started on to, the running one among them, are missing"),
        Fault("list-total-page-length", ("XEP-002",), "total is the page's length, not the window's count"),
        Fault("list-paging-unchecked", ("SIB-004",),
              "limit over 200 and a negative offset are clamped and answered 200, not refused"),
        Fault("current-rolled-up", ("XEP-005",),
              "current serves the running session with a rolled-up outcome (a stale cache of the finalize)"),
    )
}
_ALL = FAULTS | SIBLING_FAULTS


class Faults:
    """The faults a deployment runs with; `on(name)` refuses names that are not in the table."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        names = tuple(dict.fromkeys(names))
        unknown = [n for n in names if n not in _ALL]
        if unknown:
            raise UsageError(f"unknown fault {unknown[0]!r} (see --list-faults)")
        self.names = names

    def on(self, name: str) -> bool:
        if name not in _ALL:
            raise KeyError(name)
        return name in self.names

    @property
    def siblings(self) -> bool:
        """Whether a fault shows on the sibling routes (so the deployment must serve them)."""
        return any(name in SIBLING_FAULTS for name in self.names)

    def apply_to(self, fleet: Fleet) -> Fleet:
        """The fleet with every active payload fault applied to each session it fits."""
        for name in self.names:
            invariant = _ALL[name].invariant
            if invariant is not None:
                fleet = fleet.with_payloads(MUTATIONS[invariant])  # a broken copy, or None where it does not fit
        if self.on("wrong-session-id"):
            fleet = fleet.with_payloads(_shift_session_id)
        return fleet


def _shift_session_id(payload: dict[str, Any]) -> dict[str, Any]:
    shifted = copy.deepcopy(payload)
    shifted["session"]["id"] += 1
    return shifted


def fault_table() -> str:
    """`--list-faults`: one row per fault, name | breaks | description."""
    width = max(map(len, _ALL))
    breaks_width = max(len(", ".join(f.breaks)) for f in _ALL.values())
    rows = [f"{'fault':<{width}} | {'breaks':<{breaks_width}} | description"]
    rows.append(f"{'-' * width}-+-{'-' * breaks_width}-+-{'-' * 11}")
    for fault in _ALL.values():
        rows.append(f"{fault.name:<{width}} | {', '.join(fault.breaks):<{breaks_width}} | {fault.description}")
    return "\n".join(rows) + "\n"


def fault_markdown() -> str:
    """The fault table of docs/reference-deployment.md (`python -m conformance.regen` writes it there)."""
    rows = ["| fault | breaks | what the deployment does |", "| --- | --- | --- |"]
    rows += [f"| `{f.name}` | {', '.join(f.breaks)} | {f.description} |" for f in _ALL.values()]
    return "\n".join(rows) + "\n"
