"""`hems-conformance check`: judge recorded payloads without a server, streaming, with a tally."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Generator, Iterable
from typing import IO

from conformance.contract.judge import Judge
from conformance.offline.evidence import CheckEvidence, PartialEvidence
from conformance.offline.groups import GROUPS_KEPT
from conformance.offline.partial import ERR, Partial, Tally, judge_items
from conformance.offline.parts import iter_inputs
from conformance.offline.sources import Progress
from conformance.report.baseline import Acceptance, exercised_checks

__all__ = ["Tally", "run_check"]


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


class _Writer:
    """Writes output in input order: the progress line cleared first, the first JSON record without its comma."""

    def __init__(self, out: IO[str], err: IO[str], ticker: _ProgressLine, as_json: bool) -> None:
        self.out, self.err, self.ticker, self.as_json = out, err, ticker, as_json
        self.first = True

    def write(self, stream: int, text: str) -> None:
        self.ticker.clear()
        if stream == ERR:
            self.err.write(text)
            return
        if self.as_json and self.first:
            text = text[1:]  # RECORD_SEPARATOR without its comma
        self.first = False
        self.out.write(text)


class _Live(Partial):
    """The partial of a run judged in this process: written as it goes, never kept."""

    def __init__(self, writer: _Writer, tally: Tally, acceptance: Acceptance | None) -> None:
        super().__init__(tally=tally, acceptance=acceptance, evidence=PartialEvidence(group_limit=GROUPS_KEPT))
        self.writer = writer

    def write(self, stream: int, text: str) -> None:
        self.writer.write(stream, text)

    def step(self) -> None:
        self.writer.ticker.tick(self.tally)


def run_check(judge: Judge, paths: Iterable[str], *, strict: bool, output: str,
              out: IO[str] | None = None, err: IO[str] | None = None, evidence: CheckEvidence | None = None,
              tally: Tally | None = None, acceptance: Acceptance | None = None,
              partials: Callable[[Progress], Generator[Partial, None, None]] | None = None, column: str | None = None,
              verbose: bool = False) -> Tally:
    """Judge every payload under `paths`; return the tally (`tally`, if given, so
    that a caller interrupted half-way still has what was judged, and `evidence` gets it too). With a baseline
    (`acceptance`), accepted findings are marked and do not fail, and stale entries do (exit 1, their own verdict).

    Text output is one line per group of identical findings (INFO ones one line per check unless `verbose`),
    written once every payload is judged, then the summary line; `--format json` writes one record per payload
    as it comes. `partials` runs the partitions elsewhere (a process pool, a Dask cluster) and yields their results in
    input order; without it they are judged here, one payload at a time. `out`/`err` default to the streams
    current at call time (not at import), so callers that swap them work.
    """
    out, err = out or sys.stdout, err or sys.stderr
    tally, progress = tally or Tally(), Progress()
    ticker = _ProgressLine(progress, err)
    as_json = output == "json"
    writer = _Writer(out, err, ticker, as_json)
    if as_json:
        out.write('{"results": [')
    run = _Live(writer, tally, acceptance)
    try:
        if partials is None:
            judge_items(judge, iter_inputs(paths, progress, column), strict=strict, as_json=as_json, into=run)
        else:
            with contextlib.closing(partials(progress)) as source:  # an interruption between two partials
                for partial in source:  # closes the source (and stops its workers) now, not when it is collected
                    run.merge(partial)
                    progress.read += partial.read
                    run.step()
    except KeyboardInterrupt:  # what was judged, grouped, before the interruption goes on
        ticker.clear()
        if not as_json:
            out.write("".join(f"{line}\n" for line in run.evidence.groups.lines(verbose=verbose)))
        raise
    finally:  # also on Ctrl-C: the reports show what was judged
        ticker.clear()
        if evidence is not None:
            evidence.absorb(run.evidence)
    idle = evidence.settle(strict) if evidence is not None else None
    if acceptance is not None:  # without the evidence, every entry's check counts as exercised
        exercised = exercised_checks(evidence.records.values()) if evidence is not None else \
            {e.check for e in acceptance.baseline.entries}
        tally.stale_entries = len(acceptance.stale(exercised))
    if as_json:
        summary = tally.to_dict() | {"strict": strict, "spec_sha256": judge.contract.sha256,
                                     "readings": judge.settings.readings()}
        if idle is not None:
            summary["not_exercised"] = idle
        out.write("\n], \"summary\": " + json.dumps(summary) + "}\n")
    else:  # the findings grouped, then a verdict that names what it does not cover, as `run`'s does
        out.write("".join(f"{line}\n" for line in run.evidence.groups.lines(verbose=verbose)))
        unexercised = sorted(idle) if idle is not None and tally.exit_code() in (0, 1) else []
        covers = f"; {len(unexercised)} check(s) not exercised ({', '.join(unexercised)})" if unexercised else ""
        out.write(tally.summary_line() + covers + "\n")
    return tally
