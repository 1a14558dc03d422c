"""The engine-neutral core of `check`: judge one partition of the inputs into a partial result, merge partials.

A partition is any run of payloads and input errors in input order (a file, a byte range of a JSON Lines
file, a Parquet file, a HAR file, a chunk of stdin). Judging it gives a `Partial`: its input errors (and with
`--format json` one record per payload) in order, its tally, its evidence with the findings grouped across
payloads (counts and a few labels per group, never one object per finding) and, with a baseline, its matches
per entry. `Partial.merge` is associative and keeps order, so whatever runs the partitions (this process, a
pool of processes, a Dask cluster) and however it groups them, writing the partials in input order gives the
same bytes, the same reports and the same exit code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from conformance.contract.judge import Judge, Judgement
from conformance.contract.levels import Level
from conformance.offline.evidence import PartialEvidence
from conformance.offline.sources import Payload, Skipped, SourceError
from conformance.report.baseline import STALE_ONLY, Acceptance, Entry, session_of_payload

OUT, ERR = 1, 2
RECORD_SEPARATOR = ",\n  "  # before every record of --format json; the writer drops the first one's comma
_LEVEL_NAME, _CHECK_ID = attrgetter("level.value"), attrgetter("check_id")


@dataclass
class Tally:
    """What a check run saw, kept as counts so memory stays flat however many payloads stream by."""

    payloads: int = 0
    failing_payloads: int = 0
    input_errors: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    by_invariant: Counter[str] = field(default_factory=Counter)
    not_evaluated: int = 0
    skipped: int = 0  # recorded exchanges that are no response of the session endpoint
    interrupted: bool = False  # Ctrl-C before the end: no verdict (130), the reports say so
    stale_entries: int = 0  # baseline entries whose check ran and matched nothing: exit 1 (set once, at the end)

    def add(self, judgement: Judgement, strict: bool, accepted: list[Entry | None] | None = None,
            counted: list[Counted] | None = None) -> None:
        """One payload's judgement; `accepted` says, per finding, which baseline entry accepts it (if any), and
        `counted`, for the findings only counted (`Judgement.more`), which entry accepts them."""
        self.payloads += 1
        accepted = accepted or [None] * len(judgement.findings)
        counted = _counted(None, None, judgement) if counted is None else counted
        findings = judgement.findings
        self.failing_payloads += any(f.level.fails(strict) and entry is None
                                     for f, entry in zip(findings, accepted, strict=True)) or any(
            level.fails(strict) and entry is None for _, level, _, entry in counted)
        self.not_evaluated += not judgement.semantic_evaluated
        if findings:  # counted in C (Counter.update over attrgetter): dense archives have several per payload
            self.by_level.update(map(_LEVEL_NAME, findings))
            self.by_invariant.update(map(_CHECK_ID, findings))
        for check_id, level, count, _ in counted:
            self.by_level[level.value] += count
            self.by_invariant[check_id] += count

    def merge(self, later: Tally) -> Tally:
        """This tally plus `later`'s, in place."""
        self.payloads += later.payloads
        self.failing_payloads += later.failing_payloads
        self.input_errors += later.input_errors
        self.by_level.update(later.by_level)
        self.by_invariant.update(later.by_invariant)
        self.not_evaluated += later.not_evaluated
        self.skipped += later.skipped
        return self

    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.input_errors or not self.payloads:
            return 2
        return 1 if self.failing_payloads or self.stale_entries else 0

    def verdict(self) -> str:
        if self.exit_code() == 1 and not self.failing_payloads:  # only the baseline needs work
            return STALE_ONLY
        return {0: "conformant", 1: "non-conformant", 2: "incomplete (input errors)", 130: "interrupted"}[self.exit_code()]

    def summary_line(self) -> str:
        levels = ", ".join(f"{n} {level}" for level, n in sorted(self.by_level.items())) or "no findings"
        extra = f", {self.input_errors} input error(s)" if self.input_errors else ""
        if self.not_evaluated:
            extra += (f", {self.not_evaluated} with invariants not evaluated (they read values the schema "
                      "refused)")
        extra += f", {self.stale_entries} stale baseline entr(ies)" if self.stale_entries else ""
        extra += f", {self.skipped} other exchange(s) skipped" if self.skipped else ""
        return (f"{self.payloads} payload(s) judged, {self.failing_payloads} failing ({levels}){extra}: "
                f"{self.verdict()}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict(),
            "exit_code": self.exit_code(),
            "payloads": self.payloads,
            "failing_payloads": self.failing_payloads,
            "input_errors": self.input_errors,
            "not_evaluated": self.not_evaluated,
            "findings_by_level": dict(sorted(self.by_level.items())),
            "findings_by_invariant": dict(sorted(self.by_invariant.items())),
        } | ({"skipped_exchanges": self.skipped} if self.skipped else {})


@dataclass
class Partial:
    """What judging one partition produced: output as (stream, text) in order, tally, evidence, bytes read, and
    with a baseline the partition's own `Acceptance` (its matches per entry; the same baseline and day)."""

    chunks: list[tuple[int, str]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    evidence: PartialEvidence = field(default_factory=PartialEvidence)
    read: int = 0
    acceptance: Acceptance | None = None

    def write(self, stream: int, text: str) -> None:
        self.chunks.append((stream, text))

    def step(self) -> None:
        """Called after each payload or error; a partial written as it goes shows progress here."""

    def merge(self, later: Partial) -> Partial:
        """This partition followed by `later`, in place."""
        for stream, text in later.chunks:
            self.write(stream, text)
        self.tally.merge(later.tally)
        self.evidence.merge(later.evidence)
        self.read += later.read
        if self.acceptance is not None and later.acceptance is not None:
            self.acceptance.merge(later.acceptance)
        return self


def judge_items(judge: Judge, items: Iterable[Payload | SourceError | Skipped], *, strict: bool, as_json: bool,
                into: Partial) -> Partial:
    """Judge a partition's payloads and input errors in order into `into` (its acceptance, if any, decides which
    findings a baseline accepts); count what is skipped."""
    tally, evidence, acceptance = into.tally, into.evidence, into.acceptance
    for item in items:
        judgement = None
        if isinstance(item, Payload):
            judgement = judge.judge(item.body) if item.path is None else judge.judge_at(item.body, item.path)
            evidence.at_path += judgement is not None and item.path is not None
        if isinstance(item, SourceError):
            tally.input_errors += 1
            evidence.add_error(item)
            if as_json:
                into.write(OUT, RECORD_SEPARATOR + json.dumps({"source": item.label, "error": item.message}))
            else:
                into.write(ERR, f"{item.line()}\n")
        elif judgement is None or not isinstance(item, Payload):  # Skipped, or a recorded response of another endpoint
            tally.skipped += 1
        else:
            accepted, counted = _accepted(acceptance, item, judgement), _counted(acceptance, item, judgement)
            tally.add(judgement, strict, accepted, counted)
            evidence.add(item, judgement, accepted, counted)
            if as_json:  # one record per payload; text output is the groups, written once all is judged
                into.write(OUT, RECORD_SEPARATOR + json.dumps(_record(item, judgement), default=str))
        into.step()
    return into


def _accepted(acceptance: Acceptance | None, payload: Payload, judgement: Judgement) -> list[Entry | None]:
    """Per finding, the baseline entry that accepts it, or None."""
    if acceptance is None:
        return [None] * len(judgement.findings)
    session = session_of_payload(payload.body)
    acceptance.saw_session(session)  # judged: an entry naming it can be stale
    return [acceptance.accepts(f.check_id, f.pointer, session) for f in judgement.findings]


Counted = tuple[str, Level, int, Entry | None]  # check, level, how many findings only counted, the entry accepting them


def _counted(acceptance: Acceptance | None, payload: Payload | None, judgement: Judgement) -> list[Counted]:
    """Per check and level of the findings only counted (past the first ones built), the entry accepting them."""
    session = session_of_payload(payload.body) if acceptance is not None and payload is not None else None
    return [(check_id, level, count, acceptance.accepts_counted(check_id, session, count) if acceptance else None)
            for (check_id, level), count in judgement.more.items()]


def _record(payload: Payload, judgement: Judgement) -> dict[str, Any]:
    return {
        "source": payload.label,
        "findings": [f.to_dict() for f in judgement.findings],
        **({"findings_counted": {f"{check_id} {level.value}": count for (check_id, level), count in
                                 judgement.more.items()}} if judgement.more else {}),
        "semantic_evaluated": judgement.semantic_evaluated,
    }
