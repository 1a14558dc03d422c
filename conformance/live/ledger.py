"""The record of a run: for every catalogue entry and live check, how much it judged and what it found.

Parts of a run that send concurrently record in a journal each (`journaled`), replayed in the order the
parts were planned (`replay`): whatever order the answers came in, the ledger sees the same sequence, so the
reports are the same for any number of workers.

One defect is one finding: the same finding (check, pointer, message) in the same body, seen through
several requests, is counted once and keeps each request that showed it; and one cause is one finding: the
findings several checks make of the same answer's status (a 500 that a procedure expected to be a 200 or a
404) are grouped under the first check that named it (same X-Request-ID), listed there as `also`. Evidence is capped per check (the
first few findings keep their request and response, the rest are counted), so a report stays small however
many requests a run makes. The request behind every finding is recorded apart, compactly, for `replay`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from conformance.contract.levels import Level
from conformance.report.baseline import Acceptance, Entry, exercised_checks, session_of_url
from conformance.report.records import (
    EVIDENCE_PER_CHECK,
    SIGHTINGS_KEPT,
    CheckRecord,
    Evidence,
    Exchange,
    SpecFinding,
    Status,
    body_key,
)

T = TypeVar("T")


def _in_order(method: Callable[..., None]) -> Callable[..., None]:
    """A recording method: applied now, or inside `Ledger.journaled`, when the journal is replayed."""

    @functools.wraps(method)
    def recorded(self: Ledger, *args: Any, **kwargs: Any) -> None:
        self.later(functools.partial(method, self, *args, **kwargs))

    return recorded


class Ledger:
    """Thread-safe collection of check records, findings and spec findings for one run; with a baseline
    (`acceptance`), each finding is offered to it as it is added."""

    def __init__(self, acceptance: Acceptance | None = None) -> None:
        self.acceptance = acceptance
        self.records: dict[str, CheckRecord] = {}
        self.spec_findings: dict[str, SpecFinding] = {}
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._findings: dict[tuple[str, str, str, str], Evidence | None] = {}  # each finding: its kept evidence
        self._causes: dict[tuple[str, str], tuple[str, Evidence | None]] = {}  # (request id, cause): first check
        self._journal = threading.local()  # this thread's journal, inside `journaled`

    def later(self, action: Callable[[], None]) -> None:
        """Apply a recording now, or append it to this thread's journal (see the module)."""
        journal = getattr(self._journal, "entries", None)
        if journal is None:
            action()
        else:
            journal.append(action)

    def journaled(self, work: Callable[[], T]) -> tuple[Sequence[Callable[[], None]], T | None, Exception | None]:
        """Do `work`, its recordings kept in a journal: (the journal, its result, or the exception it raised)."""
        entries: list[Callable[[], None]] = []
        self._journal.entries = entries
        try:
            return entries, work(), None
        except Exception as exc:  # the caller re-raises it, in plan order
            return entries, None, exc
        finally:
            self._journal.entries = None

    def replay(self, entries: Sequence[Callable[[], None]]) -> None:
        for action in entries:
            self.later(action)

    def register(self, record: CheckRecord) -> CheckRecord:
        return self.records.setdefault(record.id, record)

    @_in_order
    def judged(self, check_id: str, count: int = 1) -> None:
        with self._lock:
            self.records[check_id].judged += count

    @_in_order
    def skip(self, check_id: str, reason: str) -> None:
        with self._lock:
            self.records[check_id].skipped = reason

    @_in_order
    def not_exercised(self, check_id: str, need: str) -> None:
        """The check ran but the configuration gave it nothing to judge: `need` says what would."""
        with self._lock:
            self.records[check_id].unexercised = need

    @_in_order
    def add(self, evidence: Evidence) -> None:
        level = evidence.finding.level
        if level is Level.OFF:
            return
        key = evidence.key()
        with self._lock:
            if self._grouped(evidence):
                return
            if key in self._findings:  # the same defect through another request
                kept = self._findings[key]
                if kept is not None:
                    kept.seen(evidence)
                self._named_cause(evidence, kept)
                return
            record = self.records[evidence.finding.check_id]
            record.total_findings += 1
            record.levels_seen[level] += 1
            record.for_replay(evidence.exchange, statuses=evidence.statuses)
            if self.acceptance is not None:
                finding, exchange = evidence.finding, evidence.exchange
                entry = self.acceptance.accepts(finding.check_id, finding.pointer,
                                                session_of_url(exchange.url) if exchange else None)
                if entry is not None:
                    record.accept(level, entry)
            self._findings[key] = None
            if len(record.findings) < EVIDENCE_PER_CHECK:  # with its evidence clipped, never the whole response
                kept = evidence.kept()
                kept.seen(evidence)
                record.findings.append(kept)
                self._findings[key] = kept
            self._named_cause(evidence, self._findings[key])

    @_in_order
    def add_counted(self, check_id: str, level: Level, count: int, exchange: Exchange | None) -> None:
        """`count` more findings of `check_id` in one body, past the first ones built (a flood of schema errors):
        counted once per body, however many requests showed it, and accepted only by a baseline entry that
        names no pointer."""
        if level is Level.OFF or count <= 0:
            return
        key = (check_id, "", f"{count} counted", body_key(exchange))
        with self._lock:
            if key in self._findings:
                return
            self._findings[key] = None
            record = self.records[check_id]
            record.total_findings += count
            record.levels_seen[level] += count
            record.for_replay(exchange, count)
            if self.acceptance is not None:
                entry = self.acceptance.accepts_counted(check_id, session_of_url(exchange.url) if exchange else None,
                                                        count)
                if entry is not None:
                    record.accept(level, entry, count)

    def _cause_key(self, evidence: Evidence) -> tuple[str, str] | None:
        exchange = evidence.exchange
        return (exchange.request_id, evidence.cause) if evidence.cause and exchange and exchange.request_id else None

    def _named_cause(self, evidence: Evidence, kept: Evidence | None) -> None:
        """The first finding of an exchange's cause: later ones of other checks are grouped under it."""
        key = self._cause_key(evidence)
        if key is not None and key not in self._causes:
            self._causes[key] = (evidence.finding.check_id, kept)

    def _grouped(self, evidence: Evidence) -> bool:
        """A finding whose cause another check already named for the same exchange: listed under that finding
        (when its evidence is kept), never counted as a failure of its own."""
        key = self._cause_key(evidence)
        if key is None or key not in self._causes or self._causes[key][0] == evidence.finding.check_id:
            return False
        first, kept = self._causes[key]
        line = f"{evidence.finding.check_id}: {evidence.finding.message}"
        if kept is not None and line not in kept.also and len(kept.also) < SIGHTINGS_KEPT:
            kept.also.append(line)
        said = "findings of several checks on one answer are one finding"
        if not any(n.startswith(said) for n in self.notes):
            self.notes.append(f"{said}, under the check that first named its cause (e.g. {evidence.finding.check_id} "
                              f"under {first}): see `also` in the reports")
        return True

    @_in_order
    def spec_finding(self, key: str, message: str, exchange: Exchange | None = None) -> None:
        with self._lock:
            entry = self.spec_findings.setdefault(key, SpecFinding(key, message, example=exchange and exchange.evidence()))
            entry.count += 1

    @_in_order
    def note(self, text: str, once_per: str = "") -> None:
        """A note, once; with `once_per`, only the first of the notes starting with it."""
        with self._lock:
            if text not in self.notes and not (once_per and any(n.startswith(once_per) for n in self.notes)):
                self.notes.append(text)

    def evidence(self) -> list[Evidence]:
        return [e for record in self.records.values() for e in record.findings]

    def failing(self, strict: bool) -> bool:
        """A check failed, or a baseline entry is stale (its check ran and found nothing: delete it)."""
        return bool(self.stale_entries()) or any(r.status(strict) is Status.FAILED for r in self.records.values())

    def stale_entries(self) -> list[Entry]:
        """The baseline entries whose check was exercised and matched nothing (none without a baseline)."""
        return self.acceptance.stale(exercised_checks(self.records.values())) if self.acceptance else []
