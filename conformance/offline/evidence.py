"""The evidence `check` keeps while payloads stream past: counts per invariant and level, and for the
first few findings of each invariant the payload's label and a window of the payload at the pointer.
"""

from __future__ import annotations

from typing import Any

from conformance.contract.catalogue import CATALOGUE, SEMANTIC
from conformance.contract.clipping import clip
from conformance.contract.coverage import Coverage
from conformance.contract.findings import Finding
from conformance.contract.judge import Judge, Judgement
from conformance.contract.levels import Level
from conformance.contract.payload import SessionView
from conformance.offline.sources import Payload, SourceError
from conformance.report.excerpt import excerpt
from conformance.report.records import EVIDENCE_PER_CHECK, CheckRecord, Status, mark_unexercised
from conformance.report.summary import TEXT_LIMIT, finding_entry
from conformance.report.timeline import SessionSample

ERRORS_KEPT = 20


class CheckEvidence:
    """Counts per invariant and level, plus the first findings of each invariant with their payload window."""

    def __init__(self, judge: Judge) -> None:
        settings = judge.settings
        self.records = {inv.id: CheckRecord(inv.id, "invariant", settings.level_of(inv.id, inv.level), inv.statement,
                                            f"{inv.spec} ({inv.source})", inv.basis) for inv in CATALOGUE.values()}
        self.kept: dict[str, list[dict[str, Any]]] = {check_id: [] for check_id in self.records}
        self.semantic = {inv.id for inv in SEMANTIC}
        self.errors: list[dict[str, str]] = []
        self.error_count = 0
        self.coverage = Coverage()
        self.sessions = SessionSample(once=False)  # labels are unique: no set of them grows with the input
        for record in self.records.values():
            if record.level is Level.OFF:
                record.skipped = "level OFF in the configuration"

    def add(self, payload: Payload, judgement: Judgement, accepted: list[Any] | None = None) -> None:
        """One payload's findings; `accepted`, per finding, the baseline entry that accepts it, or None."""
        for check_id, record in self.records.items():
            if check_id not in judgement.not_evaluated:
                record.judged += 1
        if judgement.semantic_evaluated:
            self.coverage.add(SessionView(payload.body))
            self.sessions.add(payload.label, payload.label, payload.body, judgement.findings)
        for finding, entry in zip(judgement.findings, accepted or [None] * len(judgement.findings), strict=True):
            record = self.records[finding.check_id]
            record.total_findings += 1
            record.levels_seen[finding.level] += 1
            if entry is not None:
                record.accept(finding.level, entry)
            if len(self.kept[finding.check_id]) < EVIDENCE_PER_CHECK:
                self.kept[finding.check_id].append(_entry(payload, finding))

    def settle(self, strict: bool) -> dict[str, str]:
        """Once every payload is in: mark the invariants no payload exercised; return them with what they need."""
        mark_unexercised(self.records, self.coverage)
        return {r.id: r.unexercised for r in self.records.values() if r.status(strict) is Status.NOT_EXERCISED}

    def add_error(self, error: SourceError) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"source": error.label, "message": error.message})


def _entry(payload: Payload, finding: Finding) -> dict[str, Any]:
    try:
        window = excerpt(payload.body, finding.pointer).to_dict()
    except RecursionError:
        window = None
    return finding_entry(finding) | {"source": clip(payload.label, TEXT_LIMIT), "excerpt": window}


