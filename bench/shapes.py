"""Archives shaped unlike the simulator's output, for bench_floor and bench_scale (issue 25).

The simulator writes instants at one offset (Z or its scenario's), without fractions, 50 decisions a session, and every payload
conformant; recorded archives differ. Each shape here starts from simulated sessions and rewrites them the way
other writers do, so every shape is still judged in full:

- `simulator`: the simulator's own (a pool of 200 realistic sessions, every 100th breaking CNT-004);
- `long-repeated`: 11 long sessions (300+ decisions) repeated, instants at +02:00 with milliseconds, and in one
  payload of 11 a routine INFO reading (PHY-006, a negative target on a hold) seven times: the archive of
  issue 25;
- `offsets`: 200 realistic sessions, each at its own offset (+05:30, -03:00, +01:00, -09:30) with microseconds;
- `dense`: 200 realistic sessions, every one with five INFO findings (PHY-006) and one SHOULD (OUT-006);
- `repeated`: 11 distinct realistic sessions, repeated.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import payloads

_INSTANT = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.]\d+)?(?:Z|[+-]\d\d:\d\d))"')
OFFSETS = (timedelta(hours=5, minutes=30), timedelta(hours=-3), timedelta(hours=1), timedelta(hours=-9, minutes=-30))


def at_offset(body: dict[str, Any], offset: timedelta, fraction: str) -> dict[str, Any]:
    """The same session with every instant written at `offset`, with the same `fraction` of a second added to
    each whole second (so their order and distances stay)."""
    zone = timezone(offset)

    def local(match: re.Match[str]) -> str:
        moment = datetime.fromisoformat(match[1].replace("Z", "+00:00")).astimezone(zone)
        offset = moment.strftime("%z")
        digits = f"{moment.microsecond:06d}" if moment.microsecond else fraction
        return f'"{moment.strftime("%Y-%m-%dT%H:%M:%S")}.{digits}{offset[:3]}:{offset[3:]}"'

    return json.loads(_INSTANT.sub(local, json.dumps(body)))


def negative_holds(body: dict[str, Any], count: int) -> dict[str, Any]:
    """The first `count` holds with a negative target: PHY-006, INFO, once each."""
    body = copy.deepcopy(body)
    holds = [decision for decision in body["decisions"] if decision["decision"] == "hold"]
    for decision in holds[:count]:
        decision["target_w"] = -420.0
    return body


def _long_repeated() -> list[dict[str, Any]]:
    bodies = [at_offset(body, timedelta(hours=2), "250") for body in payloads.long_sessions(11)]
    bodies[3] = negative_holds(bodies[3], 7)
    return bodies


def _offsets() -> list[dict[str, Any]]:
    return [at_offset(body, OFFSETS[n % len(OFFSETS)], f"{123456 + n:06d}")
            for n, body in enumerate(payloads.realistic(payloads.POOL))]


def _dense() -> list[dict[str, Any]]:
    bodies = []
    for body in payloads.realistic(payloads.POOL):
        body = negative_holds(body, 5)
        if body["session"]["ended_at"] is not None:
            body["session"]["outcome"] = None  # OUT-006, SHOULD: an ended session without an outcome
        bodies.append(body)
    return bodies


SHAPES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "simulator": lambda: [],  # payloads.write_lines' own pool
    "long-repeated": _long_repeated,
    "offsets": _offsets,
    "dense": _dense,
    "repeated": lambda: payloads.realistic(11),
}
LONG = {"long-repeated"}  # 300+ decisions: a fifth of the payloads keeps the file near the others' size


def write_shape(name: str, path: Path, count: int) -> int:
    """JSON Lines of shape `name`, `count` payloads (a fifth of them for long sessions); returns the count."""
    if name == "simulator":
        return payloads.write_lines(path, count=count)
    count = max(count // 5, 1) if name in LONG else count
    lines = [json.dumps(body).encode() + b"\n" for body in SHAPES[name]()]
    with open(path, "wb", buffering=1 << 20) as out:
        for n in range(count):
            out.write(lines[n % len(lines)])
    return count
