"""Shared by the tests that judge payloads offline (tests/offline, tests/e2e, bench): conformant payloads from the
loop model, the same broken at one MUST or one SHOULD, and JSON Lines files of them."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.model.loop import RandomDraw, Scenario, draw_scenario, simulate

# Three commands: applied, unverified, accepted_ineffective; ended, charged_from_solar.
BASE = simulate(Scenario(
    session_id=7,
    first_command_id=70,
    started_at=datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
    surplus_w=(3000.0,) * 12 + (2000.0,) * 3 + (0.0,) * 5,  # start, a step down, a stop on import
    wallbox_phases=1,
    answers=("obey", "lose_measurand", "ignore"),
))


def payload(**session: object) -> dict[str, Any]:
    """A deep copy of BASE with session fields overridden."""
    body = copy.deepcopy(BASE)
    body["session"].update(session)
    return body


def must_broken() -> dict[str, Any]:
    return payload(commands_sent=BASE["session"]["commands_sent"] + 1)  # CNT-004, MUST


def should_broken() -> dict[str, Any]:
    return payload(outcome=None)  # OUT-006, SHOULD: an ended session without an outcome


def drawn(seed: int, count: int) -> list[dict[str, Any]]:
    draw = RandomDraw(random.Random(seed))
    return [simulate(draw_scenario(draw, 100 + i, 1000 * (i + 1))) for i in range(count)]


def write_lines(path: Path, bodies: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    return path
