"""The evidence `check` keeps while payloads stream past: counts per invariant and level, for the first few
findings of each invariant the payload's label and a window of the payload at the pointer, the coverage of
the sessions judged and the sessions a report draws; per partition, merged in input order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.clipping import clip
from conformance.contract.coverage import Coverage
from conformance.contract.findings import Finding
from conformance.contract.judge import Judge, Judgement
from conformance.contract.levels import Level
from conformance.contract.payload import LazyView
from conformance.offline.groups import COUNTED, COUNTED_MESSAGE, GROUPS_KEPT, Groups
from conformance.offline.sources import Payload, SourceError
from conformance.report.baseline import Entry
from conformance.report.excerpt import excerpt
from conformance.report.records import (
    EVIDENCE_PER_CHECK,
    TEXT_LIMIT,
    CheckRecord,
    Status,
    declared_need,
    finding_entry,
    mark_unexercised,
)
from conformance.report.timeline import CLEAN_KEPT, FULL_SESSIONS, SessionSample, outcome_key

ERRORS_KEPT = 20
_CHECK_AND_LEVEL = attrgetter("check_id", "level")


@dataclass
class Settled:
    """What the run's evidence holds in full already when a part is sent out (the parts before it, merged in
    order, gave it): the part skips building what merging it would drop anyway, so a worker sends back counts
    and groups, not sessions and payload windows nobody draws. The result is the same, whatever was settled."""

    sessions: int = 0  # sessions with findings drawn in full so far
    outcomes: set[str] = field(default_factory=set)  # outcomes with their first session drawn
    clean: list[str] = field(default_factory=list)  # the keys of the sessions without findings kept besides, sorted
    kept: Counter[str] = field(default_factory=Counter)  # per check, findings kept with their evidence

    def saw(self, evidence: PartialEvidence) -> None:
        """Add what a part, merged next, brings (as `SessionSample.merge` takes it)."""
        sample = evidence.sessions
        self.sessions += len(sample.with_findings)
        displaced = [str(s["key"]) for outcome, s in sample.by_outcome.items() if outcome in self.outcomes]
        self.clean = sorted([*self.clean, *displaced, *(str(s["key"]) for s in sample.clean)])[:CLEAN_KEPT]
        self.outcomes.update(sample.by_outcome)
        self.kept.update({check_id: len(rows) for check_id, rows in evidence.kept.items()})

    def drops(self, key: str, outcome: str) -> bool:
        """Whether the run's sample would drop a session without findings: its outcome has its first session and
        the sessions kept besides are all of smaller keys (the smallest keys are kept: that bound only falls)."""
        return outcome in self.outcomes and len(self.clean) >= CLEAN_KEPT and key > self.clean[-1]

    def frozen(self) -> Settled:
        """A copy to send with a part (this one goes on growing)."""
        return Settled(self.sessions, set(self.outcomes), list(self.clean), Counter(self.kept))


class PartialEvidence:
    """What one part of a run saw, mergeable: counts per invariant and level (and those a baseline accepted),
    the first findings of each invariant with their payload window, the first input errors, the coverage and
    the sessions a report draws, and the findings grouped across payloads (`groups`: every group, or with
    `group_limit` the first of each check, as the run's own evidence keeps them). Plain data, so a worker can
    send it back; `merge` is associative and keeps the earlier part's evidence first, so any grouping gives one
    result."""

    def __init__(self, group_limit: int | None = None, settled: Settled | None = None) -> None:
        self.settled = settled or Settled()
        self.payloads = 0
        self.not_evaluated: Counter[str] = Counter()  # per invariant: payloads it could not be evaluated on
        self.at_path = 0  # payloads judged with the request path they answered (so by the served check too)
        self.seen: Counter[tuple[str, Level]] = Counter()
        self.accepted: Counter[tuple[str, Level]] = Counter()  # findings a baseline entry accepted
        self.accepted_by: dict[str, list[Entry]] = {}  # per invariant, the entries that accepted, first first
        self.kept: dict[str, list[dict[str, Any]]] = {}
        self.errors: list[dict[str, str]] = []
        self.error_count = 0
        self.coverage = Coverage()
        self.sessions = SessionSample(once=False)  # labels are unique: no set of them grows with the input
        self.groups = Groups(group_limit)

    def add(self, payload: Payload, judgement: Judgement, accepted: list[Entry | None],
            counted: Iterable[tuple[str, Level, int, Entry | None]] = ()) -> None:
        """One payload's findings; `accepted`, per finding, the baseline entry that accepts it, or None;
        `counted`, the findings only counted (check, level, how many, the entry accepting them)."""
        self.payloads += 1
        if judgement.not_evaluated:  # a broken shape: judged in part, neither counted in coverage nor drawn
            self.not_evaluated.update(judgement.not_evaluated)
        else:
            self.coverage.add(judgement.view or LazyView(payload.body))  # a lazy one reads only what coverage counts
            self._sample(payload, judgement)
        label, groups, kept_per_check, settled = payload.label, self.groups, self.kept, self.settled.kept
        self.seen.update(map(_CHECK_AND_LEVEL, judgement.findings))  # in C: dense archives have several per payload
        for finding, entry in zip(judgement.findings, accepted, strict=True):
            groups.add((finding.check_id, finding.level, finding.pointer, finding.message, entry), 1, label)
            if entry is not None:
                self.accepted[finding.check_id, finding.level] += 1
                _first_seen(self.accepted_by.setdefault(finding.check_id, []), [entry])
            kept = kept_per_check.setdefault(finding.check_id, [])
            if len(kept) + settled[finding.check_id] < EVIDENCE_PER_CHECK:
                kept.append(_entry(payload, finding))
        for check_id, level, count, entry in counted:
            groups.add((check_id, level, COUNTED, COUNTED_MESSAGE, entry), count, label)
            self.seen[check_id, level] += count
            if entry is not None:
                self.accepted[check_id, level] += count
                _first_seen(self.accepted_by.setdefault(check_id, []), [entry])

    def _sample(self, payload: Payload, judgement: Judgement) -> None:
        """The session into the sample a report draws, unless the run's sample holds its like already."""
        settled, sessions = self.settled, self.sessions
        if judgement.findings and settled.sessions + len(sessions.with_findings) >= FULL_SESSIONS:
            sessions.sessions_with_findings += 1  # counted, not drawn
        elif judgement.findings or not settled.drops(payload.label, outcome_key(payload.body)):
            sessions.add(payload.label, payload.label, payload.body, judgement.findings)

    def add_error(self, error: SourceError) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"source": error.label, "message": error.message})

    def merge(self, later: PartialEvidence) -> PartialEvidence:
        """This part followed by `later`, in place."""
        self.payloads += later.payloads
        self.not_evaluated.update(later.not_evaluated)
        self.at_path += later.at_path
        self.seen.update(later.seen)
        self.accepted.update(later.accepted)
        for check_id, entries in later.accepted_by.items():
            _first_seen(self.accepted_by.setdefault(check_id, []), entries)
        for check_id, rows in later.kept.items():
            kept = self.kept.setdefault(check_id, [])
            kept.extend(rows[:EVIDENCE_PER_CHECK - len(kept)])
        self.errors.extend(later.errors[:ERRORS_KEPT - len(self.errors)])
        self.error_count += later.error_count
        self.coverage.merge(later.coverage)
        self.sessions.merge(later.sessions)
        self.groups.merge(later.groups)
        return self


def _first_seen(entries: list[Any], more: list[Any]) -> None:
    """Add the entries of `more` that `entries` lacks, in order."""
    for entry in more:
        if entry not in entries:
            entries.append(entry)


class CheckEvidence:
    """Per catalogue invariant, the report's record of a whole run: counts, levels seen and the kept findings."""

    def __init__(self, judge: Judge) -> None:
        settings = judge.settings
        self.records = {inv.id: CheckRecord(inv.id, "invariant", settings.level_of(inv.id, inv.level), inv.statement,
                                            f"{inv.spec} ({inv.source})", inv.basis, need=declared_need(inv.id))
                        for inv in CATALOGUE.values()}
        self.kept: dict[str, list[dict[str, Any]]] = {check_id: r.findings for check_id, r in self.records.items()}
        self.served = judge.served
        self.errors: list[dict[str, str]] = []
        self.error_count = 0
        self.coverage = Coverage()
        self.sessions = SessionSample(once=False)  # labels are unique: no set of them grows with the input
        self.groups = Groups(GROUPS_KEPT)
        for record in self.records.values():
            if record.level is Level.OFF:
                record.skipped = "level OFF in the configuration"

    def absorb(self, evidence: PartialEvidence) -> None:
        """Add what a part of the run saw (parts in input order)."""
        if evidence.at_path and self.served is not None and self.served.id not in self.records:
            served = self.served  # judged only where a recording kept the path: reported only then
            self.records[served.id] = CheckRecord(served.id, "live", served.level, served.statement, served.cite)
            self.kept[served.id] = self.records[served.id].findings
        for check_id, record in self.records.items():
            if self.served is not None and check_id == self.served.id:
                record.judged += evidence.at_path
                continue
            record.judged += evidence.payloads - evidence.not_evaluated[check_id]
        for (check_id, level), count in evidence.seen.items():
            record = self.records[check_id]
            record.total_findings += count
            record.levels_seen[level] += count
        for (check_id, level), count in evidence.accepted.items():
            self.records[check_id].accepted_levels[level] += count
        for check_id, entries in evidence.accepted_by.items():
            _first_seen(self.records[check_id].accepted_by, entries)
        for check_id, rows in evidence.kept.items():
            kept = self.kept[check_id]
            kept.extend(rows[:EVIDENCE_PER_CHECK - len(kept)])
        self.errors.extend(evidence.errors[:ERRORS_KEPT - len(self.errors)])
        self.error_count += evidence.error_count
        self.coverage.merge(evidence.coverage)
        self.sessions.merge(evidence.sessions)
        self.groups.merge(evidence.groups)

    def settle(self, strict: bool) -> dict[str, str]:
        """Once every payload is in: mark the invariants no payload exercised; return them with what they need."""
        mark_unexercised(self.records, self.coverage)
        return {r.id: r.missing() for r in self.records.values() if r.status(strict) is Status.NOT_EXERCISED}


def _entry(payload: Payload, finding: Finding) -> dict[str, Any]:
    try:
        window = excerpt(payload.body, finding.pointer).to_dict()
    except RecursionError:
        window = None
    return finding_entry(finding) | {"source": clip(payload.label, TEXT_LIMIT), "excerpt": window}


