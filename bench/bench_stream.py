"""`hems-conformance check` on a large JSON Lines file: wall time, payloads/s and peak memory for two sizes.

    /work/venv/bin/python bench/bench_stream.py [--size-mb 200] [--small-mb 50] [--tmpdir /tmp]
    /work/venv/bin/python bench/bench_stream.py --size-mb 1024          # the 1 GB case from issue 2

Each size gets a fresh file of simulated sessions (about 50 decisions and 10 commands each; every 100th one
breaks CNT-004 so the finding path runs too), judged by the real command in a child process. Peak RSS is the
child's own (`os.wait4`, the per-child form of getrusage(RUSAGE_CHILDREN).ru_maxrss): if streaming holds,
it is about the same for both sizes. The files live in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import payloads

MIB = 1 << 20


def run_check(path: Path, out_path: Path, timeout: float, workers: int | None) -> tuple[int, float, int]:
    """Run `hems-conformance check PATH`; return exit code, wall seconds and the peak RSS in KiB of the largest
    process of its tree (the child, or a worker it reaped)."""
    command = [sys.executable, "-m", "conformance", "check", str(path), "--report-dir", str(path.parent / "reports"),
               *(["--workers", str(workers)] if workers else [])]
    return payloads.run_child(command, out_path, timeout)[:3]  # the summary is stdout's last line


def measure(directory: Path, size_mb: float, timeout: float, workers: int | None) -> dict[str, float]:
    path = directory / f"sessions-{size_mb:g}MB.jsonl"
    count = payloads.write_lines(path, size=int(size_mb * MIB))
    file_size = path.stat().st_size
    code, wall, rss_kib = run_check(path, directory / "out.txt", timeout, workers)
    output = (directory / "out.txt").read_text(encoding="utf-8").splitlines()
    expected_failing = count // payloads.BROKEN_EVERY
    summary = output[-1] if output else ""
    if code != 1 or not summary.startswith(f"{count} payload(s) judged, {expected_failing} failing"):
        sys.exit(f"unexpected result (exit {code}): {summary or 'no output'}")
    path.unlink()
    return {"size_mb": file_size / MIB, "payloads": count, "wall_s": wall, "rate": count / wall,
            "mb_s": file_size / MIB / wall, "rss_mib": rss_kib / 1024, "findings": len(output) - 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200, help="large file size in MiB (default 200)")
    parser.add_argument("--small-mb", type=float, default=None, help="small file size (default a quarter)")
    parser.add_argument("--tmpdir", default=None, help="where to write the files (default: the system temp dir)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per check run")
    parser.add_argument("--workers", type=int, default=None, help="--workers N for check (default: check's own)")
    args = parser.parse_args(argv)
    sizes = (args.small_mb or args.size_mb / 4, args.size_mb)

    with tempfile.TemporaryDirectory(prefix="bench-stream-", dir=args.tmpdir) as tmp:
        directory = Path(tmp)
        free_mb = shutil.disk_usage(directory).free / MIB
        if free_mb < max(sizes) * 1.1 + 100:
            sys.exit(f"not enough disk in {directory}: {free_mb:.0f} MiB free, {max(sizes):.0f} MiB needed")
        workers = f" --workers {args.workers}" if args.workers else ""
        print(f"{os.cpu_count()} cores; command: {sys.executable} -m conformance check FILE.jsonl{workers}")
        results = [measure(directory, size, args.timeout, args.workers) for size in sizes]
    for r in results:
        print(f"{r['size_mb']:8.0f} MiB  {r['payloads']:8d} payloads  {r['wall_s']:7.1f} s  "
              f"{r['rate']:7.0f} payloads/s  {r['mb_s']:5.1f} MiB/s  peak RSS {r['rss_mib']:6.1f} MiB  "
              f"({r['findings']} finding lines)")
    small, large = results
    print(f"peak RSS grows {large['rss_mib'] / small['rss_mib']:.2f}x for {large['size_mb'] / small['size_mb']:.1f}x "
          f"the input: {'bounded' if large['rss_mib'] < small['rss_mib'] * 1.25 else 'NOT bounded'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
