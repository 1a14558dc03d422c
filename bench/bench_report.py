"""What the pictures of issue 14 cost a run: report size and the time spent on timelines and coverage.

Runs `hems-conformance run --profile PROFILE` against the bundled reference deployment in this process, once
clean and once with the payload faults below (every session drawn in full then, up to the cap), and times
the two places the pictures cost: taking each served session into the coverage and the sample
(`LiveRun._saw_session`) and drawing the coverage table and the timelines (`evidence_sections`). Prints wall
time, those two times and their share of the wall time, and the bytes of each report file.
Goals (issue 14): a thorough-profile report under 5 MB, rendering under 10 % of the run's wall time.

    python bench/bench_report.py [--profile thorough] [--clean-only]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import conformance.live.report_plugin as report_plugin
from conformance.cli import main
from conformance.live.runner import LiveRun

PAYLOAD_FAULTS = ("counters-off-by-one", "stale-ineffective-counter", "dangling-command-reference", "hold-dispatched",
                  "verdict-without-evidence", "command-before-decision", "amps-out-of-range", "impossible-phases")


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def measure(profile: str, faults: tuple[str, ...]) -> None:
    collecting, drawing = Timer(), Timer()
    saw, sections = LiveRun._saw_session, report_plugin.evidence_sections
    LiveRun._saw_session = collecting.wrap(saw)
    report_plugin.evidence_sections = drawing.wrap(sections)
    try:
        with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder), \
                open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            started = time.perf_counter()
            code = main(["run", "--profile", profile, "--report-dir", "r", *(a for f in faults for a in ("--fault", f))])
            wall = time.perf_counter() - started
            sizes = {p.name: p.stat().st_size for p in sorted(Path("r").iterdir())}
    finally:
        LiveRun._saw_session, report_plugin.evidence_sections = saw, sections
    spent = collecting.seconds + drawing.seconds
    files = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sizes.items())
    print(f"| {profile} | {'clean' if not faults else f'{len(faults)} payload faults'} | {code} | {wall:.1f} | "
          f"{collecting.seconds * 1000:.0f} | {drawing.seconds * 1000:.0f} | {100 * spent / wall:.2f} % | {files} | "
          f"{sum(sizes.values()) / 1e6:.2f} MB |")


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="thorough", choices=("quick", "ci", "thorough"))
    parser.add_argument("--clean-only", action="store_true")
    args = parser.parse_args()
    print("| profile | deployment | exit | wall s | collecting ms | drawing ms | share of wall | files | total |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    measure(args.profile, ())
    if not args.clean_only:
        measure(args.profile, PAYLOAD_FAULTS)


if __name__ == "__main__":
    main_bench()
