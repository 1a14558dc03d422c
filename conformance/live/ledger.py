"""The record of a run: for every catalogue entry and live check, how much it judged and what it found.

One defect is one finding: the same finding (check, pointer, message) in the same body, seen through
several requests, is counted once and keeps each request that showed it. Evidence is capped per check (the
first few findings keep their request and response, the rest are counted), so a report stays small however
many requests a run makes.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from conformance.contract.levels import Level
from conformance.report.baseline import Acceptance, session_of_url
from conformance.report.records import (
    EVIDENCE_PER_CHECK,
    CheckRecord,
    Evidence,
    Exchange,
    SpecFinding,
    Status,
    body_key,
)


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

    def register(self, record: CheckRecord) -> CheckRecord:
        return self.records.setdefault(record.id, record)

    def judged(self, check_id: str, count: int = 1) -> None:
        with self._lock:
            self.records[check_id].judged += count

    def skip(self, check_id: str, reason: str) -> None:
        with self._lock:
            self.records[check_id].skipped = reason

    def not_exercised(self, check_id: str, need: str) -> None:
        """The check ran but the configuration gave it nothing to judge: `need` says what would."""
        with self._lock:
            self.records[check_id].unexercised = need

    def add(self, evidence: Evidence) -> None:
        level = evidence.finding.level
        if level is Level.OFF:
            return
        key = evidence.key()
        with self._lock:
            if key in self._findings:  # the same defect through another request
                kept = self._findings[key]
                if kept is not None:
                    kept.seen(evidence)
                return
            record = self.records[evidence.finding.check_id]
            record.total_findings += 1
            record.levels_seen[level] += 1
            if self.acceptance is not None:
                finding, exchange = evidence.finding, evidence.exchange
                entry = self.acceptance.accepts(finding.check_id, finding.pointer,
                                                session_of_url(exchange.url) if exchange else None)
                if entry is not None:
                    record.accept(level, entry)
            self._findings[key] = None
            if len(record.findings) < EVIDENCE_PER_CHECK:  # with its evidence clipped, never the whole response
                kept = replace(evidence, exchange=evidence.exchange and evidence.exchange.evidence())
                kept.seen(evidence)
                record.findings.append(kept)
                self._findings[key] = kept

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
            if self.acceptance is not None:
                entry = self.acceptance.accepts_counted(check_id, session_of_url(exchange.url) if exchange else None,
                                                        count)
                if entry is not None:
                    record.accept(level, entry, count)

    def spec_finding(self, key: str, message: str, exchange: Exchange | None = None) -> None:
        with self._lock:
            entry = self.spec_findings.setdefault(key, SpecFinding(key, message, example=exchange and exchange.evidence()))
            entry.count += 1

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def evidence(self) -> list[Evidence]:
        return [e for record in self.records.values() for e in record.findings]

    def failing(self, strict: bool) -> bool:
        """A check failed, or a baseline entry is stale (it accepted nothing: delete it)."""
        stale = self.acceptance is not None and bool(self.acceptance.stale())
        return stale or any(r.status(strict) is Status.FAILED for r in self.records.values())
