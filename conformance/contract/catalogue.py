"""The invariant catalogue: every rule a HEMSSessionDetail payload must keep, as data plus small pure functions.

Each entry quotes the spec text it rests on, verbatim from spec/openapi.yaml (whitespace folded; '; '
separates places, '(...)' marks a cut); other sources and interpretations go in `reading`. A check
function receives a parsed payload and the chosen readings and yields `Finding`s with the place and the
facts (the judge stamps the ID and level); it judges only what is its own (a negative amperage is
PHY-004's, so the range check PHY-002 skips it), so one defect makes one invariant fire.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from conformance.contract.findings import Finding
from conformance.contract.levels import Level
from conformance.contract.payload import SessionView, is_number
from conformance.contract.settings import Settings
from conformance.contract.vocabulary import FAILURE_VERDICTS, VERIFICATION_VERDICTS

CheckFunction = Callable[[SessionView, Settings], Iterable[Finding]]


@dataclass(frozen=True)
class Invariant:
    id: str
    family: str
    level: Level
    statement: str
    spec: str
    source: str
    check: CheckFunction | None
    basis: str
    reading: str = ""
    ongoing_level: Level | None = None

    def level_for(self, view: SessionView | None, settings: Settings) -> Level:
        return self.level_when(view is not None and view.ongoing, settings)

    def level_when(self, ongoing: bool, settings: Settings) -> Level:
        """The level for an ongoing (ended_at null) or an ended session."""
        return settings.level_of(self.id, self.ongoing_level if ongoing and self.ongoing_level is not None else self.level)


FAMILIES = {
    "SCH": "Schema conformance (formats on)",
    "CNT": "Counters vs command verdicts",
    "REF": "Decision to command references",
    "KND": "Decision kinds as a sequence",
    "OUT": "Session outcome vs verdicts and decisions",
    "EVD": "Command verdict vs observed evidence",
    "TIM": "Time",
    "IDN": "Identity",
    "PHY": "Physics",
}

# What a reading rests on. The charter's three invariants are normative for this project whatever the spec's
# wording: a check resting on one is at least SHOULD (CHARTER names them with the checks that enforce them).
# A property title alone names a value but says nothing about its range, sign or
# relations, so an invariant whose basis is `title` is INFO by default: reported, never failing, not even
# under --strict (a user may raise it in [judge.levels]).
BASES = {
    "normative": "a sentence of the spec states it",
    "charter": "the project's charter states it (one of its three invariants): at least SHOULD",
    "schema": "the schema states it (types, required, formats, references)",
    "domain": "an adopted standard's clause states it (RFC 6749/6750/9110/9111/3339, OWASP API Top 10, IEC 61851-1, OCPP), "
              "at that standard's level",
    "title": "only a property title speaks to it",
}

CATALOGUE: dict[str, Invariant] = {}


def basis_problem(basis: str, level: Level, ongoing_level: Level | None = None) -> str | None:
    """What is wrong with a reading's level for its basis (None: nothing): the one rule for the catalogue's
    invariants and the live cases alike."""
    if basis not in BASES:
        return f"basis {basis!r} is not one of {', '.join(BASES)}"
    if basis == "title" and (level is not Level.INFO or ongoing_level is not None):
        return "a reading whose basis is a title alone is INFO"
    if basis == "charter" and Level.INFO in (level, ongoing_level):
        return "a reading whose basis is the charter is at least SHOULD"
    return None


def invariant(
    id: str,
    level: Level,
    statement: str,
    spec: str,
    source: str,
    *,
    basis: str,
    reading: str = "",
    ongoing_level: Level | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function as catalogue entry `id` (the one place entries are declared)."""

    def register(check: CheckFunction) -> CheckFunction:
        if id in CATALOGUE:
            raise ValueError(f"duplicate invariant id {id}")
        problem = basis_problem(basis, level, ongoing_level)
        if problem:
            raise ValueError(f"{id}: {problem}")
        CATALOGUE[id] = Invariant(
            id=id,
            family=id.split("-")[0],
            level=level,
            statement=statement,
            spec=" ".join(spec.split()),
            source=source,
            check=check,
            basis=basis,
            reading=" ".join(reading.split()),
            ongoing_level=ongoing_level,
        )
        return check

    return register


MUST, SHOULD, INFO = Level.MUST, Level.SHOULD, Level.INFO
# the verdict sets checks ask the view for, built once
_APPLIED, _UNVERIFIED = frozenset({"applied"}), frozenset({"unverified"})
_PHASE_SWITCH_INEFFECTIVE, _ACCEPTED_INEFFECTIVE = frozenset({"phase_switch_ineffective"}), frozenset({"accepted_ineffective"})
_OUTCOME_SRC = "components.schemas.WBHEMSSessionOutcome.description"
_VERDICT_SRC = "components.schemas.SteeringOutcome.description"
_KIND_SRC = "components.schemas.SmartChargingDecisionKind.description"


def _at_most(a: float, b: float) -> bool:
    """a <= b, forgiving binary rounding: a value written at a decimal boundary (19.095 A for 20.1 A ± 5 %)
    is at the boundary, not a hair beyond it."""
    if a <= b:
        return True
    slack = 1e-9 * max(abs(a), abs(b), 1.0)
    return slack < math.inf and a <= b + slack  # no slack is infinite: inf <= 1380 stays false


def _converged(command: dict[str, Any], settings: Settings) -> bool:
    """The observed Current.Offered (not null) is within tolerance of the commanded amps."""
    observed, commanded = command["observed_current_offered_a"], command["commanded_amps"]
    return _at_most(abs(observed - commanded), settings.current_tolerance(commanded))


def _energising(view: SessionView) -> list[int]:
    """Applied commands that command current: only these can have 'delivered energy'. An applied 0 A command
    (a stop) on a wallbox that never moved converges trivially and proves no steering."""
    return [i for i in view.commands_with(_APPLIED) if view.commands[i]["commanded_amps"] != 0]  # a negative one is PHY-004's


def _d(i: int, field: str = "") -> str:
    return f"/decisions/{i}" + (f"/{field}" if field else "")


def _c(i: int, field: str = "") -> str:
    return f"/commands/{i}" + (f"/{field}" if field else "")


# --- SCH: schema conformance. The Judge runs the compiled schema and sorts its errors into these two. ---


def _schema_entry(id: str, statement: str, spec: str, source: str, reading: str) -> None:
    CATALOGUE[id] = Invariant(id=id, family="SCH", level=MUST, statement=statement, spec=spec, source=source,
                              check=None, basis="schema", reading=reading)


_schema_entry(
    "SCH-001",
    "The body validates against HEMSSessionDetail: required properties, types, enums.",
    "responses: '200': description: OK content: application/json: schema: $ref: "
    "'#/components/schemas/HEMSSessionDetail'",
    "paths.<session>.get.responses.200",
    "JSON Schema 2020-12 as OpenAPI 3.1 prescribes: 7.0 is an integer; extra properties are allowed. When the "
    "shape is wrong, each semantic invariant is still judged unless it reads a value the schema refused (then it "
    "is not evaluated for that payload).",
)
_schema_entry(
    "SCH-002",
    "Every date-time is an RFC 3339 date-time with a UTC offset.",
    "started_at: format: date-time title: Started At type: string; ended_at: anyOf: - format: date-time type: "
    "string - type: 'null' title: Ended At; time: format: date-time title: Time type: string",
    "components.schemas.HEMSSessionItem.properties.started_at.format",
    "format: date-time is RFC 3339's date-time (§5.6, quoted from the RFC: 'date-time = full-date \"T\" "
    "full-time; full-time = partial-time time-offset; time-offset = \"Z\" / time-numoffset'): the offset is "
    "mandatory. Formats are asserted, not annotations. Any offset (+02:00) and fractional seconds are legitimate; a "
    "value without an offset is skipped by the time invariants. A leap second (23:59:60) is legitimate "
    "too: the time invariants read it as the last microsecond of its minute. Sentinels such as "
    "0001-01-01T00:00:00Z are compared like any other instant.",
)


# --- CNT: counters vs verdicts ---

_COUNTERS = ("commands_sent", "commands_applied", "commands_ineffective")
_CNT_ONGOING = (
    "While a session runs (ended_at null) verification lags dispatch, so a mismatch is a SHOULD there."
)
_PENDING = (
    "The newest command of a running session that reads applied without an observed Current.Offered is "
    "pending: 'The first four mirror the dispatch-time CommandStatus', and verification overwrites the "
    "verdict when its sample lands. It may or may not be counted yet, and it needs no sample yet."
)


@invariant(
    "CNT-001",
    MUST,
    "commands_sent, commands_applied and commands_ineffective are not negative.",
    "commands_sent: title: Commands Sent type: integer; commands_applied: title: Commands Applied; "
    "commands_ineffective: title: Commands Ineffective",
    "components.schemas.HEMSSessionItem.properties.commands_sent",
    reading="Not from the titles alone: each counter counts command rows by their verdict (CNT-002 to CNT-004, "
    "on the SteeringOutcome sentences), and no count of rows is negative.",
    basis="normative",
)
def counters_not_negative(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for name in _COUNTERS:
        value = view.session[name]
        if value < 0:
            yield Finding(f"/session/{name}", f"{name} is negative", ">= 0", value)


def _counter_matches(view: SessionView, name: str, verdicts: frozenset[str]) -> Iterator[Finding]:
    value = view.session[name]
    if value < 0:
        return  # CNT-001's
    count = sum(len(rows) for verdict, rows in view.verdicts.items() if verdict in verdicts)  # no list to sort
    counts_pending = view.pending is not None and view.commands[view.pending]["outcome"] in verdicts
    counts = {count, count - counts_pending}  # a pending verdict may be uncounted
    if value not in counts:
        matching = view.commands_with(verdicts)
        where = ", ".join(_c(i) for i in matching[:10]) or "none"
        pending = f"; {_c(view.pending)} is pending" if view.pending is not None and len(counts) > 1 else ""
        yield Finding(
            f"/session/{name}",
            f"{name} is {value} but {len(matching)} command(s) have outcome in "
            f"{{{', '.join(sorted(verdicts))}}} ({where}{pending})",
            len(matching) if len(counts) == 1 else " or ".join(map(str, sorted(counts))),
            value,
        )


@invariant(
    "CNT-002",
    MUST,
    "commands_applied equals the number of commands whose outcome is applied.",
    "APPLIED - dispatched Accepted AND Current.Offered converged to the commanded amps within tolerance "
    "(...). Proven.",
    _VERDICT_SRC,
    reading="Default: applied = {applied} (the verified count). Alternative: set judge.applied_verdicts, "
    "e.g. the pre-SC-55 count of Accepted dispatches. " + _CNT_ONGOING + " " + _PENDING,
    ongoing_level=SHOULD,
    basis="normative",
)
def counter_applied(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _counter_matches(view, "commands_applied", settings.applied_verdicts)


@invariant(
    "CNT-003",
    MUST,
    "commands_ineffective equals the number of commands whose outcome is accepted_ineffective or "
    "phase_switch_ineffective.",
    "ACCEPTED_INEFFECTIVE - dispatched Accepted but Current.Offered never moved toward the command "
    "(Go-E silent no-op). (...) PHASE_SWITCH_INEFFECTIVE - dispatched Accepted, the amperage cap took effect, "
    "but the observed energized phase count did not match the commanded one",
    _VERDICT_SRC,
    reading="Default: both verdicts named ineffective. Alternatives (judge.ineffective_verdicts): only "
    "accepted_ineffective, or also unverified ('Not counted as success'). " + _CNT_ONGOING,
    ongoing_level=SHOULD,
    basis="normative",
)
def counter_ineffective(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _counter_matches(view, "commands_ineffective", settings.ineffective_verdicts)


@invariant(
    "CNT-004",
    MUST,
    "commands_sent equals the number of commands in the payload.",
    "commands_sent: title: Commands Sent; commands: items: $ref: '#/components/schemas/HEMSCommandItem'",
    "components.schemas.HEMSSessionItem.properties.commands_sent",
    reading="Basis: 'Per-command verdict for a wallbox steering command' makes every row of `commands` a "
    "command that was sent, which the title 'Commands Sent' counts. Default: every command row counts as sent. "
    "Alternative (judge.sent_verdicts): leave out "
    "verdicts that never reached the wire, e.g. not_capable ('adapter-side') and unreachable. "
    + _CNT_ONGOING,
    ongoing_level=SHOULD,
    basis="normative",
)
def counter_sent(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _counter_matches(view, "commands_sent", settings.sent_verdicts)


# --- REF: decision -> command references ---

_NEVER_DISPATCH = ("hold", "skip")


_CHARTER_REF = "dispatched decisions referencing real commands"


@invariant(
    "REF-001",
    MUST,
    "A dispatched decision names the command it dispatched (steering_command_id is set).",
    "dispatched: title: Dispatched type: boolean steering_command_id: anyOf: - type: integer - type: 'null' "
    "title: Steering Command Id; START - steering began: first rate/command imposed",
    "components.schemas.HEMSDecisionItem.properties.dispatched",
    reading="Basis: the charter ('" + _CHARTER_REF + "'), and the spec's words agree: a start is the point "
    "where a command is 'imposed', so the decision that dispatched it names it. While a session runs the "
    "link may be written after the decision row, hence SHOULD there. A hold or skip marked dispatched is "
    "REF-004's.",
    ongoing_level=SHOULD,
    basis="charter",
)
def dispatched_names_command(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.dispatched:
        d = view.decisions[i]
        if d["steering_command_id"] is None and d["decision"] not in _NEVER_DISPATCH:  # a hold or skip: REF-004's
            yield Finding(_d(i, "steering_command_id"), "dispatched decision names no command", "a command id", None)


@invariant(
    "REF-002",
    MUST,
    "A steering_command_id names a command of the same session.",
    "Get one standalone HEMS session with its decision timeline and command verdicts; required: - session - "
    "decisions - commands title: HEMSSessionDetail",
    "components.schemas.HEMSSessionDetail",
    reading="The detail is self-contained: a command id that is not in `commands` is a dangling or "
    "foreign reference.",
    basis="normative",
)
def reference_resolves(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i, ref in view.references:
        if ref not in view.command_index:
            yield Finding(
                _d(i, "steering_command_id"),
                f"command {ref} is not among this session's {len(view.commands)} command(s)",
                "an id in /commands",
                ref,
            )


@invariant(
    "REF-003",
    SHOULD,
    "A command is dispatched by at most one decision.",
    "One steering decision point.",
    "components.schemas.HEMSDecisionItem.description",
    reading="'One steering decision point' dispatches at most one command, so two dispatched decisions naming "
    "one command are usually a duplicate (a join fan-out). The spec does not say a command is named by one "
    "decision only, hence SHOULD. A decision that names a command without dispatching it is REF-006's.",
    basis="normative",
)
def reference_unique(view: SessionView, settings: Settings) -> Iterator[Finding]:
    first: dict[Any, int] = {}
    dispatched = set(view.dispatched)
    for i, ref in view.references:
        if i not in dispatched:
            continue  # a decision that names a command without dispatching it is REF-006's
        if ref in first:
            yield Finding(
                _d(i, "steering_command_id"),
                f"command {ref} is already referenced by {_d(first[ref])}",
                "at most one decision per command",
                ref,
            )
        else:
            first[ref] = i


@invariant(
    "REF-004",
    MUST,
    "hold and skip decisions never dispatch.",
    "HOLD - no dispatch at this decision point (gates not met / window ticking / no data). (...) SKIP - decision "
    "point aborted (inputs unavailable) — recorded so gaps are explainable.",
    _KIND_SRC,
    basis="normative",
)
def hold_skip_not_dispatched(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.dispatched:
        d = view.decisions[i]
        if d["decision"] in _NEVER_DISPATCH:
            yield Finding(_d(i, "dispatched"), f"a {d['decision']} decision is dispatched", False, True)


def _links_broken(view: SessionView) -> bool:
    """A decision that dispatched (or, as a start, should have) whose link is missing, dangling or shared with
    another: the command it lost may be any command no dispatched decision names (REF-001's, REF-002's,
    REF-003's, KND-001's)."""
    named: set[Any] = set()
    for i in view.dispatched:
        ref = view.decisions[i]["steering_command_id"]
        if ref is None or ref not in view.command_index or ref in named:
            return True
        named.add(ref)
    return any(not view.decisions[i]["dispatched"] for i in view.decisions_of_kind("start"))


@invariant(
    "REF-005",
    SHOULD,
    "Every command is named by a dispatched decision.",
    "dispatched: title: Dispatched type: boolean steering_command_id: anyOf: - type: integer - type: 'null' "
    "title: Steering Command Id",
    "components.schemas.HEMSCommandItem.properties.id",
    reading="Basis: the charter ('" + _CHARTER_REF + "'): a command exists because a decision dispatched it. "
    "SHOULD, not MUST: the spec does not say every command comes from the decision loop (a pause power set "
    "outside it is conceivable). Quiet while a dispatched decision's link is missing, dangling or shared, or a "
    "start did not dispatch: the command that decision lost is REF-001's, REF-002's, REF-003's or KND-001's. Commands of a no_surplus "
    "session that never started are OUT-004's.",
    basis="charter",
)
def command_named_by_dispatch(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if not view.commands or _links_broken(view):
        return
    if view.session["outcome"] == "no_surplus" and not view.decisions_of_kind("start"):
        return  # commands in a session that never started: OUT-004's
    named = {view.decisions[i]["steering_command_id"] for i in view.dispatched}
    for j, command in enumerate(view.commands):
        if command["id"] not in named:
            by = [i for i, ref in view.references if ref == command["id"]]
            yield Finding(_c(j, "id"), f"command {command['id']} is named by no dispatched decision"
                          + (f" (only by {_d(by[0])}, not dispatched)" if by else ""),
                          "a dispatched decision naming it", None)


@invariant(
    "REF-006",
    INFO,
    "A decision that is not dispatched names no command.",
    "dispatched: title: Dispatched type: boolean steering_command_id: anyOf: - type: integer - type: 'null' "
    "title: Steering Command Id",
    "components.schemas.HEMSDecisionItem.properties.steering_command_id",
    reading="Only the titles 'Dispatched' and 'Steering Command Id' speak to this, hence INFO (basis: title): a "
    "hold may name the command still in force. A command that no dispatched decision names is REF-005's.",
    basis="title",
)
def undispatched_names_no_command(view: SessionView, settings: Settings) -> Iterator[Finding]:
    dispatched = set(view.dispatched)
    for i, _ in view.references:
        if i not in dispatched:
            yield Finding(_d(i, "dispatched"), "decision names a command but is not dispatched", True, False)


# --- KND: decision kinds as a sequence ---


@invariant(
    "KND-001",
    MUST,
    "A start decision dispatches.",
    "START - steering began: first rate/command imposed (e.g. IDLE→COMMITMENT).",
    _KIND_SRC,
    reading="A start is the point where the first command is imposed, so it is dispatched; a dispatch that "
    "failed still dispatched (its command reads unreachable, timeout, ...). In a no_surplus session a start is "
    "OUT-003's.",
    basis="normative",
)
def start_dispatches(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] == "no_surplus":
        return  # a start in a no_surplus session is OUT-003's: the start or the outcome is wrong
    for i in view.decisions_of_kind("start"):
        if not view.decisions[i]["dispatched"]:
            yield Finding(_d(i, "dispatched"), "a start decision imposed no command", True, False)


@invariant(
    "KND-002",
    MUST,
    "step and stop decisions come only after a start decision of the same session.",
    "START - steering began: first rate/command imposed (e.g. IDLE→COMMITMENT). STEP - adjusted the rate/plan to "
    "track conditions. (...) STOP - steering ended: profile cleared / charging stopped.",
    _KIND_SRC,
    reading="Nothing is adjusted or ended before the first command is imposed. Compared by time, not by array "
    "position (the order of the array is TIM-002's); a start at the same instant counts as before.",
    basis="normative",
)
def step_stop_after_start(view: SessionView, settings: Settings) -> Iterator[Finding]:
    starts = [view.decision_times[i] for i in view.decisions_of_kind("start")]
    if None in starts:
        return  # an unreadable time is SCH-002's; no order to judge
    first = min((start for start in starts if start is not None), default=None)
    steps, stops = view.decisions_of_kind("step"), view.decisions_of_kind("stop")
    for i in sorted(steps + stops) if steps and stops else steps or stops:
        time = view.decision_times[i]
        if time is not None and (first is None or time < first):
            d = view.decisions[i]
            yield Finding(_d(i, "decision"), f"a {d['decision']} before any start of this session",
                            "a start at or before " + str(d["time"]), d["decision"])


@invariant(
    "KND-003",
    SHOULD,
    "A dispatched stop's command commands 0 A.",
    "STOP - steering ended: profile cleared / charging stopped.",
    _KIND_SRC,
    reading="'charging stopped' is a 0 A cap. 'profile cleared' may be stored as a row carrying the wallbox's "
    "default limit instead, hence SHOULD; a stop that names no command (a cleared profile without a row) "
    "stays quiet.",
    basis="normative",
)
def stop_commands_zero(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.decisions_of_kind("stop"):
        ref = view.decisions[i]["steering_command_id"]
        j = view.command_index.get(ref) if ref is not None else None
        if j is not None and view.commands[j]["commanded_amps"] > 0:
            yield Finding(_c(j, "commanded_amps"), f"the stop {_d(i)} commands {view.commands[j]['commanded_amps']} A",
                            0, view.commands[j]["commanded_amps"])


@invariant(
    "KND-004",
    SHOULD,
    "A step decision dispatches a command (the 'rate' reading of 'adjusted the rate/plan').",
    "STEP - adjusted the rate/plan to track conditions.",
    _KIND_SRC,
    reading="'adjusted the rate/plan' reads two ways: the rate (a new cap, so a command is dispatched) or only the "
    "plan (nothing is sent). This check holds the rate reading, at SHOULD since the sentence allows the other; the "
    "plan reading requires nothing. Turn it OFF in [judge.levels] where steps may adjust only the plan. A start "
    "that does not dispatch is KND-001's.",
    basis="normative",
)
def step_dispatches(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.decisions_of_kind("step"):
        if not view.decisions[i]["dispatched"]:
            yield Finding(_d(i, "dispatched"), "a step decision dispatched no command (the plan-only reading)", True,
                          False)


# --- OUT: session outcome ---


_CHARGED_SENTENCE = "CHARGED_FROM_SOLAR - at least one applied steering command delivered energy."
_INEFFECTIVE_SENTENCE = "STEERING_INEFFECTIVE - commands dispatched but none verified as applied"  # read two ways


@invariant(
    "OUT-001",
    MUST,
    "A charged_from_solar session has at least one applied command that commands more than 0 A.",
    _CHARGED_SENTENCE,
    _OUTCOME_SRC,
    reading="An applied 0 A command (a stop, a pause) delivers no energy, so it does not make a session "
    "charged_from_solar. Energy reported as 0 is OUT-007's.",
    basis="normative",
)
def charged_needs_applied(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] == "charged_from_solar" and not _energising(view):
        yield Finding("/session/outcome", "charged_from_solar but no command of more than 0 A is applied",
                        ">= 1 applied command of more than 0 A", 0)


@invariant(
    "OUT-002",
    MUST,
    "A steering_ineffective session has commands and none of them that commands more than 0 A is applied.",
    _INEFFECTIVE_SENTENCE,
    _OUTCOME_SRC,
    reading="commands_ineffective >= 1 is not required: a session whose commands were all rejected fits too. "
    "An applied 0 A command (the stop) does not count: on a wallbox that never moved it converges trivially, "
    "and the session has no other outcome (OUT-001). This is the lenient reading of an ambiguous sentence; the "
    "literal one (no command applied at all) is OUT-008's, at SHOULD.",
    basis="normative",
)
def ineffective_needs_unapplied_commands(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] != "steering_ineffective":
        return
    if not view.commands:
        yield Finding("/session/outcome", "steering_ineffective but no command was dispatched", ">= 1 command", 0)
    for i in _energising(view):
        yield Finding(_c(i, "outcome"), "steering_ineffective session has an applied command", "not applied", "applied")


@invariant(
    "OUT-003",
    MUST,
    "A no_surplus session has no start decision.",
    "NO_SURPLUS - the loop ran but never saw enough surplus to start.",
    _OUTCOME_SRC,
    basis="normative",
)
def no_surplus_never_started(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] == "no_surplus":
        for i in view.decisions_of_kind("start"):
            yield Finding(_d(i, "decision"), "no_surplus session has a start decision", "no start", "start")


@invariant(
    "OUT-004",
    SHOULD,
    "A no_surplus session without a start decision has no commands.",
    "NO_SURPLUS - the loop ran but never saw enough surplus to start; START - steering began: first "
    "rate/command imposed",
    _OUTCOME_SRC,
    reading="Commands are imposed from start on; a command outside the loop (e.g. pause power) is "
    "conceivable, hence SHOULD. A session with a start decision is OUT-003's: there the outcome is wrong.",
    basis="normative",
)
def no_surplus_no_commands(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] == "no_surplus" and view.commands and not view.decisions_of_kind("start"):
        yield Finding("/commands", "no_surplus session has commands", 0, len(view.commands))


@invariant(
    "OUT-005",
    MUST,
    "An ongoing session (ended_at null) carries no rolled-up outcome; only aborted may precede ended_at.",
    "Rolled-up outcome of one standalone wallbox HEMS session (SC-56). (...) ABORTED - exited without a "
    "clean finalize",
    _OUTCOME_SRC,
    reading="charged_from_solar, no_surplus and steering_ineffective are rolled up at finalize. A reaper may "
    "mark a session aborted without writing ended_at, so aborted stays quiet.",
    basis="normative",
)
def ongoing_has_no_outcome(view: SessionView, settings: Settings) -> Iterator[Finding]:
    outcome = view.session["outcome"]
    if view.ongoing and outcome not in (None, "aborted"):
        yield Finding("/session/outcome", f"ongoing session already has outcome {outcome}", None, outcome)


@invariant(
    "OUT-006",
    SHOULD,
    "An ended session has an outcome.",
    "Rolled-up outcome of one standalone wallbox HEMS session (SC-56). (...) a single value an evaluator can "
    "read instead of the decision timeline.",
    _OUTCOME_SRC,
    reading="Rows written before SC-56 may be ended with a null outcome, hence SHOULD.",
    basis="normative",
)
def ended_has_outcome(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if not view.ongoing and view.session["outcome"] is None:
        yield Finding("/session/outcome", "ended session has no outcome", "an outcome", None)


@invariant(
    "OUT-007",
    MUST,
    "A charged_from_solar session's energy_from_solar_kwh is not 0.",
    _CHARGED_SENTENCE,
    _OUTCOME_SRC,
    reading="'delivered energy' and 0 kWh contradict each other. null (not measured) stays quiet, and so does any "
    "positive value, however small. A session without an applied command of more than 0 A is OUT-001's, "
    "negative energy PHY-004's.",
    basis="normative",
)
def charged_delivered_energy(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] == "charged_from_solar" and view.session["energy_from_solar_kwh"] == 0 and _energising(view):
        yield Finding("/session/energy_from_solar_kwh",
                        f"charged_from_solar with no energy, but the spec says '{_CHARGED_SENTENCE}'", "> 0 or null", 0)


@invariant(
    "OUT-008",
    SHOULD,
    "A steering_ineffective session has no applied command at all (commands_applied 0 under the verified reading).",
    _INEFFECTIVE_SENTENCE,
    _OUTCOME_SRC,
    reading="The literal reading of 'none verified as applied': not even a 0 A stop is applied. OUT-002 holds the "
    "lenient reading (an applied 0 A command on a wallbox that never moved converges trivially and proves no "
    "steering) at MUST; this one is SHOULD, since the sentence allows both. Turn it OFF in [judge.levels] to "
    "judge by the lenient reading alone. An applied command of more than 0 A is OUT-002's.",
    basis="normative",
)
def ineffective_has_no_applied_command(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.session["outcome"] != "steering_ineffective":
        return
    if _energising(view):
        return  # an applied command of more than 0 A: OUT-002's, the outcome itself is wrong
    for i in view.commands_with(_APPLIED):
            yield Finding(_c(i, "outcome"), f"steering_ineffective session has an applied "
                          f"{view.commands[i]['commanded_amps']} A command, but 'none verified as applied'",
                          "not applied", "applied")


# --- EVD: verdict vs evidence ---


@invariant(
    "EVD-001",
    MUST,
    "An applied command has an observed Current.Offered.",
    "APPLIED - dispatched Accepted AND Current.Offered converged to the commanded amps within tolerance "
    "(...). Proven.",
    _VERDICT_SRC,
    reading="Without a sample nothing converged: the verdict rests on the dispatch alone (the Go-E silent "
    "no-op labelled applied). How close the sample must be is EVD-008's. " + _PENDING
    + " Other commands of a running session: SHOULD.",
    ongoing_level=SHOULD,
    basis="normative",
)
def applied_has_current(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.commands_with(_APPLIED):
        command = view.commands[i]
        if i != view.pending and command["observed_current_offered_a"] is None:
            yield Finding(_c(i, "observed_current_offered_a"), "applied command has no observed Current.Offered",
                            f"a sample near {command['commanded_amps']} A", None)


@invariant(
    "EVD-002",
    MUST,
    "An unverified command has no observed Current.Offered.",
    "UNVERIFIED - dispatched Accepted but no Current.Offered sample landed in the verification window, so "
    "we can't say either way",
    _VERDICT_SRC,
    basis="normative",
)
def unverified_has_no_current(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.commands_with(_UNVERIFIED):
        observed = view.commands[i]["observed_current_offered_a"]
        if observed is not None:
            yield Finding(_c(i, "observed_current_offered_a"), "unverified command has an observed Current.Offered",
                            None, observed)


@invariant(
    "EVD-003",
    MUST,
    "A phase_switch_ineffective command has commanded_phases set.",
    "PHASE_SWITCH_INEFFECTIVE - (...) the observed energized phase count did not match the commanded one "
    "(...). Only raised on positive evidence",
    _VERDICT_SRC,
    basis="normative",
)
def phase_verdict_needs_phases(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.commands_with(_PHASE_SWITCH_INEFFECTIVE):
        if view.commands[i]["commanded_phases"] is None:
            yield Finding(_c(i, "commanded_phases"), "phase_switch_ineffective without a commanded phase count",
                            "1, 2 or 3", None)


@invariant(
    "EVD-004",
    MUST,
    "The verdict agrees with dispatch_status: verification verdicts sit on an applied (Accepted) dispatch; "
    "rejected, unreachable, timeout and not_capable mirror it.",
    "The first four mirror the dispatch-time CommandStatus the CSMS reports. The verification verdicts are "
    "layered on top of an `applied` dispatch",
    _VERDICT_SRC,
    reading="'The first four' are applied, rejected, unreachable, timeout (+ not_capable), the enum before "
    "SC-55 inserted the verification verdicts. Statuses are compared through judge.dispatch_vocabulary "
    "without case, spaces, '_' or '-' (Accepted = applied, NotSupported = not_supported = rejected).",
    basis="normative",
)
def verdict_mirrors_dispatch(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i, command in enumerate(view.commands):
        status = settings.dispatch_status(command["dispatch_status"])
        if status is None:
            continue  # EVD-005's
        verdict = command["outcome"]
        expected = "applied" if verdict in VERIFICATION_VERDICTS else verdict
        if status != expected:
            yield Finding(_c(i, "dispatch_status"),
                            f"verdict {verdict} needs dispatch_status {expected}, got {command['dispatch_status']!r}",
                            expected, command["dispatch_status"])


@invariant(
    "EVD-005",
    SHOULD,
    "dispatch_status is a word of the CommandStatus vocabulary.",
    "The first four mirror the dispatch-time CommandStatus the CSMS reports.",
    _VERDICT_SRC,
    reading="The schema leaves dispatch_status a free string ('dispatch_status: title: Dispatch Status type: "
    "string') and lists no CommandStatus words, hence SHOULD; extend judge.dispatch_vocabulary for a "
    "deployment's own words.",
    basis="normative",
)
def dispatch_status_known(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i, command in enumerate(view.commands):
        if settings.dispatch_status(command["dispatch_status"]) is None:
            yield Finding(_c(i, "dispatch_status"), f"unknown dispatch_status {command['dispatch_status']!r}",
                            sorted(settings.dispatch_vocabulary), command["dispatch_status"])


@invariant(
    "EVD-006",
    SHOULD,
    "An accepted_ineffective command has an observed Current.Offered that is not within tolerance of the "
    "command.",
    "ACCEPTED_INEFFECTIVE - dispatched Accepted but Current.Offered never moved toward the command",
    _VERDICT_SRC,
    reading="'never moved toward the command' names no distance, hence SHOULD; the tolerance is EVD-008's. "
    "Without a sample the verdict would be unverified; a sample at the commanded amps would be applied.",
    basis="normative",
)
def ineffective_has_diverging_current(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.commands_with(_ACCEPTED_INEFFECTIVE):
        command = view.commands[i]
        observed, commanded = command["observed_current_offered_a"], command["commanded_amps"]
        tolerance = settings.current_tolerance(commanded)
        if observed is None:
            yield Finding(_c(i, "observed_current_offered_a"), "accepted_ineffective without an observed sample",
                            "a sample away from the command", None)
        elif _converged(command, settings):
            yield Finding(_c(i, "observed_current_offered_a"),
                            f"accepted_ineffective but Current.Offered {observed} A matches the command {commanded} A",
                            f"farther than {tolerance:g} A from {commanded} A", observed)


@invariant(
    "EVD-007",
    SHOULD,
    "A command that failed at dispatch (rejected, unreachable, timeout, not_capable) has no observed "
    "Current.Offered.",
    "The verification verdicts are layered on top of an `applied` dispatch, by reading the next MeterValues "
    "Current.Offered",
    _VERDICT_SRC,
    reading="Only verification reads a sample, and it happens 'on top of an `applied` dispatch'; the spec does "
    "not say that a failed command stores none (a meter's last sample may be attached anyway), hence SHOULD.",
    basis="normative",
)
def failed_dispatch_has_no_current(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.commands_with(FAILURE_VERDICTS):
        observed = view.commands[i]["observed_current_offered_a"]
        if observed is not None:
            yield Finding(_c(i, "observed_current_offered_a"),
                            f"{view.commands[i]['outcome']} command has an observed Current.Offered", None, observed)


@invariant(
    "EVD-008",
    SHOULD,
    "An applied command's observed Current.Offered is within tolerance of its commanded amps.",
    "APPLIED - dispatched Accepted AND Current.Offered converged to the commanded amps within tolerance",
    _VERDICT_SRC,
    reading="The spec names no tolerance, hence SHOULD. Default max(1.0 A, 5 % of the commanded amps) "
    "(judge.current_tolerance_a, judge.current_tolerance_pct); the boundary counts as within. A missing "
    "sample is EVD-001's, a negative sample or command PHY-005's or PHY-004's.",
    basis="normative",
)
def applied_current_converged(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _diverging(view, settings, _APPLIED, "applied but")


def _diverging(view: SessionView, settings: Settings, verdicts: frozenset[str], claim: str) -> Iterator[Finding]:
    """Commands of `verdicts` whose sample is off their commanded amps (EVD-008, EVD-009)."""
    for i in view.commands_with(verdicts):
        command = view.commands[i]
        observed, commanded = command["observed_current_offered_a"], command["commanded_amps"]
        if observed is None or observed < 0 or commanded < 0 or _converged(command, settings):
            continue  # no sample is EVD-001's or EVD-009's, a negative one PHY-005's, a negative command PHY-004's
        tolerance = settings.current_tolerance(commanded)
        yield Finding(_c(i, "observed_current_offered_a"),
                        f"{claim} Current.Offered {observed} A is not within {tolerance:g} A of {commanded} A",
                        f"{commanded} A ± {tolerance:g}", observed)


@invariant(
    "EVD-009",
    SHOULD,
    "A phase_switch_ineffective command has an observed Current.Offered within tolerance of its commanded amps.",
    "PHASE_SWITCH_INEFFECTIVE - dispatched Accepted, the amperage cap took effect, but the observed energized "
    "phase count did not match the commanded one",
    _VERDICT_SRC,
    reading="'the amperage cap took effect' is the convergence APPLIED asks for, and the spec names no tolerance, "
    "hence SHOULD; the tolerance is EVD-008's. A current that never moved makes the command accepted_ineffective, "
    "no sample unverified. A negative sample or command is PHY-005's or PHY-004's.",
    basis="normative",
)
def phase_verdict_current_converged(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i in view.commands_with(_PHASE_SWITCH_INEFFECTIVE):
        command = view.commands[i]
        if command["observed_current_offered_a"] is None:
            yield Finding(_c(i, "observed_current_offered_a"), "phase_switch_ineffective without an observed sample",
                            f"a sample near {command['commanded_amps']} A", None)
    yield from _diverging(view, settings, _PHASE_SWITCH_INEFFECTIVE,
                          "phase_switch_ineffective but the amperage cap did not take effect:")


# --- TIM: time ---


@invariant(
    "TIM-001",
    MUST,
    "ended_at is not earlier than started_at.",
    "started_at: format: date-time title: Started At type: string ended_at: anyOf: - format: date-time type: "
    "string - type: 'null' title: Ended At",
    "components.schemas.HEMSSessionItem.properties.ended_at",
    reading="Basis: domain. Both are RFC 3339 date-times, instants on one time line, and a session is the "
    "interval between them (as an OCPP transaction between its start and stop). Compared as instants: "
    "12:00+02:00 equals 10:00Z.",
    basis="domain",
)
def ends_after_start(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.started is not None and view.ended is not None and view.ended < view.started:
        yield Finding("/session/ended_at", "session ends before it starts",
                        f">= {view.session['started_at']}", view.session["ended_at"])


def _in_order(rows: list[dict[str, Any]], times: list[Any], pointer: Callable[[int, str], str]) -> Iterator[Finding]:
    previous = None
    for i, time in enumerate(times):
        if time is None:
            continue
        if previous is not None and time < times[previous]:
            yield Finding(pointer(i, "time"), f"earlier than {pointer(previous, 'time')}",
                            f">= {rows[previous]['time']}", rows[i]["time"])
            return
        previous = i


_ORDER_READING = "The seed calls the decisions a timeline but states no order for either array, hence SHOULD."


@invariant(
    "TIM-002",
    SHOULD,
    "Decisions are in time order (non-decreasing).",
    "decision timeline; One row per decision point makes the timeline queryable",
    _KIND_SRC,
    reading=_ORDER_READING,
    basis="normative",
)
def decisions_in_order(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _in_order(view.decisions, view.decision_times, _d)


@invariant(
    "TIM-003",
    SHOULD,
    "Commands are in time order (non-decreasing).",
    "Get one standalone HEMS session with its decision timeline and command verdicts",
    "paths.<session>.get.summary",
    reading=_ORDER_READING,
    basis="normative",
)
def commands_in_order(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _in_order(view.commands, view.command_times, _c)


@invariant(
    "TIM-004",
    SHOULD,
    "Decisions and commands lie inside the session window [started_at, ended_at], within the clock skew.",
    "Get one standalone HEMS session with its decision timeline and command verdicts",
    "paths.<session>.get.summary",
    reading="The rows belong to 'one standalone HEMS session', but the spec states no window for their "
    "times, hence SHOULD. Skew judge.clock_skew_s (default 60 s) either side, since rows come from several "
    "services. An ongoing session has no upper bound.",
    basis="normative",
)
def rows_inside_window(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if view.started is None or (view.ended is not None and view.ended < view.started):
        return  # no window to judge against: an inverted one is TIM-001's
    skew = timedelta(seconds=settings.clock_skew_s)
    low, high = view.started - skew, (view.ended + skew) if view.ended is not None else timedelta.max
    for rows, times, pointer in ((view.decisions, view.decision_times, _d), (view.commands, view.command_times, _c)):
        for i, time in enumerate(times):
            if time is not None and not low <= time <= high:
                yield Finding(pointer(i, "time"), "outside the session window",
                                f"{view.session['started_at']} .. {view.session['ended_at'] or 'now'} ± {settings.clock_skew_s:g} s",
                                rows[i]["time"])


@invariant(
    "TIM-005",
    MUST,
    "A command is not earlier than the decision that dispatched it.",
    "START - steering began: first rate/command imposed; dispatched: title: Dispatched",
    _KIND_SRC,
    reading="Within judge.dispatch_skew_s (default 5 s) for clocks of different services. Only a decision "
    "marked dispatched dispatched its command: a later one that names the command still in force without "
    "dispatching (REF-006's) is not judged here.",
    basis="normative",
)
def command_after_decision(view: SessionView, settings: Settings) -> Iterator[Finding]:
    skew = timedelta(seconds=settings.dispatch_skew_s)
    for i, ref in view.references:
        d = view.decisions[i]
        j = view.command_index.get(ref) if d["dispatched"] else None
        if j is None:
            continue
        decided, commanded = view.decision_times[i], view.command_times[j]
        if decided is not None and commanded is not None and commanded < decided - skew:
            yield Finding(_c(j, "time"), f"command is earlier than the decision {_d(i)} that dispatched it",
                            f">= {d['time']}", view.commands[j]["time"])


# --- IDN: identity ---


@invariant(
    "IDN-001",
    MUST,
    "Command ids are unique within the session.",
    "HEMSCommandItem: properties: id: title: Id type: integer; steering_command_id: anyOf: - type: integer - "
    "type: 'null' title: Steering Command Id",
    "components.schemas.HEMSCommandItem.properties.id",
    reading="Basis: schema. A steering_command_id (an integer) names a command by this id alone, so a repeated "
    "id makes the reference the schema declares ambiguous.",
    basis="schema",
)
def command_ids_unique(view: SessionView, settings: Settings) -> Iterator[Finding]:
    if len(view.command_index) == len(view.commands):
        return  # as many ids as commands: none repeats
    for i, command in enumerate(view.commands):
        first = view.command_index[command["id"]]
        if first != i:
            yield Finding(_c(i, "id"), f"id {command['id']} repeats {_c(first)}", "a unique id", command["id"])


# --- PHY: physics ---


@invariant(
    "PHY-001",
    MUST,
    "Phase counts (decision phases, commanded_phases) are 1, 2 or 3 when set.",
    "phases: anyOf: - type: integer - type: 'null' title: Phases; commanded_phases: anyOf: - type: integer - "
    "type: 'null' title: Commanded Phases",
    "components.schemas.HEMSCommandItem.properties.commanded_phases",
    reading="Basis: domain. OCPP numberPhases is 1..3 on AC; null means not commanded.",
    basis="domain",
)
def phases_in_range(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for rows, name, pointer in ((view.decisions, "phases", _d), (view.commands, "commanded_phases", _c)):
        for i, row in enumerate(rows):
            phases = row[name]
            if phases is not None and phases not in (1, 2, 3):
                yield Finding(pointer(i, name), f"{phases} phases", "1, 2 or 3", phases)


@invariant(
    "PHY-002",
    MUST,
    "commanded_amps is 0 (pause) or within the IEC 61851-1 range of 6 A to 80 A.",
    "commanded_amps: title: Commanded Amps type: number",
    "components.schemas.HEMSCommandItem.properties.commanded_amps",
    reading="Basis: domain. The spec gives commanded_amps no range; the range is that of the IEC 61851-1 control pilot "
    "(a standard, not the spec): 6 A at the lowest charging duty cycle, 80 A at the highest; below 6 A the "
    "car does not charge. Range judge.amps_min .. judge.amps_max (default 6 .. 80 A); a deployment with "
    "lower rated wallboxes may lower amps_max.",
    basis="domain",
)
def amps_in_range(view: SessionView, settings: Settings) -> Iterator[Finding]:
    for i, command in enumerate(view.commands):
        amps = command["commanded_amps"]
        if amps > 0 and not (_at_most(settings.amps_min, amps) and _at_most(amps, settings.amps_max)):
            yield Finding(_c(i, "commanded_amps"), f"{amps} A cannot be signalled on the control pilot",
                            f"0 or {settings.amps_min:g}..{settings.amps_max:g}", amps)


@invariant(
    "PHY-003",
    SHOULD,
    "commanded_watts is consistent with commanded_amps × nominal voltage × phases.",
    "commanded_watts: title: Commanded Watts type: number commanded_amps: title: Commanded Amps type: number "
    "commanded_phases: anyOf: - type: integer - type: 'null' title: Commanded Phases",
    "components.schemas.HEMSCommandItem",
    reading="Basis: domain (P = U·I per phase at the nominal voltage of IEC 60038). The spec relates watts, "
    "amps and phases by their titles only ('Commanded Watts', 'Commanded Amps', 'Commanded Phases'), hence "
    "SHOULD. Amps are per phase (the OCPP limit is). W within A·V·n·(1 ± voltage_tolerance_pct) ± "
    "watts_slack_a·V·n at V = nominal_voltage_v (230 V ± 10 %, one amp of slack); with commanded_phases null "
    "any n of 1..3 is accepted.",
    basis="domain",
)
def watts_match_amps(view: SessionView, settings: Settings) -> Iterator[Finding]:
    volts, margin = settings.nominal_voltage_v, settings.voltage_tolerance_pct / 100.0
    below, above, slack = 1 - margin, 1 + margin, settings.watts_slack_a * volts  # the same floats, hoisted
    for i, command in enumerate(view.commands):
        amps, watts, phases = command["commanded_amps"], command["commanded_watts"], command["commanded_phases"]
        if amps < 0 or watts < 0 or phases not in (None, 1, 2, 3):
            continue  # PHY-004's and PHY-001's
        counts = (phases,) if phases is not None else (1, 2, 3)
        if amps == 0:
            bounds = [(0.0, 0.0)]
        else:
            least, most = amps * volts * below, amps * volts * above
            bounds = [(least * n - slack * n, most * n + slack * n) for n in counts]
        for low, high in bounds:  # exact comparisons first: _at_most forgives rounding, needed only at a bound
            if low <= watts <= high or _at_most(low, watts) and _at_most(watts, high):
                break
        else:
            expected = " or ".join(f"{max(low, 0):.0f}..{high:.0f} W" for low, high in bounds)
            yield Finding(_c(i, "commanded_watts"),
                            f"{watts} W does not fit {amps} A × {volts:g} V × {'/'.join(map(str, counts))} phase(s)",
                            expected, watts)


@invariant(
    "PHY-004",
    MUST,
    "Energy and commanded quantities are not negative.",
    "energy_from_solar_kwh: anyOf: - type: number - type: 'null' title: Energy From Solar Kwh; "
    "commanded_watts: title: Commanded Watts type: number commanded_amps: title: Commanded Amps type: number",
    "components.schemas.HEMSCommandItem",
    reading="Basis: domain. An OCPP charging limit is a charging rate (V2G is out of scope of this endpoint) "
    "and the IEC 61851-1 control pilot signals no negative current; solar energy an applied command 'delivered' "
    "is a magnitude.",
    basis="domain",
)
def quantities_not_negative(view: SessionView, settings: Settings) -> Iterator[Finding]:
    energy = view.session["energy_from_solar_kwh"]
    if energy is not None and energy < 0:
        yield Finding("/session/energy_from_solar_kwh", "negative energy", ">= 0", energy)
    yield from _negative_fields(view.commands, ("commanded_watts", "commanded_amps"), _c)


_PLAIN_NUMBERS = (int, float)  # what JSON parsing yields; a bool's class is neither


def _none_negative(column: list[Any]) -> bool:
    """True if no value of a column of plain numbers is below zero (a column holding None, a string or anything
    min() cannot order, or a NaN first, is left to the row-by-row judgement: False)."""
    try:
        return not column or min(column) >= 0
    except TypeError:
        return False


def _negative_fields(rows: list[dict[str, Any]], names: tuple[str, ...],
                     pointer: Callable[[int, str], str]) -> Iterator[Finding]:
    if all(_none_negative([row[name] for row in rows]) for name in names):
        return  # the common case, judged at C speed; otherwise row by row, in document order
    for i, row in enumerate(rows):
        for name in names:
            value = row[name]
            if value is not None and (value.__class__ in _PLAIN_NUMBERS or is_number(value)) and value < 0:
                yield Finding(pointer(i, name), f"negative {name}", ">= 0", value)


@invariant(
    "PHY-005",
    SHOULD,
    "Observed current and power are not negative.",
    "observed_current_offered_a: anyOf: - type: number - type: 'null' title: Observed Current Offered A "
    "observed_power_w: anyOf: - type: number - type: 'null' title: Observed Power W; reading the next "
    "MeterValues Current.Offered",
    "components.schemas.HEMSCommandItem.properties.observed_current_offered_a",
    reading="Basis: domain. The samples are OCPP MeterValues: Current.Offered is the maximum current offered "
    "to the EV, Power.Active.Import the power it draws, both magnitudes. The spec names only Current.Offered, "
    "hence SHOULD. export_w may be negative (import); target_w is PHY-006's.",
    basis="domain",
)
def observations_not_negative(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _negative_fields(view.commands, ("observed_current_offered_a", "observed_power_w"), _c)


@invariant(
    "PHY-006",
    INFO,
    "A decision's target power is not negative.",
    "target_w: anyOf: - type: number - type: 'null' title: Target W",
    "components.schemas.HEMSDecisionItem.properties.target_w",
    reading="Only the title 'Target W' speaks to this value, hence INFO: reported, never failing. A target "
    "computed as surplus minus a reserve is below zero whenever the surplus is small, and a hold decision "
    "dispatches nothing, so a negative target contradicts no sentence of the spec. Raise it in [judge.levels] "
    "where targets are known to be charging powers.",
    basis="title",
)
def target_not_negative(view: SessionView, settings: Settings) -> Iterator[Finding]:
    return _negative_fields(view.decisions, ("target_w",), _d)


# The charter's three invariants (the user's design card, verbatim) and the checks that enforce each: normative
# for this project, so each of these checks is at least SHOULD (tests/contract/test_contract.py); `trace` lists them.
CHARTER: dict[str, tuple[str, ...]] = {
    "counters matching command verdicts": ("CNT-002", "CNT-003", "CNT-004"),
    _CHARTER_REF: ("REF-001", "REF-002", "REF-005"),
    "outcomes consistent with verdicts": ("OUT-001", "OUT-002", "OUT-008"),
}
SEMANTIC = tuple(inv for inv in CATALOGUE.values() if inv.family != "SCH")
