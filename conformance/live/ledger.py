"""The record of a run: for every catalogue entry and live check, how much it judged and what it found.

One defect is one finding: the same finding (check, pointer, message) in the same body, seen through
several requests, is counted once and keeps each request that showed it. Evidence is capped per check (the
first few findings keep their request and response, the rest are counted), so a report stays small however
many requests a run makes.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace

from conformance.contract.findings import Finding
from conformance.contract.levels import Level
from conformance.live.exchange import Exchange
from conformance.report.baseline import Acceptance, session_of_url
from conformance.report.records import EVIDENCE_PER_CHECK, CheckRecord, Status

SIGHTINGS_KEPT = 20  # requests listed under one finding; all of them are counted


@dataclass(frozen=True)
class Sighting:
    """One request that showed a finding: enough to find it again in a server log."""

    method: str
    url: str
    status: int
    note: str = ""


@dataclass
class Evidence:
    """A finding of the live run with what shows it: the exchange, a curl that reproduces it, and every request
    that showed the same finding (the first one included), `requests` of them in all."""

    finding: Finding
    exchange: Exchange | None = None
    curl: str = ""
    requests: int = 0
    seen_in: list[Sighting] = field(default_factory=list)

    def key(self) -> tuple[str, str, str, str]:
        """What makes two findings one defect: the check, the place, the message, the body it was found in."""
        return self.finding.check_id, self.finding.pointer, self.finding.message, _body_key(self.exchange)

    def seen(self, other: Evidence) -> None:
        self.requests += 1
        if other.exchange is not None and len(self.seen_in) < SIGHTINGS_KEPT:
            exchange = other.exchange
            self.seen_in.append(Sighting(exchange.method, exchange.url, exchange.status, exchange.note))


def _body_key(exchange: Exchange | None) -> str:
    return hashlib.blake2b(exchange.text.encode("utf-8", "replace"), digest_size=12).hexdigest() if exchange else ""


@dataclass
class SpecFinding:
    """A finding about the spec, not the deployment (information, outside the verdict)."""

    key: str
    message: str
    count: int = 0
    example: Exchange | None = None


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
        key = (check_id, "", f"{count} counted", _body_key(exchange))
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
