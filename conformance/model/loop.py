"""One model of the solar-surplus steering loop, shared by the Hypothesis strategies and the reference deployment.

A `Scenario` is what the world does (the PV surplus at each decision point, how the wallbox answers each
command, how the session ends); `simulate` runs the controller over it and returns the HEMSSessionDetail
the endpoint would serve. `draw_scenario` describes the space of scenarios once, over a `Draw` that is
either a seeded `random.Random` (the reference deployment) or Hypothesis (the strategies).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

VOLTS = 230.0
MIN_AMPS = 6

# How a wallbox answers one command, and the verdict each answer earns.
WALLBOX_ANSWERS = (
    "obey",  # applies the cap: applied
    "ignore",  # replies Accepted, keeps its old current: accepted_ineffective (Go-E silent no-op)
    "drop_phase_switch",  # applies the amps, keeps its phase count: phase_switch_ineffective
    "lose_measurand",  # applies, but no Current.Offered sample arrives: unverified
    "reject",  # rejected
    "unreachable",  # unreachable
    "timeout",  # timeout
    "not_capable",  # not_capable
)
_FAILED_DISPATCH = {"reject": "rejected", "unreachable": "unreachable", "timeout": "timeout", "not_capable": "not_capable"}
SURPLUS_SHAPES = ("sunny", "cloudy", "weak", "sunset")


@dataclass(frozen=True)
class Controller:
    """Tuning of the loop: thresholds, hysteresis and windows."""

    interval_s: int = 60
    start_readings: int = 3  # surplus held for N readings before start
    commitment_readings: int = 2  # decision points after start with no change
    stop_readings: int = 3  # sustained import before stop
    max_amps: int = 16
    step_min_amps: int = 1


@dataclass(frozen=True)
class Scenario:
    """Everything outside the controller: the sun, the wallbox, the clock and how the session ends."""

    session_id: int
    first_command_id: int
    started_at: datetime
    surplus_w: tuple[float | None, ...]  # solar surplus available to the car at each decision point
    wallbox_phases: int  # 1: fixed single phase; 3: can switch between 1p and 3p
    answers: tuple[str, ...]  # the wallbox's answer to the k-th command, cycled
    ended: bool = True
    aborted: bool = False
    utc_offset_minutes: int = 0
    fractional_seconds: bool = False
    ocpp_transaction_id: int | None = 1
    price_coverage: bool | None = True
    savings_eur_per_kwh: float = 0.2


@dataclass
class _Wallbox:
    offered_amps: float = 0.0
    phases: int = 1

    @property
    def power_w(self) -> float:
        return self.offered_amps * VOLTS * self.phases


class _Run:
    """The controller's state while it walks through a scenario."""

    def __init__(self, scenario: Scenario, controller: Controller) -> None:
        self.scenario, self.controller = scenario, controller
        self.box = _Wallbox(phases=scenario.wallbox_phases if scenario.wallbox_phases == 1 else 3)
        self.state = "IDLE"
        self.surplus_held = self.since_start = self.import_held = 0
        self.commanded: tuple[int, int] | None = None  # (amps, phases) last commanded
        self.decisions: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.energy_kwh = 0.0
        tz = timezone(timedelta(minutes=scenario.utc_offset_minutes))
        self.tz = tz

    def stamp(self, instant: datetime) -> str:
        text = instant.astimezone(self.tz).isoformat(
            timespec="milliseconds" if self.scenario.fractional_seconds else "seconds"
        )
        return text.replace("+00:00", "Z")

    def plan(self, surplus_w: float) -> tuple[int, int]:
        phases = 3 if self.scenario.wallbox_phases == 3 and surplus_w >= MIN_AMPS * VOLTS * 3 else 1
        amps = int(surplus_w // (VOLTS * phases))
        return max(MIN_AMPS, min(self.controller.max_amps, amps)), phases

    def dispatch(self, when: datetime, amps: int, phases: int) -> int:
        scenario = self.scenario
        answer = scenario.answers[len(self.commands) % len(scenario.answers)]
        commanded_phases = phases if scenario.wallbox_phases == 3 else None
        command_id = scenario.first_command_id + len(self.commands)
        status, verdict, observed = "applied", "applied", None
        tolerance = max(1.0, amps * 0.05)
        if answer in _FAILED_DISPATCH:
            status = verdict = _FAILED_DISPATCH[answer]
        elif answer == "ignore" and abs(self.box.offered_amps - amps) > tolerance:
            verdict, observed = "accepted_ineffective", self.box.offered_amps
        elif answer == "drop_phase_switch" and commanded_phases is not None and self.box.phases != phases and amps:
            verdict = "phase_switch_ineffective"
            self.box.offered_amps = observed = float(amps)
        else:  # obeyed (an ignored command that changes nothing is indistinguishable from obeyed)
            self.box.offered_amps, self.box.phases = float(amps), (phases if amps else self.box.phases)
            if answer == "lose_measurand":
                verdict = "unverified"
            else:
                observed = float(amps)
        self.commanded = (amps, phases)
        self.commands.append(
            {
                "id": command_id,
                "time": self.stamp(when + timedelta(seconds=2)),
                "commanded_watts": float(amps * VOLTS * phases),
                "commanded_amps": float(amps),
                "commanded_phases": commanded_phases,
                "dispatch_status": status,
                "outcome": verdict,
                "observed_current_offered_a": observed,
                "observed_power_w": None if observed is None else round(observed * VOLTS * self.box.phases * 0.97, 1),
            }
        )
        return command_id

    def decide(self, when: datetime, kind: str, reason: str, surplus: float | None,
               target: tuple[int, int] | None = None) -> None:
        command_id = self.dispatch(when, *target) if target is not None else None
        self.decisions.append(
            {
                "time": self.stamp(when),
                "hems_state": self.state,
                "decision": kind,
                "reason": reason,
                "export_w": None if surplus is None else round(surplus - self.box.power_w, 1),
                "target_w": None if target is None else float(target[0] * VOLTS * target[1]),
                "phases": None if target is None else target[1],
                "dispatched": command_id is not None,
                "steering_command_id": command_id,
            }
        )

    def step(self, when: datetime, surplus: float | None) -> None:
        c = self.controller
        if surplus is None:
            self.decide(when, "skip", "PV export reading missing: inputs unavailable", None)
            return
        threshold = MIN_AMPS * VOLTS
        if self.state == "IDLE":
            self.surplus_held = self.surplus_held + 1 if surplus >= threshold else 0
            if self.surplus_held >= c.start_readings:
                self.state, self.since_start, self.import_held = "COMMITMENT", 0, 0
                self.decide(when, "start", f"surplus held for {c.start_readings} readings", surplus, self.plan(surplus))
            elif self.surplus_held:
                self.decide(when, "hold", f"surplus {surplus:.0f} W held {self.surplus_held}/{c.start_readings}", surplus)
            else:
                self.decide(when, "hold", f"no surplus ({surplus:.0f} W below {threshold:.0f} W)", surplus)
            return
        self.since_start += 1
        self.import_held = self.import_held + 1 if surplus < threshold else 0
        if self.since_start <= c.commitment_readings:
            self.decide(when, "hold", f"commitment window {self.since_start}/{c.commitment_readings}", surplus)
            return
        self.state = "TRACKING"
        if self.import_held >= c.stop_readings:
            self.stop(when, f"sustained import for {c.stop_readings} readings", surplus)
            return
        if self.import_held:  # below the threshold: keep the cap and wait out the stop window, as evcc does
            self.decide(when, "hold", f"import {self.import_held}/{c.stop_readings}", surplus)
            return
        amps, phases = self.plan(surplus)
        last_amps, last_phases = self.commanded or (0, 0)
        if abs(amps - last_amps) >= c.step_min_amps or phases != last_phases:
            self.decide(when, "step", "re-modulated to track surplus", surplus, (amps, phases))
        else:
            self.decide(when, "hold", "tracking: surplus within one step", surplus)

    def stop(self, when: datetime, reason: str, surplus: float | None) -> None:
        """Steering ends: a 0 A command where a proven cap is to be lifted, else the profile is cleared without a
        command row. A 0 A command on a box no cap ever moved would converge trivially and read applied, and a
        steering_ineffective session must have none applied under either reading of 'none verified as applied'."""
        self.state = "IDLE"
        self.surplus_held = 0
        proven = any(c["outcome"] == "applied" and c["commanded_amps"] > 0 for c in self.commands)
        self.decide(when, "stop", reason, surplus, (0, self.commanded[1] if self.commanded else 1) if proven else None)

    def charge(self, surplus: float | None) -> None:
        """Energy drawn from the sun over one interval at the current offered power."""
        if surplus is not None and surplus > 0:
            self.energy_kwh += min(self.box.power_w * 0.97, surplus) * self.controller.interval_s / 3.6e6


def simulate(scenario: Scenario, controller: Controller = Controller()) -> dict[str, Any]:
    """Run the controller over `scenario` and return the HEMSSessionDetail payload it would produce."""
    run = _Run(scenario, controller)
    first = scenario.started_at + timedelta(seconds=30)
    when = first
    for i, surplus in enumerate(scenario.surplus_w):
        when = first + timedelta(seconds=i * controller.interval_s)
        run.step(when, surplus)
        run.charge(surplus)
    ended_at = None
    if scenario.ended:
        finish = when + timedelta(seconds=controller.interval_s // 2)
        if run.state != "IDLE" and not scenario.aborted:
            run.stop(finish, "session finalize: charging window closed", None)
        ended_at = run.stamp(finish + timedelta(seconds=5))
    verdicts = [c["outcome"] for c in run.commands]
    return {
        "session": {
            "id": scenario.session_id,
            "ocpp_transaction_id": scenario.ocpp_transaction_id,
            "started_at": run.stamp(scenario.started_at),
            "ended_at": ended_at,
            "final_hems_state": _final_state(scenario, run.state),
            "outcome": _outcome(scenario, run.commands),
            "energy_from_solar_kwh": round(run.energy_kwh, 3),
            "savings_eur": round(run.energy_kwh * scenario.savings_eur_per_kwh, 2) if scenario.price_coverage else None,
            "has_complete_price_coverage": scenario.price_coverage,
            "commands_sent": len(verdicts),
            "commands_applied": verdicts.count("applied"),
            "commands_ineffective": verdicts.count("accepted_ineffective") + verdicts.count("phase_switch_ineffective"),
        },
        "decisions": run.decisions,
        "commands": run.commands,
    }


def _final_state(scenario: Scenario, state: str) -> str:
    if not scenario.ended:
        return state
    return "ABORTED" if scenario.aborted else "FINISHED"


def _outcome(scenario: Scenario, commands: list[dict[str, Any]]) -> str | None:
    """The roll-up. Only an applied command of more than 0 A delivers energy ("CHARGED_FROM_SOLAR - at least
    one applied steering command delivered energy"): an applied stop alone leaves the session ineffective.
    Every such command is dispatched at a surplus above the start threshold, so it charges from the sun."""
    if scenario.aborted:
        return "aborted"
    if not scenario.ended:
        return None
    if any(c["outcome"] == "applied" and c["commanded_amps"] > 0 for c in commands):
        return "charged_from_solar"
    return "steering_ineffective" if commands else "no_surplus"


# --- the space of scenarios, described once ---


class Draw(Protocol):
    """A source of choices: a seeded Random for the deployment, Hypothesis for the strategies."""

    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence[T]) -> T: ...


class RandomDraw:
    """`Draw` over `random.Random`: deterministic for a seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]


def surplus_profile(draw: Draw, shape: str, readings: int) -> tuple[float | None, ...]:
    """PV surplus at each decision point for a day shape, with noise and lost readings.

    A "weak" day stays below the start threshold (peak 1000 W + 300 W noise < 6 A x 230 V).
    """
    peak = {"sunny": draw.integer(4500, 11000), "cloudy": draw.integer(2000, 8000),
            "weak": draw.integer(0, 1000), "sunset": draw.integer(3000, 9000)}[shape]
    lost_every = draw.choice((0, 0, 7, 11))
    values: list[float | None] = []
    for i in range(readings):
        x = i / max(1, readings - 1)
        if shape == "sunset":
            level = peak * max(0.0, 1.0 - 1.6 * x)
        elif shape == "cloudy":
            level = peak * (0.35 + 0.65 * abs(math.sin(7 * x + draw.integer(0, 3))))
        else:
            level = peak * math.sin(math.pi * (0.15 + 0.7 * x))
        noise = draw.integer(-300, 300)
        lost = lost_every and i % lost_every == lost_every - 1
        values.append(None if lost else float(max(-2000, round(level + noise))))
    return tuple(values)


OUTCOMES = ("charged_from_solar", "no_surplus", "steering_ineffective", "aborted", "ongoing")
# Answers that never earn `applied`, whatever the box's state ("ignore" does when nothing needs to change).
_NEVER_APPLIED = ("lose_measurand", *_FAILED_DISPATCH)


def draw_scenario(draw: Draw, session_id: int, first_command_id: int, *, ended: bool | None = None,
                  shape: str | None = None, outcome: str | None = None,
                  readings: tuple[int, int] = (0, 60)) -> Scenario:
    """One scenario from the whole space: every outcome, decision kind and verdict is reachable.

    `readings` bounds the number of decision points (0: a session with no decisions yet). `outcome`
    (one of OUTCOMES; "ongoing": ended_at null) steers the draw so the session ends that way; with the
    day shape left to the draw this is certain ("weak" never reaches the start threshold, three
    "sunny" readings always do), with an explicit `shape` it is only likely.
    """
    low, high = readings
    pool: tuple[str, ...] = WALLBOX_ANSWERS[:4] * 3 + WALLBOX_ANSWERS
    if shape is not None and shape not in SURPLUS_SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SURPLUS_SHAPES)}, not {shape!r}")
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if ended is not None and ended != (outcome != "ongoing"):
            raise ValueError(f"outcome {outcome!r} contradicts ended={ended}")
        ended = outcome != "ongoing"
        if outcome in ("charged_from_solar", "steering_ineffective"):  # needs a start, hence the readings
            shape, low = shape or "sunny", max(low, Controller.start_readings)
        if outcome == "steering_ineffective":
            pool = _NEVER_APPLIED
        elif outcome == "no_surplus":
            shape = shape or "weak"
    if not 0 <= low <= high:
        raise ValueError(f"readings {readings} leave no room: need 0 <= {low} <= high")
    shape = shape or draw.choice(SURPLUS_SHAPES)
    answers = tuple(draw.choice(pool) for _ in range(draw.integer(1, 4)))
    if outcome == "charged_from_solar":
        answers = ("obey", *answers[1:])  # the start command is obeyed
    started = datetime(2026, draw.integer(3, 9), draw.integer(1, 28), draw.integer(6, 12), draw.integer(0, 59),
                       draw.integer(0, 59), tzinfo=UTC)
    ended = ended if ended is not None else draw.choice((True, True, True, False))
    coverage = draw.choice((True, True, False, None))
    return Scenario(
        session_id=session_id,
        first_command_id=first_command_id,
        started_at=started,
        surplus_w=surplus_profile(draw, shape, draw.integer(low, high)),
        wallbox_phases=draw.choice((1, 3, 3)),
        answers=answers,
        ended=ended,
        aborted=outcome == "aborted" if outcome is not None else ended and draw.choice((False,) * 5 + (True,)),
        utc_offset_minutes=draw.choice((0, 0, 60, 120, -300, 330)),
        fractional_seconds=draw.choice((False, True)),
        ocpp_transaction_id=draw.choice((None, draw.integer(1, 10**6))),
        price_coverage=coverage,
        savings_eur_per_kwh=draw.integer(5, 35) / 100,
    )
