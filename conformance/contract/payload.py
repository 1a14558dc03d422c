"""A read-only view of one HEMSSessionDetail payload, parsed once so every invariant stays small."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

Instant = timedelta  # distance from 1970-01-01T00:00:00Z: never overflows, unlike a datetime near year 1 or 9999

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # aware minus aware works on day numbers: no overflow at year 1 or 9999
_LEAP_SECOND = re.compile(r"(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:)60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_LAST_MICROSECOND = timedelta(microseconds=999_999)


def parse_instant(value: Any) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime; None for anything without an offset or unparseable.

    Time invariants compare instants, never strings; a value this cannot read is SCH-002's to report.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def instant(value: Any) -> Instant | None:
    """An RFC 3339 date-time as a comparable instant, safe for sentinels such as 0001-01-01T00:00:00Z.

    A leap second (23:59:60, valid RFC 3339, which datetime cannot hold) reads as the last microsecond
    of its minute: after every earlier time, before the next minute, so no order or window check can
    fire on it falsely (two times inside one leap second compare equal).
    """
    leap = _LEAP_SECOND.fullmatch(value) if isinstance(value, str) and ":60" in value else None
    parsed = parse_instant(f"{leap[1]}59{leap[2]}" if leap else value)
    if parsed is None:
        return None
    since_epoch = parsed - _EPOCH
    return since_epoch + _LAST_MICROSECOND if leap else since_epoch


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Traced(dict):
    """A JSON object that records every key read through it (as a path) in a shared set."""

    def __init__(self, items: dict[str, Any], path: tuple[Any, ...], reads: set[tuple[Any, ...]]) -> None:
        super().__init__(items)
        self.path, self.reads = path, reads

    def __getitem__(self, key: str) -> Any:
        self.reads.add((*self.path, key))
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.add((*self.path, key))
        return super().get(key, default)


def traced(value: Any, path: tuple[Any, ...], reads: set[tuple[Any, ...]]) -> Any:
    """A copy of a JSON value whose objects record the paths an invariant reads (see Judge)."""
    if isinstance(value, dict):
        return _Traced({k: traced(v, (*path, k), reads) for k, v in value.items()}, path, reads)
    if isinstance(value, list):
        return [traced(v, (*path, i), reads) for i, v in enumerate(value)]
    return value


@dataclass(frozen=True)
class SessionView:
    """The payload plus derived lookups. Built only for payloads whose shape passed the schema."""

    payload: dict[str, Any]

    @property
    def session(self) -> dict[str, Any]:
        return self.payload["session"]

    @property
    def decisions(self) -> list[dict[str, Any]]:
        return self.payload["decisions"]

    @property
    def commands(self) -> list[dict[str, Any]]:
        return self.payload["commands"]

    @property
    def ongoing(self) -> bool:
        return self.session["ended_at"] is None

    @cached_property
    def started(self) -> Instant | None:
        return instant(self.session["started_at"])

    @cached_property
    def ended(self) -> Instant | None:
        return instant(self.session["ended_at"])

    @cached_property
    def decision_times(self) -> list[Instant | None]:
        return [instant(d["time"]) for d in self.decisions]

    @cached_property
    def command_times(self) -> list[Instant | None]:
        return [instant(c["time"]) for c in self.commands]

    @cached_property
    def command_index(self) -> dict[int | float, int]:
        """Command id -> index of its first occurrence (7 and 7.0 are the same id)."""
        index: dict[int | float, int] = {}
        for i, command in enumerate(self.commands):
            index.setdefault(command["id"], i)
        return index

    @cached_property
    def pending(self) -> int | None:
        """The command whose verdict may still be the dispatch-time one, or None.

        "The first four mirror the dispatch-time CommandStatus"; verification overwrites `applied` once a
        Current.Offered sample lands. So while a session runs, its newest command (latest time, else the
        last row) may read `applied` without a sample: that one is pending, not unproven.
        """
        if not self.ongoing or not self.commands:
            return None
        times = self.command_times
        newest = len(times) - 1
        if None not in times:
            newest = max(range(len(times)), key=lambda i: (times[i], i))
        command = self.commands[newest]
        if command["outcome"] == "applied" and command["observed_current_offered_a"] is None:
            return newest
        return None

    def commands_with(self, verdicts: frozenset[str]) -> list[int]:
        return [i for i, c in enumerate(self.commands) if c["outcome"] in verdicts]

    def decisions_of_kind(self, kind: str) -> list[int]:
        return [i for i, d in enumerate(self.decisions) if d["decision"] == kind]
