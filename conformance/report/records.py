"""What a report says of one check: its statement, how much it judged, what it found, its status.

Shared by the live run and `check`, so both report the same way; evidence is capped per check, so a
report stays small however many requests or payloads a run judges.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.contract.coverage import NEEDS, Coverage, unexercised
from conformance.contract.cross import CROSS_NEEDS
from conformance.contract.levels import Level

EVIDENCE_PER_CHECK = 10
SIBLING_KIND = "siblings"  # checks of the supplementary contract (spec/siblings.yaml): their own report section


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"  # SHOULD findings only (outside --strict): "warnings" never names INFO notes
    INFO = "info"  # its findings are all INFO: reported, never failing, counted apart as INFO notes
    SKIPPED = "skipped"
    ACCEPTED = "accepted"  # every finding that would fail is accepted by a baseline entry (--baseline)
    NOT_EXERCISED = "not_exercised"  # judged, found nothing, but never met what it judges: a vacuous pass


@dataclass
class CheckRecord:
    """One catalogue entry or live check and what the run saw of it."""

    id: str
    kind: str  # "invariant", "live", "fuzz" or SIBLING_KIND
    level: Level
    statement: str
    citation: str
    basis: str = ""  # an invariant's basis (normative, schema, domain, title); live cases cite their own
    judged: int = 0
    total_findings: int = 0
    findings: list[Any] = field(default_factory=list)  # the evidence kept, EVIDENCE_PER_CHECK at most
    skipped: str = ""
    unexercised: str = ""  # what the data or configuration would need to exercise this check, if it never was
    need: str = ""  # what the check declares it needs to be exercised: unmet while it judged nothing
    levels_seen: Counter[Level] = field(default_factory=Counter)
    accepted_levels: Counter[Level] = field(default_factory=Counter)  # of the findings a baseline entry accepted
    accepted_by: list[Any] = field(default_factory=list)  # those entries (baseline.Entry), each once

    def accept(self, level: Level, entry: Any, count: int = 1) -> None:
        """`count` findings of this check are accepted by a baseline entry."""
        self.accepted_levels[level] += count
        if entry not in self.accepted_by:
            self.accepted_by.append(entry)

    def status(self, strict: bool) -> Status:
        if self.level is Level.OFF or (self.skipped and not self.total_findings):
            return Status.SKIPPED
        if any(level.fails(strict) for level in self.levels_seen - self.accepted_levels):
            return Status.FAILED
        if self.accepted_levels:
            return Status.ACCEPTED
        if self.total_findings:
            return Status.INFO if set(self.levels_seen) == {Level.INFO} else Status.WARNING
        if self.unexercised or (self.need and not self.judged and not self.skipped):
            return Status.NOT_EXERCISED  # never "passed" without its need: a check that judged nothing names it
        return Status.PASSED if self.judged else Status.SKIPPED

    def missing(self) -> str:
        """What this check would need to be exercised (when its status is not exercised)."""
        return self.unexercised or self.need

    def skip_reason(self) -> str:
        if self.level is Level.OFF:
            return "turned OFF in [judge.levels]"
        return self.skipped or ("nothing to judge: no response reached this check" if not self.judged else "")


def declared_need(check_id: str) -> str:
    """What a catalogue or cross-endpoint check needs to be exercised, as it declares it (live cases declare
    theirs in conformance.live.checks)."""
    need = NEEDS.get(check_id)
    return need.text if need is not None else CROSS_NEEDS.get(check_id, "")


def mark_unexercised(records: dict[str, CheckRecord], coverage: Coverage) -> None:
    """Mark the catalogue invariants the judged sessions never exercised (and unmark the others)."""
    needs = unexercised(coverage)
    for check_id in NEEDS:
        if check_id in records:
            records[check_id].unexercised = needs.get(check_id, "")
