"""A read-only view of one HEMSSessionDetail payload, parsed once so every invariant stays small."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
    if value.__class__ is str and value[10:11] == "T" and ":60" not in value:  # the common case, read once
        try:
            parsed = datetime.fromisoformat(value)  # as parse_instant reads it: upper() leaves this form alone
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed - _EPOCH
    leap = _LEAP_SECOND.fullmatch(value) if isinstance(value, str) and ":60" in value else None
    parsed = parse_instant(f"{leap[1]}59{leap[2]}" if leap else value)
    if parsed is None:
        return None
    since_epoch = parsed - _EPOCH
    return since_epoch + _LAST_MICROSECOND if leap else since_epoch


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_NONE: list[int] = []  # no rows: shared, like every list a view hands out, and never changed


class SessionView:
    """The payload plus derived lookups, built in one pass over its decisions and one over its commands, so
    that no check parses an instant or scans the rows for a kind or verdict again. Built only for payloads
    whose shape passed the schema; read-only (the lists it hands out are shared by every check)."""

    __slots__ = ("payload", "session", "decisions", "commands", "ongoing", "started", "ended", "decision_times",
                 "command_times", "command_index", "pending", "references", "dispatched", "_kinds", "_verdicts")

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.session: dict[str, Any] = payload["session"]
        self.decisions: list[dict[str, Any]] = payload["decisions"]
        self.commands: list[dict[str, Any]] = payload["commands"]
        self.ongoing: bool = self.session["ended_at"] is None
        self.started: Instant | None = instant(self.session["started_at"])
        self.ended: Instant | None = instant(self.session["ended_at"])
        self.decision_times: list[Instant | None] = []
        self._kinds: dict[str, list[int]] = {}
        self.references: list[tuple[int, int | float]] = []  # (decision index, steering_command_id) where one is named
        self.dispatched: list[int] = []  # indices of the decisions marked dispatched
        times, kinds, references, dispatched = self.decision_times.append, self._kinds, self.references, self.dispatched
        for i, decision in enumerate(self.decisions):
            times(instant(decision["time"]))
            kinds.setdefault(decision["decision"], []).append(i)
            if decision["steering_command_id"] is not None:
                references.append((i, decision["steering_command_id"]))
            if decision["dispatched"]:
                dispatched.append(i)
        self.command_times: list[Instant | None] = []
        self.command_index: dict[int | float, int] = {}  # command id -> index of its first occurrence (7 = 7.0)
        self._verdicts: dict[str, list[int]] = {}
        times, index, verdicts = self.command_times.append, self.command_index.setdefault, self._verdicts
        for i, command in enumerate(self.commands):
            times(instant(command["time"]))
            index(command["id"], i)
            verdicts.setdefault(command["outcome"], []).append(i)
        self.pending: int | None = self._pending() if self.ongoing and self.commands else None

    def _pending(self) -> int | None:
        """The command whose verdict may still be the dispatch-time one, or None.

        "The first four mirror the dispatch-time CommandStatus"; verification overwrites `applied` once a
        Current.Offered sample lands. So while a session runs, its newest command (latest time, else the
        last row) may read `applied` without a sample: that one is pending, not unproven.
        """
        times = self.command_times
        newest = len(times) - 1
        if None not in times:
            newest = max(range(len(times)), key=lambda i: (times[i], i))
        command = self.commands[newest]
        if command["outcome"] == "applied" and command["observed_current_offered_a"] is None:
            return newest
        return None

    def commands_with(self, verdicts: frozenset[str]) -> list[int]:
        """Indices of the commands whose outcome is in `verdicts`, in order."""
        if len(verdicts) == 1:
            for verdict in verdicts:
                return self._verdicts.get(verdict, _NONE)
        groups = [self._verdicts[v] for v in verdicts if v in self._verdicts]
        return groups[0] if len(groups) == 1 else sorted(i for group in groups for i in group)

    def decisions_of_kind(self, kind: str) -> list[int]:
        return self._kinds.get(kind, _NONE)
