"""Findings of `check` grouped across payloads: one defect is one line, however many payloads show it.

A group is one (check, level, pointer, message, accepting baseline entry): its exact count and the labels of the
first LOCATIONS_KEPT payloads that showed it (file, file:LINE, file[INDEX]). A partition's `Groups` keep every
group they meet (a partition is bounded, so they are too) and travel back from a worker as plain tuples; the
run's own `Groups` keep the first GROUPS_KEPT of each check, in input order, and only count the findings of
any later group (`other`). Merging partitions in input order into the run's groups keeps the same groups as
judging every payload in one pass, so the console and summary.json are the same for any --workers or engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conformance.contract.findings import FINDINGS_BUILT
from conformance.contract.levels import Level
from conformance.report.baseline import Entry

LOCATIONS_KEPT = 5  # labels kept per group: the console and summary.json show the first ones
GROUPS_KEPT = 20  # per check, in the run's groups (summary.json); past them findings are only counted
GROUPS_SHOWN = 5  # per check on the console; the rest are one count line
COUNTED = None  # the pointer of the group of findings counted past the first FINDINGS_BUILT of a body

Key = tuple[str, Level, str | None, str, Entry | None]  # check, level, pointer (COUNTED), message, accepting entry
Rest = tuple[str, Level, Entry | None]  # check, level, accepting entry: findings counted past the groups kept


@dataclass
class Group:
    """One group as the reports see it."""

    check_id: str
    level: Level
    pointer: str | None
    message: str
    entry: Entry | None
    count: int
    locations: list[str]

    def line(self) -> str:
        """`FIRST: CHECK LEVEL POINTER: MESSAGE [accepted ...] (N findings: also LOC, LOC and K more)`: one line
        per group, the same as the old per-finding line when the group has one finding."""
        where = self.pointer or "/"
        text = (f"{self.check_id} {self.level.value} {where}: {self.message}" if self.pointer is not COUNTED else
                f"{self.check_id} {self.level.value}: {self.message}")
        head = f"{self.locations[0]}: {text}{accepted_mark(self.entry)}"
        if self.count == 1:
            return head
        parts = [f"also at {', '.join(self.locations[1:])}"] if len(self.locations) > 1 else []
        if self.count > len(self.locations):
            parts.append(f"{self.count - len(self.locations)} more")
        return f"{head} ({self.count} findings: {' and '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check_id, "level": self.level.value, "pointer": self.pointer,
                "message": self.message, "count": self.count, "locations": self.locations,
                "accepted_by": None if self.entry is None else f"accept[{self.entry.index}]"}


def accepted_mark(entry: Entry | None) -> str:
    return f" [accepted by accept[{entry.index}] until {entry.expires}]" if entry else ""


COUNTED_MESSAGE = f"more finding(s) past the first {FINDINGS_BUILT} of a payload, counted"


class Groups:
    """Groups in order of first appearance, mergeable in input order; `limit` groups per check at most (None:
    all, as a partition keeps them), the findings of the rest counted per check, level and accepting entry in
    `other`."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.kept: dict[Key, list[Any]] = {}  # key -> [count, [locations]]: plain data, cheap to send back
        self.per_check: Counter[str] = Counter()
        self.other: Counter[Rest] = Counter()

    def add(self, key: Key, count: int, location: str) -> None:
        """`count` findings of `key` in the payload labelled `location`."""
        group = self._group(key, count)
        if group is not None:
            kept = group[1]
            if len(kept) < LOCATIONS_KEPT and (not kept or kept[-1] != location):  # a payload's label once
                kept.append(location)

    def merge(self, later: Groups) -> Groups:
        """This part followed by `later`, in place."""
        for key, (count, locations) in later.kept.items():
            group = self._group(key, count)
            if group is not None:
                group[1].extend(locations[:LOCATIONS_KEPT - len(group[1])])  # parts never share a payload
        self.other.update(later.other)
        return self

    def _group(self, key: Key, count: int) -> list[Any] | None:
        """The group of `key` with `count` added (a new one while its check has room), or None: counted in
        `other`."""
        group = self.kept.get(key)
        if group is None:
            if self.limit is not None and self.per_check[key[0]] >= self.limit:
                self.other[key[0], key[1], key[4]] += count
                return None
            self.per_check[key[0]] += 1
            group = self.kept[key] = [0, []]
        group[0] += count
        return group

    def groups(self) -> Iterator[Group]:
        for (check_id, level, pointer, message, entry), (count, locations) in self.kept.items():
            yield Group(check_id, level, pointer, message, entry, count, locations)

    def lines(self, *, verbose: bool) -> list[str]:
        """The console's lines: per check its first GROUPS_SHOWN groups and one line counting the rest; an INFO
        check as one line unless `verbose` (its group, or if it has more than one, their count)."""
        shown: Counter[str] = Counter()
        rest: Counter[Rest] = Counter()  # findings not shown, per check, level and accepting entry
        info: dict[str, list[Any]] = {}  # INFO check -> [findings, groups, its first group]
        lines: list[str] = []
        for group in self.groups():
            if group.level is Level.INFO and not verbose:
                counts = info.setdefault(group.check_id, [0, 0, group])
                counts[0] += group.count
                counts[1] += 1
            elif shown[group.check_id] < GROUPS_SHOWN:
                shown[group.check_id] += 1
                lines.append(group.line())
            else:
                rest[group.check_id, group.level, group.entry] += group.count
        for (check_id, level, entry), count in self.other.items():
            if level is Level.INFO and not verbose:
                info[check_id][0] += count  # past the kept groups, so the check has some
            else:
                rest[check_id, level, entry] += count
        lines.extend(f"{check_id} {level.value}: {count} more finding(s) in other groups{accepted_mark(entry)} "
                     f"(summary.json lists up to {GROUPS_KEPT} groups of a check)"
                     for (check_id, level, entry), count in rest.items())
        for check_id, (count, groups, first) in info.items():
            overflow = "+" if any(key[:2] == (check_id, Level.INFO) for key in self.other) else ""
            lines.append(first.line() if groups == 1 and not overflow else
                         f"{check_id} INFO: {count} finding(s) in {groups}{overflow} groups, first at "
                         f"{first.locations[0]} (--verbose lists them)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """summary.json's `finding_groups`: the groups kept, and per check and level the findings of the rest."""
        return {"locations_kept": LOCATIONS_KEPT, "groups_kept_per_check": GROUPS_KEPT,
                "groups": [group.to_dict() for group in self.groups()],
                "other": [{"check": check_id, "level": level.value, "count": count,
                           "accepted_by": None if entry is None else f"accept[{entry.index}]"}
                          for (check_id, level, entry), count in self.other.items()]}
