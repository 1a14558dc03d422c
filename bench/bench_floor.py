"""`check` against the parsing floor: the same JSON Lines file, in one process, in the same run.

    python bench/bench_floor.py [--payloads 20000] [--rounds 3] [--shape NAME ...] [--tmpdir DIR] [--profile N]

The floor is what no judge of this contract can beat in Python: read each line, parse it with `json.loads`
and validate it with the response schema compiled once by jsonschema-rs (formats on), no output. `check`
is the real `run_check` over the same file (its own parsing, the schema, every invariant, the evidence the
reports keep, text output into memory). Floor and check alternate slice by slice (1,000 payloads, `--slice`),
so that load from other jobs on the machine falls on both alike; each round prints its ratio and the end prints min and median per shape. Shapes
(`bench/shapes.py`, every one by default): the simulator's sessions and archives shaped unlike them (long
sessions repeated, non-Z offsets with fractions, dense INFO and SHOULD findings, few distinct bodies). Goal
(issues 15 and 25): `check/floor` at most 2.0 on every shape. `--profile N` profiles `check` over the first N
payloads of the first shape instead and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jsonschema_rs
import shapes

from conformance.contract.judge import Judge
from conformance.offline.evidence import CheckEvidence
from conformance.offline.stream import Tally, run_check

MIB = 1 << 20


def floor(path: Path, validator: jsonschema_rs.Validator) -> tuple[float, float]:
    """Wall and CPU seconds of the floor."""
    start, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as handle:
        for line in handle:
            for _ in validator.iter_errors(json.loads(line)):
                pass
    return time.perf_counter() - start, time.process_time() - cpu


def check(path: Path, judge: Judge) -> tuple[float, float, Tally]:
    """Wall and CPU seconds of check, and its tally."""
    out, err = io.StringIO(), io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    tally = run_check(judge, [str(path)], strict=False, output="text", out=out, err=err, evidence=CheckEvidence(judge))
    return time.perf_counter() - start, time.process_time() - cpu, tally


def sliced(path: Path, lines: int) -> list[Path]:
    """The file cut into files of `lines` lines beside it: floor and check alternate slice by slice, so that
    the load other jobs put on the machine falls on both alike (a round takes many seconds; load changes faster)."""
    slices: list[Path] = []
    with open(path, "rb") as handle:
        while chunk := list(itertools.islice(handle, lines)):
            slices.append(path.with_name(f"slice-{len(slices):04d}.jsonl"))
            slices[-1].write_bytes(b"".join(chunk))
    return slices


def interleaved(slices: list[Path], judge: Judge, validator: jsonschema_rs.Validator) -> tuple[float, float, float, float, str]:
    """Floor and check, slice by slice: their wall and CPU seconds, and check's summary line."""
    f = f_cpu = c = c_cpu = 0.0
    total = Tally()
    for piece in slices:
        wall, cpu = floor(piece, validator)
        f, f_cpu = f + wall, f_cpu + cpu
        wall, cpu, tally = check(piece, judge)
        c, c_cpu = c + wall, c_cpu + cpu
        total.merge(tally)
    return f, f_cpu, c, c_cpu, total.summary_line()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=20_000,
                        help="payloads per file (default 20000; a fifth of it for long sessions)")
    parser.add_argument("--rounds", type=int, default=3, help="floor/check pairs per shape (default 3)")
    parser.add_argument("--shape", action="append", choices=list(shapes.SHAPES), help="a shape (default: all)")
    parser.add_argument("--slice", type=int, default=1000, help="payloads per slice: floor and check alternate "
                        "slice by slice (default 1000)")
    parser.add_argument("--tmpdir", default=None, help="where the file goes (default: the system temp dir)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile check over N payloads instead")
    args = parser.parse_args(argv)

    judge = Judge()
    validator = jsonschema_rs.validator_for(judge.contract.response_schema, validate_formats=True)  # as the judge
    results: list[str] = []
    print(f"{os.cpu_count()} cores (shared); load average {os.getloadavg()[0]:.2f}")
    for shape in args.shape or list(shapes.SHAPES):
        with tempfile.TemporaryDirectory(prefix="bench-floor-", dir=args.tmpdir) as tmp:
            path = Path(tmp, "sessions.jsonl")
            count = shapes.write_shape(shape, path, args.profile or args.payloads)
            size = path.stat().st_size
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(check, path, judge)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                return 0
            print(f"{shape}: {count} payloads, {size / MIB:.0f} MiB of JSON Lines")
            ratios, cpu_ratios, floors, checks, summaries = [], [], [], [], set()
            slices = sliced(path, args.slice)
            for n in range(1, args.rounds + 1):
                f, f_cpu, c, c_cpu, summary = interleaved(slices, judge, validator)
                summaries.add(summary)
                floors.append(f)
                checks.append(c)
                ratios.append(c / f)
                cpu_ratios.append(c_cpu / f_cpu)
                print(f"  round {n}: floor {f:6.2f} s ({count / f:7.0f} payloads/s, {size / MIB / f:5.1f} MiB/s)   "
                      f"check {c:6.2f} s ({count / c:7.0f} payloads/s, {size / MIB / c:5.1f} MiB/s)   "
                      f"check/floor {c / f:.2f} (CPU time {c_cpu / f_cpu:.2f})")
            if len(summaries) != 1:
                sys.exit(f"{shape}: check gave different results: {summaries}")
            print(f"  {summaries.pop()}")
            met = "goal met" if statistics.median(ratios) <= 2.0 else "GOAL MISSED"
            results.append(f"  {shape:14} {count:6} payloads {size / MIB:5.0f} MiB  floor {statistics.median(floors):6.2f} s  "
                           f"check {statistics.median(checks):6.2f} s  check/floor median {statistics.median(ratios):.2f} "
                           f"(min {min(ratios):.2f}; CPU time {statistics.median(cpu_ratios):.2f})  {met}")
    print("medians per shape (goal: check/floor at most 2.0 on each):", *results, sep="\n")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0

if __name__ == "__main__":
    sys.exit(main())
