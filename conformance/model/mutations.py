"""One targeted fault per catalogue invariant, for the property tests and the reference deployment's fault injection.

`MUTATIONS[id](payload)` takes a conformant HEMSSessionDetail and returns a broken deep copy on which
exactly invariant `id` fires under the default `Settings`, or None when the payload has no place for
that fault (no commands, no verdict of the needed kind, a running session where the invariant is only
MUST once the session ended, ...). The input is never modified and the result depends on the input
only. Each fault imitates a defect seen in real deployments (see the "Realistic faults" table of the
contract notes) and is made so that no neighbouring invariant fires along with it; the guarantee is
tested on payloads of the loop model (`conformance.model.loop`, `conformance.strategies`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from conformance.contract.payload import SessionView, parse_instant
from conformance.contract.settings import Settings
from conformance.contract.vocabulary import FAILURE_VERDICTS, VERIFICATION_VERDICTS

SessionBody = dict[str, Any]
Mutation = Callable[[SessionBody], SessionBody | None]

MUTATIONS: dict[str, Mutation] = {}
_DEFAULTS = Settings()
_OFFSET = re.compile(r"([zZ]|[+-]\d\d:\d\d)$")


def mutation(invariant_id: str) -> Callable[[Callable[[SessionBody], SessionBody | None]], Mutation]:
    """Register `fault` for `invariant_id`; the registered function receives its own deep copy."""

    def register(fault: Callable[[SessionBody], SessionBody | None]) -> Mutation:
        def mutate(payload: SessionBody) -> SessionBody | None:
            return fault(copy.deepcopy(payload))

        mutate.__name__, mutate.__doc__ = fault.__name__, fault.__doc__
        MUTATIONS[invariant_id] = mutate
        return mutate

    return register


def _ended(p: SessionBody) -> bool:
    return p["session"]["ended_at"] is not None


def _dispatched(p: SessionBody) -> list[dict[str, Any]]:
    return [d for d in p["decisions"] if d["dispatched"]]


def _energising(p: SessionBody) -> bool:
    """An applied command of more than 0 A: what makes a session charged_from_solar."""
    return any(c["outcome"] == "applied" and c["commanded_amps"] != 0 for c in p["commands"])


def _first(rows: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    return next((row for row in rows if test(row)), None)


def _shifted(text: str, delta: timedelta) -> str:
    moment = parse_instant(text)
    assert moment is not None, f"a mutation starts from a valid payload, not {text!r}"
    return (moment + delta).isoformat()


# --- SCH ---


@mutation("SCH-001")
def id_as_string(p: SessionBody) -> SessionBody:
    """The session id serialised as a string (a JavaScript-safe bigint encoding): wrong type."""
    p["session"]["id"] = str(p["session"]["id"])
    return p


@mutation("SCH-002")
def naive_started_at(p: SessionBody) -> SessionBody:
    """started_at written as a naive local time, its UTC offset dropped (a timezone-unaware column)."""
    p["session"]["started_at"] = _OFFSET.sub("", p["session"]["started_at"])
    return p


# --- CNT ---


@mutation("CNT-001")
def negative_counter(p: SessionBody) -> SessionBody:
    """commands_ineffective is -1: a 'not computed yet' sentinel, or a NULL aggregate coerced to -1."""
    p["session"]["commands_ineffective"] = -1
    return p


@mutation("CNT-002")
def applied_counter_drift(p: SessionBody) -> SessionBody | None:
    """commands_applied one too high: bumped on dispatch Accepted and not corrected when verification
    overturned the verdict (a counter frozen at dispatch time)."""
    if not _ended(p):
        return None
    p["session"]["commands_applied"] += 1
    return p


@mutation("CNT-003")
def ineffective_counter_drift(p: SessionBody) -> SessionBody | None:
    """commands_ineffective one too high: a phase_switch_ineffective command counted twice (once as
    ineffective, once as a phase failure)."""
    if not _ended(p):
        return None
    p["session"]["commands_ineffective"] += 1
    return p


@mutation("CNT-004")
def sent_counter_drift(p: SessionBody) -> SessionBody | None:
    """commands_sent one too high: a retried dispatch counted twice though it left one command row."""
    if not _ended(p):
        return None
    p["session"]["commands_sent"] += 1
    return p


# --- REF ---


@mutation("REF-001")
def lost_command_link(p: SessionBody) -> SessionBody | None:
    """A dispatched decision without its steering_command_id: the decision row was saved before the
    command row existed and the link was never written back."""
    dispatched = _dispatched(p)
    if not dispatched:
        return None
    dispatched[-1]["steering_command_id"] = None
    return p


@mutation("REF-002")
def dangling_command_link(p: SessionBody) -> SessionBody | None:
    """A decision names a command that is not in this session's commands: a foreign key to another
    session's command, or a window filter that dropped the row."""
    dispatched = _dispatched(p)
    if not dispatched:
        return None
    dispatched[-1]["steering_command_id"] = max((c["id"] for c in p["commands"]), default=0) + 1
    return p


@mutation("REF-003")
def fanned_out_decision(p: SessionBody) -> SessionBody | None:
    """A dispatched decision appears twice: a join fan-out duplicated the row and its command link."""
    dispatched = _dispatched(p)
    if not dispatched:
        return None
    row = dispatched[-1]
    p["decisions"].insert(p["decisions"].index(row) + 1, copy.deepcopy(row))
    return p


@mutation("REF-004")
def dispatching_hold(p: SessionBody) -> SessionBody | None:
    """A decision saved as hold though its command went out: the kind was written from the gate's first
    verdict, the dispatch happened anyway. A start keeps its kind: the steps after it would lose their start
    (KND-002's)."""
    dispatched = [d for d in _dispatched(p) if d["decision"] != "start"]
    if not dispatched:
        return None
    dispatched[-1]["decision"] = "hold"
    return p


@mutation("REF-005")
def orphaned_command(p: SessionBody) -> SessionBody | None:
    """The decision that dispatched a step or stop saved again as not dispatched, its link dropped (a retried
    save overwrote the row): the command row stands, named by no decision."""
    dispatched = [d for d in _dispatched(p) if d["decision"] in ("step", "stop")]
    if not dispatched:
        return None
    dispatched[-1]["dispatched"], dispatched[-1]["steering_command_id"] = False, None
    return p


@mutation("REF-006")
def hold_names_command_in_force(p: SessionBody) -> SessionBody | None:
    """A hold that names the command in force: the decision row copied the last link forward."""
    last = None
    for d in p["decisions"]:
        if d["dispatched"]:
            last = d["steering_command_id"]
        elif d["decision"] == "hold" and last is not None:
            d["steering_command_id"] = last
            return p
    return None


# --- KND ---


@mutation("KND-001")
def start_without_dispatch(p: SessionBody) -> SessionBody | None:
    """A start saved before its dispatch and never updated: not dispatched, no command named (the command
    row exists, unreferenced)."""
    start = _first(p["decisions"], lambda d: d["decision"] == "start" and d["dispatched"])
    if start is None:
        return None
    start["dispatched"], start["steering_command_id"] = False, None
    return p


@mutation("KND-002")
def start_logged_as_step(p: SessionBody) -> SessionBody | None:
    """The start logged as a step: the kind was taken from 'the cap changed' instead of 'steering began'."""
    starts = [d for d in p["decisions"] if d["decision"] == "start"]
    if len(starts) != 1:
        return None
    starts[0]["decision"] = "step"
    return p


@mutation("KND-003")
def stop_resends_minimum(p: SessionBody) -> SessionBody | None:
    """A stop that sends the 6 A minimum instead of 0 A (the 'lowest allowed cap' mistaken for 'off'); its
    watts and, where verified, its observed current follow the 6 A."""
    view = SessionView(p)
    for i in view.decisions_of_kind("stop"):
        j = view.command_index.get(p["decisions"][i]["steering_command_id"])
        command = p["commands"][j] if j is not None else None
        if command is None or command["outcome"] in ("accepted_ineffective", "phase_switch_ineffective"):
            continue  # their evidence is judged against the commanded amps (EVD-006, EVD-009)
        if command["outcome"] == "applied" and p["session"]["outcome"] == "steering_ineffective":
            continue  # an applied 6 A command would contradict the outcome too (OUT-002)
        command["commanded_amps"] = 6.0
        command["commanded_watts"] = 6.0 * _DEFAULTS.nominal_voltage_v * (command["commanded_phases"] or 1)
        if command["observed_current_offered_a"] is not None:
            command["observed_current_offered_a"] = 6.0
        return p
    return None


@mutation("KND-004")
def step_without_dispatch(p: SessionBody) -> SessionBody | None:
    """A step saved as not dispatched and its command row never written (the dispatch was dropped after the
    decision): the cap the step computed never went out. Counters follow the rows that are left."""
    if not _ended(p):
        return None
    by_id = {c["id"]: c for c in p["commands"]}
    for d in reversed(p["decisions"]):
        command = by_id.get(d["steering_command_id"]) if d["decision"] == "step" and d["dispatched"] else None
        if command is None or command["outcome"] == "applied":
            continue  # an applied step may be the one that makes the session charged_from_solar
        d["dispatched"], d["steering_command_id"] = False, None
        p["commands"].remove(command)
        session = p["session"]
        session["commands_sent"] -= 1
        session["commands_ineffective"] -= command["outcome"] in _DEFAULTS.ineffective_verdicts
        return p
    return None


# --- OUT ---


@mutation("OUT-001")
def charged_without_applied(p: SessionBody) -> SessionBody | None:
    """charged_from_solar although no command is applied: the roll-up looked at delivered energy (a box
    that charges on plug-in regardless of caps) instead of the verdicts."""
    if not _ended(p) or _energising(p):
        return None
    if p["session"]["outcome"] == "charged_from_solar":
        return None
    p["session"]["outcome"] = "charged_from_solar"
    return p


@mutation("OUT-002")
def ineffective_roll_up(p: SessionBody) -> SessionBody | None:
    """steering_ineffective on a session with an applied command (or none at all): the roll-up fired on
    any ineffective verdict, or on a session that never dispatched."""
    commands = p["commands"]
    if not _ended(p) or p["session"]["outcome"] == "steering_ineffective":
        return None
    if commands and not _energising(p):
        return None
    p["session"]["outcome"] = "steering_ineffective"
    return p


@mutation("OUT-003")
def no_surplus_after_start(p: SessionBody) -> SessionBody | None:
    """A no_surplus session whose timeline holds a start: the start was logged when the surplus gate
    opened, the dispatch never happened (car not ready), and the roll-up said no_surplus."""
    if p["session"]["outcome"] != "no_surplus":
        return None
    holds = [d for d in p["decisions"] if d["decision"] == "hold"]
    if not holds:
        return None
    holds[-1]["decision"] = "start"
    return p


@mutation("OUT-004")
def no_surplus_with_pause_command(p: SessionBody) -> SessionBody | None:
    """A no_surplus session that carries a command: a pause-power command from outside the solar loop
    was stored under the session (counters kept in step with it)."""
    session = p["session"]
    if session["outcome"] != "no_surplus" or not _ended(p):
        return None
    when = p["decisions"][-1]["time"] if p["decisions"] else session["started_at"]
    p["commands"].append(
        {
            "id": max((c["id"] for c in p["commands"]), default=0) + 1,
            "time": when,
            "commanded_watts": 0.0,
            "commanded_amps": 0.0,
            "commanded_phases": None,
            "dispatch_status": "applied",
            "outcome": "applied",
            "observed_current_offered_a": 0.0,
            "observed_power_w": 0.0,
        }
    )
    session["commands_sent"] += 1
    session["commands_applied"] += 1
    return p


@mutation("OUT-005")
def outcome_while_running(p: SessionBody) -> SessionBody | None:
    """An outcome on a running session: rolled up eagerly from the evidence so far; or, on an ended
    session, finalize wrote the outcome but lost ended_at."""
    session = p["session"]
    if _ended(p):
        if session["outcome"] in (None, "aborted"):
            return None
        session["ended_at"] = None
    elif any(c["outcome"] == "applied" for c in p["commands"]):
        session["outcome"] = "charged_from_solar"
    elif p["commands"]:
        session["outcome"] = "steering_ineffective"
    else:
        session["outcome"] = "no_surplus"
    return p


@mutation("OUT-006")
def ended_without_outcome(p: SessionBody) -> SessionBody | None:
    """An ended session with a null outcome: finalize wrote ended_at but skipped the roll-up."""
    if not _ended(p) or p["session"]["outcome"] is None:
        return None
    p["session"]["outcome"] = None
    return p


@mutation("OUT-007")
def charged_with_zero_energy(p: SessionBody) -> SessionBody | None:
    """charged_from_solar with energy_from_solar_kwh 0.0: the solar meter's missing reading stored as 0
    instead of null."""
    session = p["session"]
    if session["outcome"] != "charged_from_solar" or not _energising(p) or session["energy_from_solar_kwh"] == 0:
        return None
    session["energy_from_solar_kwh"] = 0.0
    if session["savings_eur"] is not None:
        session["savings_eur"] = 0.0
    return p


@mutation("OUT-008")
def ineffective_with_applied_stop(p: SessionBody) -> SessionBody | None:
    """A steering_ineffective session whose finalize sent a 0 A stop the box trivially obeyed: the stop reads
    applied (and is counted), though 'none verified as applied'."""
    session, decisions = p["session"], p["decisions"]
    if session["outcome"] != "steering_ineffective" or not decisions or not p["commands"]:
        return None
    stop = decisions[-1]
    if stop["decision"] != "stop" or stop["dispatched"]:
        return None
    last = p["commands"][-1]
    command_id = max(c["id"] for c in p["commands"]) + 1
    stop["dispatched"], stop["steering_command_id"] = True, command_id
    p["commands"].append({**last, "id": command_id, "time": _shifted(stop["time"], timedelta(seconds=2)),
                          "commanded_watts": 0.0, "commanded_amps": 0.0, "dispatch_status": "applied",
                          "outcome": "applied", "observed_current_offered_a": 0.0, "observed_power_w": 0.0})
    session["commands_sent"] += 1
    session["commands_applied"] += 1
    return p


# --- EVD ---


def _command_with(p: SessionBody, verdicts: frozenset[str]) -> dict[str, Any] | None:
    return _first(p["commands"], lambda c: c["outcome"] in verdicts)


@mutation("EVD-001")
def applied_without_evidence(p: SessionBody) -> SessionBody | None:
    """applied without an observed Current.Offered: the verdict came from OCPP Accepted alone (the Go-E
    silent no-op labelled applied)."""
    command = _command_with(p, frozenset({"applied"}))
    if command is None or not _ended(p):
        return None
    command["observed_current_offered_a"] = command["observed_power_w"] = None
    return p


@mutation("EVD-002")
def unverified_with_sample(p: SessionBody) -> SessionBody | None:
    """unverified although a Current.Offered sample is stored: a late sample was attached but the
    verdict never re-evaluated."""
    command = _command_with(p, frozenset({"unverified"}))
    if command is None:
        return None
    command["observed_current_offered_a"] = float(command["commanded_amps"])
    return p


@mutation("EVD-003")
def phase_verdict_without_phases(p: SessionBody) -> SessionBody | None:
    """phase_switch_ineffective with commanded_phases null: the phase count was not persisted with the
    command."""
    command = _command_with(p, frozenset({"phase_switch_ineffective"}))
    if command is None:
        return None
    command["commanded_phases"] = None
    return p


@mutation("EVD-004")
def status_verdict_disagree(p: SessionBody) -> SessionBody | None:
    """dispatch_status contradicts the verdict: a migration back-filled the status column wrongly."""
    if not p["commands"]:
        return None
    command = p["commands"][0]
    command["dispatch_status"] = "rejected" if command["outcome"] in VERIFICATION_VERDICTS else "applied"
    return p


@mutation("EVD-005")
def raw_wire_status(p: SessionBody) -> SessionBody | None:
    """dispatch_status holds a raw wire word outside the vocabulary (OCPP ClearChargingProfile's
    `Unknown`), passed through instead of mapped."""
    if not p["commands"]:
        return None
    p["commands"][0]["dispatch_status"] = "Unknown"
    return p


@mutation("EVD-006")
def ineffective_but_converged(p: SessionBody) -> SessionBody | None:
    """accepted_ineffective although Current.Offered reached the command: the verdict was taken when
    the verification window timed out, before the converged sample was read."""
    command = _command_with(p, frozenset({"accepted_ineffective"}))
    if command is None:
        return None
    command["observed_current_offered_a"] = float(command["commanded_amps"])
    return p


@mutation("EVD-007")
def failed_with_stale_sample(p: SessionBody) -> SessionBody | None:
    """A rejected / unreachable / timeout / not_capable command with an observed Current.Offered: the
    meter's last sample (here 0 A) attached to every command regardless of dispatch."""
    command = _command_with(p, FAILURE_VERDICTS)
    if command is None:
        return None
    command["observed_current_offered_a"] = 0.0
    return p


@mutation("EVD-008")
def applied_with_stale_sample(p: SessionBody) -> SessionBody | None:
    """applied with a Current.Offered far from the command: verification read the sample from before the
    command took effect (the charger's 16 A default, or 6 A where 16 A is the command)."""
    command = _first(p["commands"], lambda c: c["outcome"] == "applied" and c["observed_current_offered_a"] is not None)
    if command is None:
        return None
    command["observed_current_offered_a"] = 16.0 if abs(command["commanded_amps"] - 16.0) > 4 else 6.0
    return p


@mutation("EVD-009")
def phase_verdict_on_unmoved_current(p: SessionBody) -> SessionBody | None:
    """phase_switch_ineffective although Current.Offered stayed at 0 A: the phase check ran first and its
    verdict won over amps that never moved (that is accepted_ineffective)."""
    command = _first(p["commands"], lambda c: c["outcome"] == "phase_switch_ineffective" and c["commanded_amps"] > 1)
    if command is None:
        return None
    command["observed_current_offered_a"] = 0.0
    return p


# --- TIM ---


@mutation("TIM-001")
def start_end_swapped(p: SessionBody) -> SessionBody | None:
    """started_at and ended_at swapped. Only where every row still lies inside the (now inverted)
    window ± clock skew, so the rows do not trip TIM-004: sessions of at most one decision point."""
    view = SessionView(p)
    if view.ended is None or view.started is None or view.ended <= view.started:
        return None
    skew = timedelta(seconds=_DEFAULTS.clock_skew_s)
    low, high = view.ended - skew, view.started + skew
    if any(t is not None and not low <= t <= high for t in view.decision_times + view.command_times):
        return None
    session = p["session"]
    session["started_at"], session["ended_at"] = session["ended_at"], session["started_at"]
    return p


@mutation("TIM-002")
def decisions_newest_first(p: SessionBody) -> SessionBody | None:
    """Decisions newest first: the query lost its ORDER BY time (or sorts descending)."""
    times = SessionView(p).decision_times
    if len(set(times)) < 2:
        return None
    p["decisions"].reverse()
    return p


@mutation("TIM-003")
def commands_newest_first(p: SessionBody) -> SessionBody | None:
    """Commands newest first: the query lost its ORDER BY time (or sorts descending)."""
    times = SessionView(p).command_times
    if len(set(times)) < 2:
        return None
    p["commands"].reverse()
    return p


@mutation("TIM-004")
def decisions_in_other_zone(p: SessionBody) -> SessionBody | None:
    """Every decision five hours early: the decision service stamps local wall time (UTC-5) and labels
    it with the session's offset. Order and command links stay intact."""
    if not p["decisions"]:
        return None
    for d in p["decisions"]:
        d["time"] = _shifted(d["time"], timedelta(hours=-5))
    return p


@mutation("TIM-005")
def command_clock_behind(p: SessionBody) -> SessionBody | None:
    """A command stamped 10 s before the decision that dispatched it: the CSMS clock runs behind the
    HEMS clock by more than the dispatch skew."""
    view = SessionView(p)
    lead = timedelta(seconds=_DEFAULTS.dispatch_skew_s + 5)
    for i, d in enumerate(view.decisions):
        j = view.command_index.get(d["steering_command_id"])
        if j is None:
            continue
        started, decided = view.started, view.decision_times[i]
        skewed_start = None if started is None else started - timedelta(seconds=_DEFAULTS.clock_skew_s)
        previous = view.command_times[j - 1] if j else skewed_start
        if previous is None or decided is None or decided - lead < previous:
            return None
        p["commands"][j]["time"] = _shifted(d["time"], -lead)
        return p
    return None


# --- IDN ---


@mutation("IDN-001")
def fanned_out_command(p: SessionBody) -> SessionBody | None:
    """A command row appears twice with its id, and the counters were computed over the same join
    fan-out, so they agree with the duplicated rows."""
    if not p["commands"]:
        return None
    row = p["commands"][0]
    p["commands"].insert(1, copy.deepcopy(row))
    session = p["session"]
    session["commands_sent"] += row["outcome"] in _DEFAULTS.sent_verdicts
    session["commands_applied"] += row["outcome"] in _DEFAULTS.applied_verdicts
    session["commands_ineffective"] += row["outcome"] in _DEFAULTS.ineffective_verdicts
    return p


# --- PHY ---


@mutation("PHY-001")
def phases_null_as_zero(p: SessionBody) -> SessionBody | None:
    """A decision's null phase count written as 0: a non-nullable integer column coerced null to 0."""
    decision = _first(p["decisions"], lambda d: d["phases"] is None)
    if decision is None:
        return None
    decision["phases"] = 0
    return p


@mutation("PHY-002")
def unclamped_amps(p: SessionBody) -> SessionBody | None:
    """A 4 A command (watts to match): surplus scaled to amps without clamping to the IEC 61851 6 A
    minimum, so the car will not charge. An applied (or phase_switch_ineffective) command then also observes 4 A."""
    command = _first(p["commands"], lambda c: c["commanded_amps"] > 0 and c["outcome"] != "accepted_ineffective")
    if command is None:
        return None
    command["commanded_amps"] = 4.0
    command["commanded_watts"] = 4.0 * _DEFAULTS.nominal_voltage_v * (command["commanded_phases"] or 1)
    if command["outcome"] in ("applied", "phase_switch_ineffective"):  # their samples follow the cap
        command["observed_current_offered_a"] = 4.0
    return p


@mutation("PHY-003")
def kilowatts_as_watts(p: SessionBody) -> SessionBody | None:
    """commanded_watts written in kW: a unit mix-up between the planner (kW) and the API (W)."""
    command = _first(p["commands"], lambda c: c["commanded_amps"] > 0 and c["commanded_watts"] > 0)
    if command is None:
        return None
    command["commanded_watts"] = command["commanded_watts"] / 1000
    return p


@mutation("PHY-004")
def flipped_sign(p: SessionBody) -> SessionBody | None:
    """A quantity with its sign flipped by a meter convention (import negative): the session's solar
    energy, or, when that is zero, a command's watts."""
    session = p["session"]
    if session["energy_from_solar_kwh"] is not None and session["energy_from_solar_kwh"] > 0:
        session["energy_from_solar_kwh"] = -session["energy_from_solar_kwh"]
        return p
    command = _first(p["commands"], lambda c: c["commanded_watts"] > 0)
    if command is None:
        return None
    command["commanded_watts"] = -command["commanded_watts"]
    return p


@mutation("PHY-005")
def power_with_export_sign(p: SessionBody) -> SessionBody | None:
    """A command's observed power negative: the meter's export-positive sign convention passed through."""
    command = _first(p["commands"], lambda c: c["observed_power_w"] is not None and c["observed_power_w"] > 0)
    if command is None:
        return None
    command["observed_power_w"] = -command["observed_power_w"]
    return p


@mutation("PHY-006")
def target_as_grid_setpoint(p: SessionBody) -> SessionBody | None:
    """A decision's target_w negative: written as a grid set-point (export negative) instead of the
    charging power."""
    decision = _first(p["decisions"], lambda d: d["target_w"] is not None and d["target_w"] > 0)
    if decision is None:
        return None
    decision["target_w"] = -decision["target_w"]
    return p
