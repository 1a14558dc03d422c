"""`hems-conformance run` (the default profile, the default workers) vs plain Schemathesis on a deployment whose
every answer comes late: 0, 20, 50 and 100 ms added per answer by a loopback delay proxy (tests/support/fault_proxy.py,
no trouble injected).

For each delay, a fresh reference deployment is started in this process behind a fresh proxy, and each command
runs against the proxy as a child process (interpreter start-up included, as a CI job pays it):

- run: `hems-conformance run --config CFG` (profile ci, workers 8: no flag, as a release engineer runs it);
- plain pinned: `schemathesis run spec/openapi.yaml --url PROXY -H 'Authorization: Bearer TOKEN' --checks all
  --seed 1 --max-examples 100`, from a directory whose schemathesis.toml pins the path parameters to the first
  configured session (as bench_run.py's "plain pinned").

The request counts are the requests the proxy forwarded for each command (token requests included). Prints one
row per delay, then the goal of issue 19: at 50 ms, run's wall time at most 1.0x plain Schemathesis's. Tokens
and secrets are never printed.

    python bench/bench_latency.py [--delays 0,20,50,100] [--max-examples 100] [--rounds 1] [--timeout 300]
                                  [--workers N]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import statistics
import sys
import tempfile
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import tomli_w
from bench_run import SCHEMATHESIS, SPEC, Run, _secrets, _timed, _token

from conformance.reference.dataset import build_fleet
from conformance.reference.server import Deployment, start_in_thread, write_target_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))  # the proxy the tests use
from fault_proxy import FaultProxy  # noqa: E402

GOAL_DELAY_MS, GOAL_RATIO = 50, 1.0
_REQUESTS = re.compile(r"\((\d+) requests to ")


@contextlib.contextmanager
def _behind_proxy(delay_ms: int) -> Iterator[tuple[Deployment, dict[str, Any], FaultProxy]]:
    """A fresh deployment, a fresh delay proxy before it, and the target config that goes through the proxy."""
    deployment = Deployment(build_fleet(0))
    with start_in_thread(deployment) as upstream:
        proxy = FaultProxy(upstream, delay_s=delay_ms / 1000)
        with proxy.running() as url:
            yield deployment, deployment.target_config(url), proxy


def _run(delay_ms: int, timeout: float, workers: int | None) -> tuple[Run, int]:
    with _behind_proxy(delay_ms) as (_, config, proxy), tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "target.toml")
        write_target_config(path, config)
        command = [sys.executable, "-m", "conformance", "run", "--config", path,
                   "--report-dir", os.path.join(tmp, "reports")] + (["--workers", str(workers)] if workers else [])
        run = _timed(command, tmp, timeout, _secrets(config), lambda output: output,
                     summary=os.path.join(tmp, "reports", "summary.json"))
        return run, proxy.forwarded


def _plain(delay_ms: int, examples: int, timeout: float) -> tuple[Run, int]:
    with _behind_proxy(delay_ms) as (deployment, config, proxy), tempfile.TemporaryDirectory() as tmp:
        token, _ = _token(deployment, config)
        first = config["sessions"][0]
        parameters = {f"path.{key}": first[key] for key in ("org_id", "user_id", "wallbox_id", "session_id")}
        Path(tmp, "schemathesis.toml").write_text(tomli_w.dumps({"parameters": parameters}))
        command = [SCHEMATHESIS, "run", str(SPEC), "--url", config["base_url"], "-H", f"Authorization: Bearer {token}",
                   "--checks", "all", "--seed", "1", "--max-examples", str(examples)]
        return _timed(command, tmp, timeout, _secrets(config) + [token], lambda output: output), proxy.forwarded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="0,20,50,100", help="milliseconds added per answer, comma-separated")
    parser.add_argument("--max-examples", type=int, default=100, help="plain Schemathesis --max-examples")
    parser.add_argument("--rounds", type=int, default=1, help="measurements per delay and command (median shown)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds each child process may take")
    parser.add_argument("--workers", type=int, default=None, help="run's --workers (default: none given, run's own)")
    args = parser.parse_args()
    logging.getLogger("uvicorn.error").addFilter(lambda record: not record.getMessage().startswith("Invalid HTTP"))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; Python {sys.version.split()[0]}, "
          f"schemathesis {version('schemathesis')}; run: default profile, workers {args.workers or 'default'}; plain: pinned, --checks all "
          f"--seed 1 --max-examples {args.max_examples}; {args.rounds} round(s), medians", flush=True)
    print("\n| added per answer | run: wall / exit | run: requests | plain: wall / exit | plain: requests | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    ratios: dict[int, float] = {}
    for delay in (int(d) for d in args.delays.split(",") if d):
        runs = [_run(delay, args.timeout, args.workers) for _ in range(args.rounds)]
        plains = [_plain(delay, args.max_examples, args.timeout) for _ in range(args.rounds)]
        run_s = statistics.median(r.seconds for r, _ in runs)
        plain_s = statistics.median(p.seconds for p, _ in plains)
        ratios[delay] = run_s / plain_s
        said = _REQUESTS.search(runs[-1][0].reported)
        print(f"| {delay} ms | {run_s:.1f} s / {runs[-1][0].exit} | {runs[-1][1]}"
              f"{f' ({said.group(1)} counted by run)' if said else ''} | {plain_s:.1f} s / {plains[-1][0].exit} "
              f"| {plains[-1][1]} | {ratios[delay]:.2f}x |", flush=True)
    if GOAL_DELAY_MS in ratios:
        met = "met" if ratios[GOAL_DELAY_MS] <= GOAL_RATIO else "NOT met"
        print(f"\ngoal: at {GOAL_DELAY_MS} ms, run at most {GOAL_RATIO:g}x plain Schemathesis: {met} "
              f"({ratios[GOAL_DELAY_MS]:.2f}x)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes on the machine inflate wall times)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
