"""Accepted-failure baselines: the known defects a team ships with while they are fixed (`--baseline FILE`).

    [[accept]]
    check = "CNT-002"                 # required
    session_id = 964                  # optional: only this session's findings
    pointer = "/session/commands_applied"   # optional: only findings at this JSON pointer
    reason = "counter fix ships in 2.4 (TICKET-123)"   # required
    expires = 2027-01-31              # required: after this day the entry accepts nothing

A finding one live entry matches is accepted: it is reported, with the entry's reason and expiry, but does
not fail the verdict. An expired entry accepts nothing. An entry that matched nothing is judged by what the run
saw: **stale** when its check was exercised (and its session, if it names one, was judged) and found nothing,
so the defect is gone and the entry must go (exit 1, but the deployment is conformant: `STALE_ONLY`);
**unobserved** when its check was skipped or not exercised, or its session not judged, in this run: kept,
neither used nor stale, failing nothing. A live entry that expires within `warn_days` is said so before it does.
Of a flood (more than FINDINGS_BUILT findings of one check in one body) only the first are built: an entry
naming a pointer judges those, one without a pointer accepts the counted rest too (`accepts_counted`).
Matching is pure: the live run and `check` ask `Acceptance.accepts` for each finding as it is recorded, and
read the outcome at the end (`to_dict`, and `account_lines` of it for every report). `updated` writes the
baseline a run asks for with `--baseline-update FILE`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w

from conformance.contract.settings import read_toml
from conformance.errors import ConfigError
from conformance.report.records import CheckRecord, Status

_REQUIRED: dict[str, type] = {"check": str, "reason": str, "expires": date}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {"session_id": (int, str), "pointer": str}
WARN_DAYS = 7  # a live entry expiring within this many days is said so (--baseline-warn-days)
EXPIRY_DAYS = 30  # the expiry of the entries --baseline-update writes, from today (--baseline-expiry-days)
PLACEHOLDER_REASON = "TODO: why this failure is accepted, and the ticket that fixes it"
STALE_ONLY = "conformant (stale baseline)"  # summary.json's verdict of a run whose only problem is stale entries
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
        return _named(self.to_dict())

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


@dataclass(frozen=True)
class BaselineDays:
    """How far ahead a baseline looks: entries expiring within `warn` days are said so; the entries
    --baseline-update writes expire `expiry` days from today."""

    warn: int = WARN_DAYS
    expiry: int = EXPIRY_DAYS


def baseline_to_apply(baseline: str | None, update: str | None, known: Iterable[str]) -> Baseline | None:
    """The baseline a run applies: --baseline FILE; else the file --baseline-update rewrites (its entries keep
    their reasons and expiries), or, where it does not exist yet, an empty one; else none. ConfigError (exit 2,
    before any request) for a file that cannot be read, or an update whose folder does not exist."""
    if update and not Path(update).absolute().parent.is_dir():
        raise ConfigError(f"--baseline-update {update}: no such folder {Path(update).absolute().parent.name!r}")
    if baseline or (update and Path(update).exists()):
        return load_baseline(baseline or str(update)).known_checks(known)
    return Baseline(update, ()) if update else None


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
    live entry accepts it and remembers which entries matched anything, which matched only while expired, and
    which of the sessions the entries name were judged (`saw_session`). With `recording` (--baseline-update) it
    also keeps, per check and session, the pointers of the findings no entry matched: today's new failures.
    A run judged in partitions gives each its own `fresh` copy (picklable: the lock is not sent) and merges the
    copies' counts back (`merge`), so the outcome does not depend on how the run was split."""

    def __init__(self, baseline: Baseline, today: date | None = None, *, warn_days: int = WARN_DAYS,
                 recording: bool = False) -> None:
        self.baseline = baseline
        self.today = today or datetime.now(UTC).date()
        self.warn_days = warn_days
        self.recording = recording
        self.accepted: dict[int, int] = {entry.index: 0 for entry in baseline.entries}  # findings per entry
        self.expired_hits: dict[int, int] = {entry.index: 0 for entry in baseline.entries}
        self.sessions_seen: set[str] = set()  # of the sessions entries name, those this run judged
        self.unmatched: dict[tuple[str, str | None], set[str]] = {}  # recording: (check, session) -> pointers
        self._named = {entry.session_id for entry in baseline.entries if entry.session_id is not None}
        self._lock = threading.Lock()

    def accepts(self, check_id: str, pointer: str, session_id: str | None) -> Entry | None:
        return self._matched([e for e in self.baseline.entries if e.matches(check_id, pointer, session_id)], 1,
                             (check_id, session_id, pointer))

    def accepts_counted(self, check_id: str, session_id: str | None, count: int) -> Entry | None:
        """The entry that accepts `count` findings of a check known only by their number (those past the first
        ones built per body, in a flood): an entry that names no pointer; one that does judges the built ones."""
        return self._matched([e for e in self.baseline.entries
                              if e.pointer is None and e.matches(check_id, "", session_id)], count,
                             (check_id, session_id, None))

    def saw_session(self, session_id: str | None) -> None:
        """A body of this session was judged: entries naming it can be stale (only named sessions are kept)."""
        if session_id in self._named:
            with self._lock:
                self.sessions_seen.add(session_id)

    def _matched(self, matching: list[Entry], count: int, finding: tuple[str, str | None, str | None]) -> Entry | None:
        live = [e for e in matching if not e.expired(self.today)]
        with self._lock:
            for entry in matching:
                counter = self.expired_hits if entry.expired(self.today) else self.accepted
                counter[entry.index] += count
            if self.recording and not matching:  # a finding an expired entry matches is no new one
                check_id, session_id, pointer = finding
                self.unmatched.setdefault((check_id, session_id), set()).add(pointer or "")
        if finding[1] is not None:
            self.saw_session(finding[1])
        return live[0] if live else None

    def fresh(self) -> Acceptance:
        """The same baseline on the same day, with nothing matched yet."""
        return Acceptance(self.baseline, self.today, warn_days=self.warn_days, recording=self.recording)

    def merge(self, later: Acceptance) -> Acceptance:
        """This run's matches plus `later`'s (the same baseline), in place."""
        with self._lock:
            for mine, theirs in ((self.accepted, later.accepted), (self.expired_hits, later.expired_hits)):
                for index, count in theirs.items():
                    mine[index] += count
            self.sessions_seen |= later.sessions_seen
            for key, pointers in later.unmatched.items():
                self.unmatched.setdefault(key, set()).update(pointers)
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def _unmatched(self) -> list[Entry]:
        return [e for e in self.baseline.entries if not self.accepted[e.index] and not self.expired_hits[e.index]]

    def observed(self, entry: Entry, exercised: Collection[str]) -> bool:
        """Whether this run could have seen the entry's findings: its check exercised, its session judged."""
        return entry.check in exercised and (entry.session_id is None or entry.session_id in self.sessions_seen)

    def stale(self, exercised: Collection[str]) -> list[Entry]:
        """Entries that matched nothing although their check was exercised (and their session judged): the
        defect is gone, delete them. `exercised`: the ids of the checks that met what they judge."""
        return [e for e in self._unmatched() if self.observed(e, exercised)]

    def unobserved(self, exercised: Collection[str]) -> list[Entry]:
        """Entries that matched nothing because this run never looked: kept, neither used nor stale."""
        return [e for e in self._unmatched() if not self.observed(e, exercised)]

    def expired(self) -> list[Entry]:
        """Expired entries that still match findings: those findings fail again."""
        return [e for e in self.baseline.entries if self.expired_hits[e.index]]

    def expiring(self, exercised: Collection[str]) -> list[Entry]:
        """Live entries that are still needed (or unobserved) and expire within `warn_days`."""
        stale = {e.index for e in self.stale(exercised)}
        return [e for e in self.baseline.entries if e.index not in stale and not e.expired(self.today)
                and e.expires <= self.today + timedelta(days=self.warn_days)]

    def to_dict(self, exercised: Collection[str]) -> dict[str, Any]:
        """The baseline section of summary.json (`exercised`: the ids of the checks that met what they judge)."""
        used = [e.to_dict() | {"findings": self.accepted[e.index]} for e in self.baseline.entries
                if self.accepted[e.index]]
        return {"file": self.baseline.path, "today": self.today.isoformat(), "warn_days": self.warn_days,
                "accepted": used,
                "expired": [e.to_dict() | {"findings": self.expired_hits[e.index]} for e in self.expired()],
                "stale": [e.to_dict() for e in self.stale(exercised)],
                "unobserved": [e.to_dict() | {"why": "its session was not judged" if e.check in exercised else
                                              "its check was skipped or not exercised"}
                               for e in self.unobserved(exercised)],
                "expiring": [e.to_dict() for e in self.expiring(exercised)]}

    def lines(self, exercised: Collection[str]) -> list[str]:
        """The console's account of the baseline (see `account_lines`)."""
        return account_lines(self.to_dict(exercised))

    def updated(self, records: Collection[CheckRecord], strict: bool, *,
                expiry_days: int = EXPIRY_DAYS) -> BaselineUpdate:
        """The baseline `--baseline-update` writes: the entries still needed or unobserved kept as they are
        (reasons and expiries; an expired one stays expired: renewing is a person's decision), the stale ones
        pruned, and one new entry per failing check and session for the findings no entry matched (its
        pointer when they all share one), with PLACEHOLDER_REASON and an expiry `expiry_days` from today."""
        failing = {r.id for r in records if r.status(strict) is Status.FAILED}
        stale = {e.index for e in self.stale(exercised_checks(records))}
        kept = [e for e in self.baseline.entries if e.index not in stale]
        expires = self.today + timedelta(days=expiry_days)
        fresh = [Entry(len(kept) + n, check, PLACEHOLDER_REASON, expires, session,
                       next(iter(pointers)) if len(pointers) == 1 and "" not in pointers else None)
                 for n, ((check, session), pointers) in enumerate(sorted(
                     ((key, pointers) for key, pointers in self.unmatched.items() if key[0] in failing),
                     key=lambda item: (item[0][0], _session_order(item[0][1]))))]
        entries = [*kept, *fresh]
        expired = sum(e.expired(self.today) for e in kept)
        new_checks = Counter(e.check for e in fresh)
        line = (f"{len(fresh)} new entr{_y(len(fresh))}"
                + (f" ({', '.join(f'{c} x{n}' if n > 1 else c for c, n in sorted(new_checks.items()))}; "
                   f"expires {expires}, reason to fill in)" if fresh else "")
                + f", {len(kept)} kept" + (f" ({expired} expired, as they were: renew them by hand)" if expired else "")
                + f", {len(stale)} stale pruned")
        return BaselineUpdate(_toml(entries, self.today), line, len(fresh))


@dataclass(frozen=True)
class BaselineUpdate:
    """What `--baseline-update FILE` writes into FILE, and the one line that says what changed."""

    text: str
    line: str
    new_entries: int


def _y(count: int) -> str:
    return "y" if count == 1 else "ies"


def _session_order(session: str | None) -> tuple[int, int, str]:
    """Sessions in a natural order: none first, then numeric ids by value, then the others by name."""
    if session is None:
        return (0, 0, "")
    return (1, int(session), "") if session.isdigit() else (2, 0, session)


def _toml(entries: Sequence[Entry], today: date) -> str:
    """The baseline file: a comment that says where it came from, then one [[accept]] table per entry."""
    tables = []
    for entry in entries:
        table: dict[str, Any] = {"check": entry.check}
        if entry.session_id is not None:  # an id written as a number stays a number
            numeric = entry.session_id.isdigit() and str(int(entry.session_id)) == entry.session_id
            table["session_id"] = int(entry.session_id) if numeric else entry.session_id
        if entry.pointer is not None:
            table["pointer"] = entry.pointer
        tables.append(table | {"reason": entry.reason, "expires": entry.expires})
    header = (f"# Accepted failures, written by hems-conformance --baseline-update on {today}: replace each\n"
              f"# {PLACEHOLDER_REASON!r} with the reason (a ticket). See docs/ci.md.\n\n")
    return header + "\n".join(f"[[accept]]\n{tomli_w.dumps(table)}" for table in tables)  # never inline tables


def account_lines(section: dict[str, Any], *, accepted: bool = True) -> list[str]:
    """The baseline section of summary.json in words, one line per accepted (unless not `accepted`), expired,
    stale, unobserved and soon-expiring entry: what the console, summary.md and report.html say of it."""
    out = [f"accepted: {_named(e)}: {e['findings']} finding(s) until {e['expires']}: {e['reason']}"
           for e in section.get("accepted", []) if accepted]
    out += [f"expired: {_named(e)} expired on {e['expires']}: its {e['findings']} finding(s) fail again "
            f"(fix them, or renew the entry)" for e in section.get("expired", [])]
    out += [f"stale: {_named(e)} matched nothing although its check ran: the defect is gone, delete it from "
            f"{section.get('file')}" for e in section.get("stale", [])]
    out += [f"unobserved: {_named(e)}: {e.get('why', 'not observed')} in this run: kept, neither used nor stale"
            for e in section.get("unobserved", [])]
    out += [f"expires soon: {_named(e)} expires on {e['expires']} (in {_days(e, section['today'])} day(s)): fix its "
            f"findings or renew it" for e in section.get("expiring", [])]
    out += [f"no reason yet: {_named(e)}: replace the placeholder reason in {section.get('file')}"
            for e in [*section.get("accepted", []), *section.get("unobserved", [])]
            if e.get("reason") == PLACEHOLDER_REASON]
    return out


def _days(entry: dict[str, Any], today: str) -> int:
    return (date.fromisoformat(str(entry["expires"])) - date.fromisoformat(today)).days


def _named(entry: dict[str, Any]) -> str:
    """An entry of summary.json's baseline section named as `Entry.describe` names it."""
    narrowing = "".join(f", {key} {entry[field]}" for key, field in (("session", "session_id"), ("pointer", "pointer"))
                        if entry.get(field) is not None)
    return f"accept[{entry['entry']}] ({entry['check']}{narrowing})"


def stale_only(summary: dict[str, Any]) -> bool:
    """A finished summary whose only problem is stale baseline entries: no check failed, nothing expired."""
    baseline = summary.get("baseline") or {}
    return bool(baseline.get("stale")) and not any(
        c.get("status") == "failed" for c in [*summary.get("checks", []),
                                              *((summary.get("siblings") or {}).get("checks") or [])])


def exercised_checks(records: Iterable[CheckRecord]) -> frozenset[str]:
    """The checks that met what they judge in this run (neither skipped nor not exercised): the ones whose
    unmatched entries are stale."""
    return frozenset(r.id for r in records if r.status(False) not in (Status.SKIPPED, Status.NOT_EXERCISED))
