"""The record of a run: for every catalogue entry and live check, how much it judged and what it found.

Evidence is capped per check (the first few findings keep their request and response, the rest are
counted), so a report stays small however many requests a run makes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from conformance.contract.findings import Finding
from conformance.contract.levels import Level
from conformance.live.exchange import Exchange
from conformance.report.records import EVIDENCE_PER_CHECK, CheckRecord, Status


@dataclass(frozen=True)
class Evidence:
    """A finding of the live run with what shows it: the exchange, and a curl that reproduces it."""

    finding: Finding
    exchange: Exchange | None = None
    curl: str = ""


@dataclass
class SpecFinding:
    """A finding about the spec, not the deployment (information, outside the verdict)."""

    key: str
    message: str
    count: int = 0
    example: Exchange | None = None


class Ledger:
    """Thread-safe collection of check records, findings and spec findings for one run."""

    def __init__(self) -> None:
        self.records: dict[str, CheckRecord] = {}
        self.spec_findings: dict[str, SpecFinding] = {}
        self.notes: list[str] = []
        self._lock = threading.Lock()

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
        with self._lock:
            record = self.records[evidence.finding.check_id]
            record.total_findings += 1
            record.levels_seen[level] += 1
            if len(record.findings) < EVIDENCE_PER_CHECK:  # with its evidence clipped, never the whole response
                record.findings.append(replace(evidence, exchange=evidence.exchange and evidence.exchange.evidence()))

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
        return any(r.status(strict) is Status.FAILED for r in self.records.values())
