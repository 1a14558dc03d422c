"""A read-only view of one HEMSSessionDetail payload, parsed once so every invariant stays small."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

Instant = timedelta  # distance from 1970-01-01T00:00:00Z: never overflows, unlike a datetime near year 1 or 9999

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # aware minus aware works on day numbers: no overflow at year 1 or 9999
_LEAP_SECOND = re.compile(r"(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:)60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_LAST_MICROSECOND = timedelta(microseconds=999_999)
_FROM_ISO = datetime.fromisoformat


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


def instants(values: list[Any]) -> list[Instant | None]:
    """`instant` of each value. The common case (every value in RFC 3339's plain form with one and the same
    offset, as a deployment writes its rows) takes one regular expression over them all and parses the local
    times without their offset, which is the same instant: local time minus offset. Anything else (a leap
    second, mixed offsets, a naive or unreadable time, no string) takes `instant` value by value."""
    try:
        common = _ONE_OFFSET.fullmatch("\n".join(values))
    except TypeError:  # a value that is no string
        common = None
    if common is not None:
        suffix = common[1]
        base, cut = _offset_base(suffix), -len(suffix)
        if base is not None:
            try:
                return [_FROM_ISO(v[:cut]) - base for v in values]
            except ValueError:  # a field out of range (hour 24, day 31 of June, second 60): `instant` says
                pass
    return [instant(v) for v in values]


_LOCAL_TIME = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?"
# ASCII digits only: `\d` would take other scripts' digits too
_ONE_OFFSET = re.compile(f"{_LOCAL_TIME}(Z|[+-][0-9]{{2}}:[0-9]{{2}})(?:\n{_LOCAL_TIME}\\1)*")
_NAIVE_EPOCH = datetime(1970, 1, 1)


@lru_cache(maxsize=64)
def _offset_base(suffix: str) -> datetime | None:
    """The naive local time at the epoch under offset `suffix` (local minus it is the instant); None for an
    offset `datetime` refuses (+24:00)."""
    try:
        offset = _FROM_ISO(f"2000-01-01T00:00:00{suffix}").utcoffset()
    except ValueError:
        return None
    return None if offset is None else _NAIVE_EPOCH + offset  # never None: the suffix always carries an offset


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Traced(dict[str, Any]):
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


_NONE: list[int] = []  # no rows: shared, like every list a view hands out, and never changed


class SessionView:
    """The payload plus derived lookups, each one pass over the rows, so that no check parses an instant or
    scans the rows for a kind or verdict again: `kinds` (decision kind -> indices) and `verdicts` (outcome ->
    command indices) also serve the coverage counts. Built only for payloads whose shape passed the schema;
    read-only (the lists and dicts it hands out are shared by every check)."""

    __slots__ = ("payload", "session", "decisions", "commands", "ongoing", "started", "ended", "decision_times",
                 "command_times", "command_index", "pending", "references", "dispatched", "kinds", "verdicts")

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.session: dict[str, Any] = payload["session"]
        self.decisions: list[dict[str, Any]] = payload["decisions"]
        self.commands: list[dict[str, Any]] = payload["commands"]
        self.ongoing: bool = self.session["ended_at"] is None
        self.started: Instant | None = instant(self.session["started_at"])
        self.ended: Instant | None = instant(self.session["ended_at"])
        decisions, commands = self.decisions, self.commands
        self.decision_times: list[Instant | None] = _times(decisions)
        self.references: list[tuple[int, Any]] = _references(decisions)
        self.dispatched: list[int] = _dispatched(decisions)
        self.kinds: dict[str, list[int]] = _grouped(decisions, "decision")
        self.command_times: list[Instant | None] = _times(commands)
        self.command_index: dict[int | float, int] = _command_index(commands)
        self.verdicts: dict[str, list[int]] = _grouped(commands, "outcome")
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

    def commands_with(self, wanted: frozenset[str]) -> list[int]:
        """Indices of the commands whose outcome is in `wanted`, in order."""
        if len(wanted) == 1:
            for verdict in wanted:
                return self.verdicts.get(verdict, _NONE)
        groups = [self.verdicts[v] for v in wanted if v in self.verdicts]
        return groups[0] if len(groups) == 1 else sorted(i for group in groups for i in group)

    def decisions_of_kind(self, kind: str) -> list[int]:
        """Indices of the decisions of this kind, in order."""
        return self.kinds.get(kind, _NONE)


class LazyView(SessionView):
    """The lookups of a `SessionView`, each made when a check first asks for it, so that reading a payload
    through it reads only what the asking check needs. For a payload of the wrong shape (Judge builds one per
    invariant inside the traced region: an invariant's reads are then its own, and a lookup the shape breaks
    fails only the invariants that ask for it), and where only a few lookups are wanted (coverage)."""

    def __init__(self, payload: dict[str, Any]) -> None:  # reads nothing yet
        self.payload = payload

    session = cached_property(lambda self: self.payload["session"])
    decisions = cached_property(lambda self: self.payload["decisions"])
    commands = cached_property(lambda self: self.payload["commands"])
    ongoing = cached_property(lambda self: self.session["ended_at"] is None)
    started = cached_property(lambda self: instant(self.session["started_at"]))
    ended = cached_property(lambda self: instant(self.session["ended_at"]))
    decision_times = cached_property(lambda self: _times(self.decisions))
    references = cached_property(lambda self: _references(self.decisions))
    dispatched = cached_property(lambda self: _dispatched(self.decisions))
    command_times = cached_property(lambda self: _times(self.commands))
    command_index = cached_property(lambda self: _command_index(self.commands))
    kinds = cached_property(lambda self: _grouped(self.decisions, "decision"))
    verdicts = cached_property(lambda self: _grouped(self.commands, "outcome"))
    pending = cached_property(lambda self: self._pending() if self.ongoing and self.commands else None)


# The lookups of a view, each one pass over its rows (comprehensions: the cheapest single passes in Python).

def _times(rows: list[dict[str, Any]]) -> list[Instant | None]:
    return instants([row["time"] for row in rows])


def _references(decisions: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """(decision index, steering_command_id) where one is named."""
    return [(i, d["steering_command_id"]) for i, d in enumerate(decisions) if d["steering_command_id"] is not None]


def _dispatched(decisions: list[dict[str, Any]]) -> list[int]:
    """The decisions marked dispatched."""
    return [i for i, d in enumerate(decisions) if d["dispatched"]]


def _command_index(commands: list[dict[str, Any]]) -> dict[int | float, int]:
    """Command id -> index of its first occurrence (7 and 7.0 are one id): later rows written first, then
    overwritten."""
    return {c["id"]: i for i, c in reversed(list(enumerate(commands)))}


def _grouped(rows: list[dict[str, Any]], name: str) -> dict[str, list[int]]:
    """Value of `name` (a decision's kind, a command's outcome) -> indices of the rows that have it, in order."""
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        value = row[name]
        group = groups.get(value)
        if group is None:
            groups[value] = [i]
        else:
            group.append(i)
    return groups
