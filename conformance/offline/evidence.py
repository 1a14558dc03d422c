"""The evidence `check` keeps while payloads stream past: counts per invariant and level, and for the
first few findings of each invariant the payload's label and a window of the payload at the pointer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from conformance.contract.catalogue import CATALOGUE, SEMANTIC
from conformance.contract.clipping import clip
from conformance.contract.findings import Finding
from conformance.contract.judge import Judge, Judgement
from conformance.contract.levels import Level
from conformance.offline.sources import Payload, SourceError
from conformance.report.excerpt import excerpt
from conformance.report.records import EVIDENCE_PER_CHECK, CheckRecord
from conformance.report.summary import TEXT_LIMIT, finding_entry

ERRORS_KEPT = 20


class Evidence:
    """What one part of a run saw, mergeable: counts per invariant and level, the first findings of each
    invariant with their payload window, the first input errors. Plain data, so a worker can send it back;
    `merge` is associative and keeps the earlier part's evidence first, so any grouping gives one result."""

    def __init__(self) -> None:
        self.payloads = 0
        self.evaluated = 0  # payloads whose semantic invariants were evaluated (their shape passed)
        self.at_path = 0  # payloads judged with the request path they answered (so by the served check too)
        self.seen: Counter[tuple[str, Level]] = Counter()
        self.kept: dict[str, list[dict[str, Any]]] = {}
        self.errors: list[dict[str, str]] = []
        self.error_count = 0

    def add(self, payload: Payload, judgement: Judgement) -> None:
        self.payloads += 1
        self.evaluated += judgement.semantic_evaluated
        for finding in judgement.findings:
            self.seen[finding.check_id, finding.level] += 1
            kept = self.kept.setdefault(finding.check_id, [])
            if len(kept) < EVIDENCE_PER_CHECK:
                kept.append(_entry(payload, finding))

    def add_error(self, error: SourceError) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"source": error.label, "message": error.message})

    def merge(self, later: Evidence) -> Evidence:
        """This part followed by `later`, in place."""
        self.payloads += later.payloads
        self.evaluated += later.evaluated
        self.at_path += later.at_path
        self.seen.update(later.seen)
        for check_id, entries in later.kept.items():
            kept = self.kept.setdefault(check_id, [])
            kept.extend(entries[:EVIDENCE_PER_CHECK - len(kept)])
        self.errors.extend(later.errors[:ERRORS_KEPT - len(self.errors)])
        self.error_count += later.error_count
        return self


class CheckEvidence:
    """Per catalogue invariant, the report's record of a whole run: counts, levels seen and the kept findings."""

    def __init__(self, judge: Judge) -> None:
        settings = judge.settings
        self.records = {inv.id: CheckRecord(inv.id, "invariant", settings.level_of(inv.id, inv.level), inv.statement,
                                            f"{inv.spec} ({inv.source})", inv.basis) for inv in CATALOGUE.values()}
        self.kept: dict[str, list[dict[str, Any]]] = {check_id: [] for check_id in self.records}
        self.semantic = {inv.id for inv in SEMANTIC}
        self.served = judge.served
        self.errors: list[dict[str, str]] = []
        self.error_count = 0
        for record in self.records.values():
            if record.level is Level.OFF:
                record.skipped = "level OFF in the configuration"

    def absorb(self, evidence: Evidence) -> None:
        """Add what a part of the run saw (parts in input order)."""
        if evidence.at_path and self.served is not None and self.served.id not in self.records:
            served = self.served  # judged only where a recording kept the path: reported only then
            self.records[served.id] = CheckRecord(served.id, "live", served.level, served.statement, served.cite)
            self.kept[served.id] = []
        for check_id, record in self.records.items():
            if self.served is not None and check_id == self.served.id:
                record.judged += evidence.at_path
                continue
            record.judged += evidence.evaluated if check_id in self.semantic else evidence.payloads
        for (check_id, level), count in evidence.seen.items():
            record = self.records[check_id]
            record.total_findings += count
            record.levels_seen[level] += count
        for check_id, entries in evidence.kept.items():
            kept = self.kept[check_id]
            kept.extend(entries[:EVIDENCE_PER_CHECK - len(kept)])
        self.errors.extend(evidence.errors[:ERRORS_KEPT - len(self.errors)])
        self.error_count += evidence.error_count


def _entry(payload: Payload, finding: Finding) -> dict[str, Any]:
    try:
        window = excerpt(payload.body, finding.pointer).to_dict()
    except RecursionError:
        window = None
    return finding_entry(finding) | {"source": clip(payload.label, TEXT_LIMIT), "excerpt": window}


