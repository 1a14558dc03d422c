"""Accepted-failure baselines: the known defects a team ships with while they are fixed (`--baseline FILE`).

    [[accept]]
    check = "CNT-002"                 # required
    session_id = 964                  # optional: only this session's findings
    pointer = "/session/commands_applied"   # optional: only findings at this JSON pointer
    reason = "counter fix ships in 2.4 (TICKET-123)"   # required
    expires = 2027-01-31              # required: after this day the entry accepts nothing

A finding one live entry matches is accepted: it is reported, with the entry's reason and expiry, but does
not fail the verdict. An expired entry accepts nothing. An entry that matched no finding of the run is
stale and fails it, so that a baseline cannot outlive the defects it names. Of a flood (more than
FINDINGS_BUILT findings of one check in one body) only the first are built: an entry naming a pointer judges
those, one without a pointer accepts the counted rest too (`accepts_counted`). Matching is pure: the live run
and `check` ask `Acceptance.accepts` for each finding as it is recorded, and read the outcome at the end.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from conformance.contract.settings import read_toml
from conformance.errors import ConfigError

_REQUIRED: dict[str, type] = {"check": str, "reason": str, "expires": date}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {"session_id": (int, str), "pointer": str}
_SESSION_IN_URL = re.compile(r"/hems-sessions/([^/?#]+)")


@dataclass(frozen=True)
class Entry:
    """One `[[accept]]` table: which findings it accepts, why, and until when."""

    index: int  # its place in the file, from 0: how messages name it (accept[0])
    check: str
    reason: str
    expires: date
    session_id: str | None = None
    pointer: str | None = None

    def matches(self, check_id: str, pointer: str, session_id: str | None) -> bool:
        return (check_id == self.check and (self.pointer is None or pointer == self.pointer)
                and (self.session_id is None or session_id == self.session_id))

    def expired(self, today: date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        narrowing = "".join(f", {key} {value}" for key, value in (("session", self.session_id),
                                                                  ("pointer", self.pointer)) if value is not None)
        return f"accept[{self.index}] ({self.check}{narrowing})"

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.index, "check": self.check, "session_id": self.session_id, "pointer": self.pointer,
                "reason": self.reason, "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Baseline:
    path: str
    entries: tuple[Entry, ...]

    def known_checks(self, known: Iterable[str]) -> Baseline:
        """The baseline, or a ConfigError naming the first entry whose check the suite does not have."""
        ids = set(known)
        for entry in self.entries:
            if entry.check not in ids:
                raise ConfigError(f"baseline {self.path}: accept[{entry.index}].check: unknown check {entry.check!r}")
        return self


def load_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file; ConfigError (exit 2) naming the file and key otherwise."""
    where = f"baseline {path}"
    try:
        data = read_toml(path)
    except ConfigError as exc:  # unreadable, not UTF-8, not TOML, nested too deeply
        raise ConfigError(f"baseline {exc}") from None
    unknown = sorted(set(data) - {"accept"})
    if unknown:
        raise ConfigError(f"{where}: {unknown[0]}: unknown key (a baseline holds [[accept]] tables only)")
    tables = data.get("accept", [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise ConfigError(f"{where}: accept: expected [[accept]] tables")
    return Baseline(str(path), tuple(_entry(table, n, where) for n, table in enumerate(tables)))


def _entry(table: dict[str, Any], index: int, where: str) -> Entry:
    key = f"{where}: accept[{index}]"
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key (known: {', '.join([*_REQUIRED, *_OPTIONAL])})")
    for name, kind in _REQUIRED.items():
        if name not in table:
            raise ConfigError(f"{key}.{name}: missing (required)")
        value = table[name]
        if not isinstance(value, kind) or isinstance(value, datetime) or (isinstance(value, str) and not value.strip()):
            wanted = "a date such as 2027-01-31 (no quotes, no time)" if kind is date else "a non-empty string"
            raise ConfigError(f"{key}.{name}: expected {wanted}, got {value!r}")
    for name, kinds in _OPTIONAL.items():
        if name in table and (not isinstance(table[name], kinds) or isinstance(table[name], bool)):
            raise ConfigError(f"{key}.{name}: expected {'an integer or a string' if name == 'session_id' else 'a string'}, "
                              f"got {table[name]!r}")
    pointer = table.get("pointer")
    if pointer is not None and pointer and not pointer.startswith("/"):
        raise ConfigError(f"{key}.pointer: expected a JSON pointer starting with /, got {pointer!r}")
    session = table.get("session_id")
    return Entry(index, table["check"], table["reason"].strip(), table["expires"],
                 None if session is None else str(session), pointer)


def session_of_url(url: str) -> str | None:
    """The session id a request's path names (the last segment after /hems-sessions/), if any."""
    match = _SESSION_IN_URL.search(url)
    return match.group(1) if match else None


def session_of_payload(body: Any) -> str | None:
    """The session id a payload serves (/session/id), if any."""
    session = body.get("session") if isinstance(body, dict) else None
    value = session.get("id") if isinstance(session, dict) else None
    return None if value is None or isinstance(value, (dict, list)) else str(value)


class Acceptance:
    """The baseline applied to one run: asked for every finding as it is recorded (thread-safe), it says which
    live entry accepts it and remembers which entries matched anything, and which matched only while expired.
    A run judged in partitions gives each its own `fresh` copy (picklable: the lock is not sent) and merges the
    copies' counts back (`merge`), so the outcome does not depend on how the run was split."""

    def __init__(self, baseline: Baseline, today: date | None = None) -> None:
        self.baseline = baseline
        self.today = today or datetime.now(UTC).date()
        self.accepted: dict[int, int] = {entry.index: 0 for entry in baseline.entries}  # findings per entry
        self.expired_hits: dict[int, int] = {entry.index: 0 for entry in baseline.entries}
        self._lock = threading.Lock()

    def accepts(self, check_id: str, pointer: str, session_id: str | None) -> Entry | None:
        return self._matched([e for e in self.baseline.entries if e.matches(check_id, pointer, session_id)], 1)

    def accepts_counted(self, check_id: str, session_id: str | None, count: int) -> Entry | None:
        """The entry that accepts `count` findings of a check known only by their number (those past the first
        ones built per body, in a flood): an entry that names no pointer; one that does judges the built ones."""
        return self._matched([e for e in self.baseline.entries
                              if e.pointer is None and e.matches(check_id, "", session_id)], count)

    def _matched(self, matching: list[Entry], count: int) -> Entry | None:
        live = [e for e in matching if not e.expired(self.today)]
        with self._lock:
            for entry in matching:
                counter = self.expired_hits if entry.expired(self.today) else self.accepted
                counter[entry.index] += count
        return live[0] if live else None

    def fresh(self) -> Acceptance:
        """The same baseline on the same day, with nothing matched yet."""
        return Acceptance(self.baseline, self.today)

    def merge(self, later: Acceptance) -> Acceptance:
        """This run's matches plus `later`'s (the same baseline), in place."""
        with self._lock:
            for mine, theirs in ((self.accepted, later.accepted), (self.expired_hits, later.expired_hits)):
                for index, count in theirs.items():
                    mine[index] += count
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def stale(self) -> list[Entry]:
        """Entries that matched no finding at all, expired or not: to be deleted."""
        return [e for e in self.baseline.entries if not self.accepted[e.index] and not self.expired_hits[e.index]]

    def expired(self) -> list[Entry]:
        """Expired entries that still match findings: those findings fail again."""
        return [e for e in self.baseline.entries if self.expired_hits[e.index]]

    def to_dict(self) -> dict[str, Any]:
        """The baseline section of summary.json."""
        used = [e.to_dict() | {"findings": self.accepted[e.index]} for e in self.baseline.entries
                if self.accepted[e.index]]
        return {"file": self.baseline.path, "today": self.today.isoformat(), "accepted": used,
                "expired": [e.to_dict() | {"findings": self.expired_hits[e.index]} for e in self.expired()],
                "stale": [e.to_dict() for e in self.stale()]}

    def lines(self) -> list[str]:
        """The console's account of the baseline: one line per accepted, expired and stale entry."""
        out = [f"accepted: {e.describe()}: {self.accepted[e.index]} finding(s) until {e.expires}: {e.reason}"
               for e in self.baseline.entries if self.accepted[e.index]]
        out += [f"expired: {e.describe()} expired on {e.expires}: its {self.expired_hits[e.index]} finding(s) fail "
                f"again (fix them, or renew the entry)" for e in self.expired()]
        out += [f"stale: {e.describe()} matched nothing in this run: delete it from {self.baseline.path}"
                for e in self.stale()]
        return out
