"""Benchmark payloads: simulated sessions of a chosen size, from the loop model, deterministic for a seed.

Sizes follow the issue: a realistic session has about 50 decisions and 10 commands; a long one 300 decisions.
Every simulated payload is conformant, so the benchmarks time the full path of every invariant.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conformance.model.loop import RandomDraw, draw_scenario, simulate, surplus_profile

REALISTIC_DECISIONS = range(50, 52)  # 50 readings, plus the finalize stop when the session was charging
REALISTIC_COMMANDS = range(8, 13)
LONG_DECISIONS = range(300, 302)
_MAX_DRAWS = 20_000


def sessions(count: int, readings: int, decisions: range, commands: range | None, seed: int) -> list[dict[str, Any]]:
    """`count` ended sessions of `readings` decision points whose sizes fall in `decisions` and `commands`."""
    draw = RandomDraw(random.Random(seed))
    found: list[dict[str, Any]] = []
    for attempt in range(_MAX_DRAWS):
        if len(found) == count:
            return found
        shape = draw.choice(("sunset", "sunset", "sunny", "cloudy"))
        scenario = draw_scenario(draw, 10_000 + attempt, 1_000_000 + 1_000 * attempt, ended=True, shape=shape)
        body = simulate(dataclasses.replace(scenario, surplus_w=surplus_profile(draw, shape, readings)))
        if len(body["decisions"]) in decisions and (commands is None or len(body["commands"]) in commands):
            found.append(body)
    raise RuntimeError(f"only {len(found)} of {count} sessions of the wanted size in {_MAX_DRAWS} draws")


def realistic(count: int, seed: int = 1) -> list[dict[str, Any]]:
    return sessions(count, 50, REALISTIC_DECISIONS, REALISTIC_COMMANDS, seed)


def long_sessions(count: int, seed: int = 2) -> list[dict[str, Any]]:
    return sessions(count, 300, LONG_DECISIONS, None, seed)


def describe(bodies: list[dict[str, Any]]) -> str:
    """Sizes of a payload set, checked rather than assumed: decisions, commands and JSON bytes."""
    decisions = [len(b["decisions"]) for b in bodies]
    commands = [len(b["commands"]) for b in bodies]
    size = sum(len(json.dumps(b)) for b in bodies) / len(bodies)
    return (f"{len(bodies)} payloads, decisions {min(decisions)}-{max(decisions)}, "
            f"commands {min(commands)}-{max(commands)} (mean {sum(commands) / len(commands):.1f}), "
            f"{size / 1024:.1f} KiB of JSON each")


POOL = 200
BROKEN_EVERY = 100  # every 100th payload breaks CNT-004, so the finding path runs too


def write_lines(path: Path, *, count: int | None = None, size: int | None = None) -> int:
    """JSON Lines of realistic sessions cycling through a pool of POOL, every BROKEN_EVERY-th one broken: `count`
    payloads, or about `size` bytes. Returns the count."""
    pool = realistic(POOL)
    broken = copy.deepcopy(pool[0])
    broken["session"]["commands_sent"] += 1
    lines = [json.dumps(body).encode() + b"\n" for body in pool]
    broken_line = json.dumps(broken).encode() + b"\n"
    written = n = 0
    with open(path, "wb", buffering=1 << 20) as out:
        while (n < count) if count is not None else (written < (size or 0)):
            line = broken_line if n % BROKEN_EVERY == BROKEN_EVERY - 1 else lines[n % POOL]
            out.write(line)
            written += len(line)
            n += 1
    return n


def run_child(command: list[str], out_path: Path, timeout: float) -> tuple[int, float, int, float]:
    """Run `command` with stdout to `out_path` (stderr beside it, .err); return its exit code, wall seconds, the
    peak RSS in KiB of the largest process of its tree and the tree's CPU seconds (`os.wait4`: the child and the
    workers it reaped)."""
    start = time.perf_counter()
    with open(out_path, "wb") as out, open(out_path.with_suffix(".err"), "wb") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                child.wait()
                sys.exit(f"{' '.join(command)}: no result within {timeout:.0f} s")
            time.sleep(0.05)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime  # Linux: KiB
