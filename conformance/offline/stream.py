"""`hems-conformance check`: judge recorded payloads without a server, streaming, with a tally."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from conformance.contract.judge import Judge, Judgement
from conformance.offline.evidence import CheckEvidence
from conformance.offline.sources import Payload, Progress, SourceError, iter_payloads
from conformance.report.baseline import Acceptance, Entry, session_of_payload


@dataclass
class Tally:
    """What a check run saw, kept as counts so memory stays flat however many payloads stream by."""

    payloads: int = 0
    failing_payloads: int = 0
    input_errors: int = 0
    by_level: Counter = field(default_factory=Counter)
    by_invariant: Counter = field(default_factory=Counter)
    not_evaluated: int = 0
    interrupted: bool = False  # Ctrl-C before the end: no verdict (130), the reports say so
    stale_entries: int = 0  # baseline entries that accepted nothing: they fail the check too

    def add(self, judgement: Judgement, strict: bool, accepted: list[Entry | None] | None = None) -> None:
        """One payload's judgement; `accepted` says, per finding, which baseline entry accepts it (if any)."""
        self.payloads += 1
        accepted = accepted or [None] * len(judgement.findings)
        self.failing_payloads += any(f.level.fails(strict) and entry is None
                                     for f, entry in zip(judgement.findings, accepted, strict=True))
        self.not_evaluated += not judgement.semantic_evaluated
        for finding in judgement.findings:
            self.by_level[finding.level.value] += 1
            self.by_invariant[finding.check_id] += 1

    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.input_errors or not self.payloads:
            return 2
        return 1 if self.failing_payloads or self.stale_entries else 0

    def verdict(self) -> str:
        return {0: "conformant", 1: "non-conformant", 2: "incomplete (input errors)", 130: "interrupted"}[self.exit_code()]

    def summary_line(self) -> str:
        levels = ", ".join(f"{n} {level}" for level, n in sorted(self.by_level.items())) or "no findings"
        extra = f", {self.input_errors} input error(s)" if self.input_errors else ""
        if self.not_evaluated:
            extra += (f", {self.not_evaluated} with invariants not evaluated (they read values the schema "
                      "refused)")
        extra += f", {self.stale_entries} stale baseline entr(ies)" if self.stale_entries else ""
        return (f"{self.payloads} payload(s) judged, {self.failing_payloads} failing ({levels}){extra}: "
                f"{self.verdict()}")

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict(),
            "exit_code": self.exit_code(),
            "payloads": self.payloads,
            "failing_payloads": self.failing_payloads,
            "input_errors": self.input_errors,
            "not_evaluated": self.not_evaluated,
            "findings_by_level": dict(sorted(self.by_level.items())),
            "findings_by_invariant": dict(sorted(self.by_invariant.items())),
        }


class _ProgressLine:
    """A once-a-second status line on stderr, only when stderr is a terminal; cleared before other output."""

    def __init__(self, progress: Progress, stream: IO[str]) -> None:
        self.progress, self.stream = progress, stream
        self.enabled = stream.isatty()
        self.shown = False
        self.last = time.monotonic()

    def tick(self, tally: Tally) -> None:
        if not self.enabled or time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        share = f" ({100 * self.progress.read / self.progress.total:.0f}%)" if self.progress.total else ""
        self.stream.write(f"\r\033[Kjudged {tally.payloads} payload(s){share}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def run_check(judge: Judge, paths: Iterable[str], *, strict: bool, output: str,
              out: IO[str] | None = None, err: IO[str] | None = None, evidence: CheckEvidence | None = None,
              tally: Tally | None = None, acceptance: Acceptance | None = None) -> Tally:
    """Judge every payload under `paths`, writing findings as they come; return the tally (`tally`, if given, so
    that a caller interrupted half-way still has what was judged). With a baseline (`acceptance`), accepted
    findings are marked and do not fail, and stale entries do.

    `out`/`err` default to the streams current at call time (not at import), so callers that swap them work.
    """
    out, err = out or sys.stdout, err or sys.stderr
    tally, progress = tally or Tally(), Progress()
    ticker = _ProgressLine(progress, err)
    as_json = output == "json"
    if as_json:
        out.write('{"results": [')
    first = True
    for item in iter_payloads(paths, progress):
        if isinstance(item, SourceError):
            tally.input_errors += 1
            if evidence is not None:
                evidence.add_error(item)
            record = {"source": item.label, "error": item.message}
            if not as_json:
                ticker.clear()
                err.write(f"{item.line()}\n")
        else:
            judgement = judge.judge(item.body)
            session = session_of_payload(item.body)
            accepted = [acceptance.accepts(f.check_id, f.pointer, session) if acceptance else None
                        for f in judgement.findings]
            tally.add(judgement, strict, accepted)
            if evidence is not None:
                evidence.add(item, judgement, accepted)
            record = _record(item, judgement)
            if not as_json and judgement.findings:
                ticker.clear()
                for finding, entry in zip(judgement.findings, accepted, strict=True):
                    mark = f" [accepted by accept[{entry.index}] until {entry.expires}]" if entry else ""
                    out.write(f"{item.label}: {finding.line()}{mark}\n")
        if as_json:
            out.write(("\n  " if first else ",\n  ") + json.dumps(record, default=str))
            first = False
        ticker.tick(tally)
    ticker.clear()
    tally.stale_entries = len(acceptance.stale()) if acceptance else 0
    if as_json:
        summary = tally.to_dict() | {"strict": strict, "spec_sha256": judge.contract.sha256,
                                     "readings": judge.settings.readings()}
        if evidence is not None:
            summary["not_exercised"] = evidence.settle(strict)
        out.write("\n], \"summary\": " + json.dumps(summary) + "}\n")
    else:
        out.write(tally.summary_line() + "\n")
    return tally


def _record(payload: Payload, judgement: Judgement) -> dict:
    return {
        "source": payload.label,
        "findings": [f.to_dict() for f in judgement.findings],
        "semantic_evaluated": judgement.semantic_evaluated,
    }
