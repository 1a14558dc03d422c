"""The record of a run: for every catalogue entry and live check, how much it judged and what it found.

Evidence is capped per check (the first few findings keep their request and response, the rest are
counted), so a report stays small however many requests a run makes.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.contract.levels import Level
from conformance.live.client import Exchange

EVIDENCE_PER_CHECK = 10


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"


@dataclass
class LiveFinding:
    """A finding from a live run: the catalogue's or a live check's, with the exchange that shows it."""

    check_id: str
    level: Level
    message: str
    pointer: str = ""
    expected: Any = None
    actual: Any = None
    exchange: Exchange | None = None
    curl: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.check_id,
            "level": self.level.value,
            "message": self.message,
            "pointer": self.pointer,
            "expected": self.expected,
            "actual": self.actual,
            "request": None if self.exchange is None else {"method": self.exchange.method, "url": self.exchange.url},
            "response": None if self.exchange is None else self.exchange.to_dict(),
            "curl": self.curl,
        }


@dataclass
class CheckRecord:
    """One catalogue entry or live check and what the run saw of it."""

    id: str
    kind: str  # "invariant", "live" or "fuzz"
    level: Level
    statement: str
    citation: str
    basis: str = ""  # an invariant's basis (normative, schema, domain, title); live cases cite their own
    judged: int = 0
    total_findings: int = 0
    findings: list[LiveFinding] = field(default_factory=list)
    skipped: str = ""
    levels_seen: Counter = field(default_factory=Counter)

    def status(self, strict: bool) -> Status:
        if self.level is Level.OFF or (self.skipped and not self.total_findings):
            return Status.SKIPPED
        if any(level.fails(strict) for level in self.levels_seen):
            return Status.FAILED
        if self.total_findings:
            return Status.WARNING
        return Status.PASSED if self.judged else Status.SKIPPED

    def skip_reason(self) -> str:
        if self.level is Level.OFF:
            return "turned OFF in [judge.levels]"
        return self.skipped or ("nothing to judge: no response reached this check" if not self.judged else "")


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

    def add(self, finding: LiveFinding) -> None:
        if finding.level is Level.OFF:
            return
        with self._lock:
            record = self.records[finding.check_id]
            record.total_findings += 1
            record.levels_seen[finding.level] += 1
            if len(record.findings) < EVIDENCE_PER_CHECK:
                record.findings.append(finding)

    def spec_finding(self, key: str, message: str, exchange: Exchange | None = None) -> None:
        with self._lock:
            entry = self.spec_findings.setdefault(key, SpecFinding(key, message, example=exchange))
            entry.count += 1

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def findings(self) -> list[LiveFinding]:
        return [f for record in self.records.values() for f in record.findings]

    def failing(self, strict: bool) -> bool:
        return any(r.status(strict) is Status.FAILED for r in self.records.values())
