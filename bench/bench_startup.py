"""Start-up of `hems-conformance check FILE` on one small payload: wall time, peak RSS and which heavy
libraries it loads. The offline check must not pay for the live run's HTTP client, pytest or Schemathesis.

    python bench/bench_startup.py [--runs 15] [--checkout DIR]

`--checkout DIR` measures another checkout of the project (run from DIR, so its `conformance` package is
the one imported), for a before/after comparison with the same interpreter.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("requests", "authlib", "pytest", "_pytest", "schemathesis", "hypothesis", "starlette", "uvicorn")
PROBE = """
import json, runpy, sys
sys.argv = ["hems-conformance", "check", sys.argv[1], "--report-dir", sys.argv[2]]
try:
    runpy.run_module("conformance", run_name="__main__")
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in HEAVY})
print(json.dumps(heavy), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    payload = args.checkout / "cases" / "payloads" / "base" / "ended-charged.json"
    times = []
    with tempfile.TemporaryDirectory() as reports:
        for _ in range(max(1, args.runs)):
            before = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "conformance", "check", str(payload), "--report-dir", reports],
                                    cwd=args.checkout, capture_output=True, timeout=120, check=False)
            times.append(time.perf_counter() - before)
            if result.returncode != 0:
                sys.exit(f"check failed: {result.stderr.decode()[-500:]}")
        probe = subprocess.run([sys.executable, "-c", PROBE, str(payload), reports], cwd=args.checkout,
                               capture_output=True, text=True, timeout=120, check=False)
    heavy = json.loads(probe.stderr.strip().splitlines()[-1])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"checkout {args.checkout}")
    print(f"check start-up over {len(times)} runs: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms; peak RSS {peak_mib:.0f} MiB")
    print(f"heavy libraries loaded: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
