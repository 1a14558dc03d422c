"""`check` on all cores and on Dask: --workers 1, --workers N and --dask local on the same JSON Lines file.

    python bench/bench_scale.py [--payloads 20000] [--shape dense] [--workers 2] [--rounds 2] [--no-dask] [--tmpdir DIR]

Writes one JSON Lines file of a shape from `bench/shapes.py` (default `dense`: every payload with five INFO
findings and one SHOULD; `simulator`: every 100th breaks CNT-004), then runs the real command as a
child process for each engine, rounds alternating so that load from other jobs falls on all of them. For each
run: wall time, payloads/s and the peak RSS of the largest process of the run's tree (`os.wait4`: the child and
the workers it reaped), and the CPU seconds of the tree, so "cores busy" shows how much of the machine the run
got. Every run's stdout must be byte-identical to `--workers 1`'s. Goals (issues 15 and 25): on 2 cores
`--workers 2` at least 1.7x as fast as `--workers 1`, dense findings or not; `--dask local` shows its overhead. The wall-time speed-up needs idle
cores: with the kernel's autogroup scheduling (Linux desktops and many VMs), a session's processes together
get one session's share of a busy machine, however many workers it starts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import payloads
import shapes

MIB = 1 << 20


def run(path: Path, extra: list[str], directory: Path, timeout: float) -> tuple[float, float, float, bytes]:
    """Wall seconds, peak RSS in MiB, CPU seconds of the tree and stdout of `check PATH EXTRA`."""
    command = [sys.executable, "-m", "conformance", "check", str(path), "--report-dir", str(directory / "r"), *extra]
    code, wall, rss_kib, cpu = payloads.run_child(command, directory / "out.txt", timeout)
    if code not in (0, 1):
        sys.exit(f"{' '.join(extra)}: exit {code}, expected a verdict (0 or 1)")
    return wall, rss_kib / 1024, cpu, f"exit {code}\n".encode() + (directory / "out.txt").read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=20_000, help="payloads in the file (default 20000)")
    parser.add_argument("--shape", choices=list(shapes.SHAPES), default="dense", help="the archive (default dense)")
    parser.add_argument("--workers", type=int, default=2, help="N for --workers N and the LocalCluster (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each engine (default 2)")
    parser.add_argument("--no-dask", action="store_true", help="leave out --dask local")
    parser.add_argument("--tmpdir", default=None, help="where the file goes (default: the system temp dir)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per run")
    args = parser.parse_args(argv)

    engines = {"--workers 1": ["--workers", "1"], f"--workers {args.workers}": ["--workers", str(args.workers)]}
    if not args.no_dask:
        engines[f"--dask local ({args.workers} workers)"] = ["--dask", "local", "--workers", str(args.workers)]
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.tmpdir) as tmp:
        directory = Path(tmp)
        path = directory / "sessions.jsonl"
        count = shapes.write_shape(args.shape, path, args.payloads)
        size = path.stat().st_size
        print(f"{os.cpu_count()} cores (shared with other jobs); {count} payloads of shape {args.shape}, "
              f"{size / MIB:.0f} MiB of JSON Lines; load average {os.getloadavg()[0]:.2f}")
        walls: dict[str, list[float]] = {name: [] for name in engines}
        rss: dict[str, float] = {}
        reference = None
        for _ in range(args.rounds):
            for name, extra in engines.items():
                wall, peak, cpu, out = run(path, extra, directory, args.timeout)
                reference = reference if reference is not None else out
                if out != reference:
                    sys.exit(f"{name}: stdout differs from --workers 1")
                walls[name].append(wall)
                rss[name] = max(rss.get(name, 0.0), peak)
                print(f"  {name:32} {wall:7.2f} s  {count / wall:7.0f} payloads/s  "
                      f"{size / MIB / wall:6.1f} MiB/s  peak RSS {peak:6.1f} MiB  CPU {cpu:6.2f} s "
                      f"({cpu / wall:.2f} cores busy)")
    one = statistics.median(walls["--workers 1"])
    print("median wall, speed-up over --workers 1 (stdout byte-identical in every run):")
    for name, values in walls.items():
        print(f"  {name:32} median {statistics.median(values):7.2f} s  min {min(values):7.2f} s  "
              f"speed-up {one / statistics.median(values):.2f}x  peak RSS {rss[name]:.1f} MiB")
    assert reference is not None
    lines = reference.decode().splitlines()[1:]  # after the exit code
    print(f"stdout: {len(lines)} line(s), exit {reference.split()[1].decode()}; last: {lines[-1] if lines else ''}")
    parallel = one / statistics.median(walls[f"--workers {args.workers}"])
    print(f"--workers {args.workers}: {parallel:.2f}x ({'goal met' if parallel >= 1.7 else 'GOAL MISSED'}: "
          f"at least 1.7x on 2 cores); load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
