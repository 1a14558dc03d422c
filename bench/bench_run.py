"""`hems-conformance run --profile ci` vs plain `schemathesis run --checks all` on the reference deployment.

For the clean deployment and for each fault of `conformance.reference.faults.FAULTS`, a fresh reference deployment
(`Deployment(build_fleet(seed), Faults([fault]))`) is started in this process on a loopback port for each
measured command, and the command runs against it as a child process with a timeout:

- ci: `hems-conformance run --config CFG --profile ci`; caught = exit 1 (exit 3 for token-endpoint-500,
  which must leave the target untestable), and the table says whether a finding names an ID the fault
  breaks. A second ci run with `--strict` is measured for faults that break only SHOULD-level cases (their
  findings warn without it) and for the clean deployment (to show --strict raises no false alarm).
- plain unpinned: `schemathesis run spec/openapi.yaml --url BASE -H 'Authorization: Bearer TOKEN'
  --checks all --seed 1 --max-examples N`, as a partner would run it; non-zero exit = reported something.
- plain pinned: the same, from a directory whose schemathesis.toml pins the path parameters to the first
  configured session of tenant A (`[parameters]` "path.org_id" ...).

The token comes from the deployment's token endpoint (client credentials of tenant A); where that endpoint
is the fault (token-endpoint-500), it is minted in-process so plain Schemathesis can still run. Prints one
row per deployment, then totals against the goal of issue 4: ci under 60 s per run, every fault caught,
at most 2x the wall time of plain Schemathesis. Tokens and secrets are never printed.

    python bench/bench_run.py [--faults a,b] [--max-examples 100] [--seed 0] [--timeout 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.levels import Level
from conformance.live.live_cases import load_live_cases
from conformance.reference.dataset import build_fleet
from conformance.reference.faults import FAULTS, Faults
from conformance.reference.server import Deployment, start_in_thread, write_target_config

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CLEAN = "(clean)"
GOAL_SECONDS, GOAL_RATIO = 60.0, 2.0
EXPECTED_EXIT = {"token-endpoint-500": 3}  # the run cannot authenticate: target untestable, not non-conformant
_VERDICT = re.compile(r"^hems-conformance: (?!reports in ).*$", re.MULTILINE)
_URL = re.compile(r"https?://\S+ ?")
_FAILED_IDS = re.compile(r"failed \(([^)]*)\)")
_ST_FAILURE = re.compile(r"^\s*\S+\s+(ST\d+)\b.*: \d+$", re.MULTILINE)  # summary line "❌ ST103 Undocumented ...: 2"
_INNER = re.compile(r" in (\d+(?:\.\d+)?)s =+\s*$", re.MULTILINE)  # pytest's, Schemathesis' "... in 1.17s ===="


@dataclass
class Run:
    """One timed child process: wall and CPU seconds, the time its own summary line states (the session or the
    test run, without interpreter start-up and imports), exit code (None: timed out), what it reported."""

    seconds: float
    cpu: float
    inner: float | None
    exit: int | None
    reported: str
    output: str

    def cell(self) -> str:
        inner = f" ({self.inner:.1f})" if self.inner is not None else ""
        return f"{self.seconds:.1f} s{inner} / {'timeout' if self.exit is None else self.exit}"


@dataclass
class Row:
    fault: str
    ci: Run
    strict: Run | None
    unpinned: Run
    pinned: Run
    token_note: str


def _levels() -> dict[str, Level]:
    return {c.id: c.level for c in load_live_cases()} | {i.id: i.level for i in CATALOGUE.values()}


def _only_should(fault: str, levels: dict[str, Level]) -> bool:
    return all(levels.get(case) is Level.SHOULD for case in FAULTS[fault].breaks)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[filtered]")
    return text


def _timed(command: list[str], cwd: str, timeout: float, secrets: list[str], parse: Callable[[str], str],
           summary: str | None = None) -> Run:
    """`summary`: the summary.json the command writes, whose duration_s is its own time (`run` prints its own
    closing line, not pytest's); otherwise the time the tool's closing line states."""
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        code = None
        output = "".join(part.decode(errors="replace") if isinstance(part, bytes) else (part or "")
                         for part in (exc.stdout, exc.stderr))
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = _redact(output, secrets)
    if summary and Path(summary).is_file():
        inner = [json.loads(Path(summary).read_text())["metadata"]["duration_s"]]
    else:
        inner = _INNER.findall(output)
    return Run(seconds, usage.ru_utime + usage.ru_stime - cpu.ru_utime - cpu.ru_stime,
               float(inner[-1]) if inner else None, code, parse(output), output)


def _ci_reported(output: str) -> str:
    """The run's verdict line, reduced to the IDs it failed (or its one-line verdict)."""
    verdicts = _VERDICT.findall(output)
    if not verdicts:
        return "no verdict line"
    named = _FAILED_IDS.search(verdicts[-1])
    return named.group(1) if named else _URL.sub("", verdicts[-1].removeprefix("hems-conformance: ").split(" (")[0])


def _plain_reported(output: str) -> str:
    codes = list(dict.fromkeys(_ST_FAILURE.findall(output)))
    return ", ".join(codes) if codes else ("errors" if "ERRORS" in output else "-")


@contextlib.contextmanager
def _deployment(fleet: Any, fault: str) -> Iterator[tuple[Deployment, dict[str, Any]]]:
    deployment = Deployment(fleet, Faults([] if fault == CLEAN else [fault]))
    with start_in_thread(deployment) as url:
        yield deployment, deployment.target_config(url)


def _secrets(config: dict[str, Any]) -> list[str]:
    auths = (config["auth"], config["tenant_b"]["auth"])
    return [a[k] for a in auths for k in ("client_secret", "password") if a.get(k)]


def _ci(fleet: Any, fault: str, args: argparse.Namespace, *, strict: bool = False) -> Run:
    with _deployment(fleet, fault) as (_, config), tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "target.toml")
        write_target_config(path, config)
        command = [sys.executable, "-m", "conformance", "run", "--config", path, "--profile", "ci",
                   "--report-dir", os.path.join(tmp, "reports")] + (["--strict"] if strict else [])
        return _timed(command, tmp, args.timeout, _secrets(config), _ci_reported,
                      summary=os.path.join(tmp, "reports", "summary.json"))


def _token(deployment: Deployment, config: dict[str, Any]) -> tuple[str, str]:
    """A Bearer token of tenant A from the token endpoint; minted in-process where the endpoint is broken."""
    auth = config["auth"]
    answer = httpx.post(config["base_url"] + auth["token_url"], data={"grant_type": "client_credentials"},
                        auth=(auth["client_id"], auth["client_secret"]), timeout=10)
    if answer.status_code == 200:
        return answer.json()["access_token"], ""
    return deployment.issuer.issue(deployment.fleet.tenants[0].key)[0], f"token endpoint {answer.status_code}: minted"


def _plain(fleet: Any, fault: str, args: argparse.Namespace, *, pinned: bool) -> tuple[Run, str]:
    with _deployment(fleet, fault) as (deployment, config), \
            tempfile.TemporaryDirectory() as tmp:
        token, note = _token(deployment, config)
        if pinned:
            first = config["sessions"][0]
            parameters = {f"path.{key}": first[key] for key in ("org_id", "user_id", "wallbox_id", "session_id")}
            Path(tmp, "schemathesis.toml").write_text(tomli_w.dumps({"parameters": parameters}))
        command = [SCHEMATHESIS, "run", str(SPEC), "--url", config["base_url"], "-H", f"Authorization: Bearer {token}",
                   "--checks", "all", "--seed", "1", "--max-examples", str(args.max_examples)]
        return _timed(command, tmp, args.timeout, _secrets(config) + [token], _plain_reported), note


def _measure(fleet: Any, fault: str, args: argparse.Namespace, levels: dict[str, Level]) -> Row:
    ci = _ci(fleet, fault, args)
    strict = _ci(fleet, fault, args, strict=True) if fault == CLEAN or _only_should(fault, levels) else None
    unpinned, note = _plain(fleet, fault, args, pinned=False)
    pinned, _ = _plain(fleet, fault, args, pinned=True)
    return Row(fault, ci, strict, unpinned, pinned, note)


def _verdict(fault: str, run: Run) -> str:
    """quiet / false alarm on the clean deployment; for a fault: yes, NO, 'warns only' (exit 0 with SHOULD
    findings), or 'exit only' (the expected exit code, but no finding names an ID the fault breaks)."""
    if fault == CLEAN:
        return "quiet" if run.exit == 0 else "false alarm"
    if run.exit != EXPECTED_EXIT.get(fault, 1):
        return "warns only" if run.exit == 0 and "with warnings" in run.reported else "NO"
    if run.exit == 1 and not set(FAULTS[fault].breaks) & set(run.reported.split(", ")):
        return "exit only"
    return "yes"


def _caught(fault: str, run: Run | None) -> bool:
    return run is not None and _verdict(fault, run) in ("yes", "exit only")


def _beyond_clean(run: Run, clean: Run) -> bool:
    """Plain Schemathesis reported something it does not also report on the clean deployment."""
    return run.exit != 0 and (clean.exit == 0 or bool(set(run.reported.split(", ")) - set(clean.reported.split(", "))))


def _print_table(rows: list[Row]) -> None:
    print("\n| deployment | breaks | ci: wall (session) / exit | caught | ci reported | ci --strict | caught "
          "| plain unpinned | reported | plain pinned | reported |")
    print("|---|---|---:|---|---|---|---|---:|---|---:|---|")
    for r in rows:
        breaks = ", ".join(FAULTS[r.fault].breaks) if r.fault in FAULTS else ""
        second = r.strict.cell() if r.strict else ""
        second_mark = f"{_verdict(r.fault, r.strict)} ({r.strict.reported})" if r.strict else ""
        note = f" ({r.token_note})" if r.token_note else ""
        print(f"| {r.fault} | {breaks} | {r.ci.cell()} | {_verdict(r.fault, r.ci)} | {r.ci.reported} | {second} "
              f"| {second_mark} | {r.unpinned.cell()}{note} | {r.unpinned.reported} | {r.pinned.cell()} "
              f"| {r.pinned.reported} |")


def _print_totals(rows: list[Row]) -> None:
    clean = next(r for r in rows if r.fault == CLEAN)
    faulty = [r for r in rows if r.fault != CLEAN]
    n = len(faulty)
    by_ci = [r.fault for r in faulty if _caught(r.fault, r.ci)]
    by_either = [r.fault for r in faulty if _caught(r.fault, r.ci) or _caught(r.fault, r.strict)]
    exit_only = [r.fault for r in faulty for run in (r.ci, r.strict)
                 if run is not None and _verdict(r.fault, run) == "exit only"]
    missed = [r.fault for r in faulty if r.fault not in by_either]
    print(f"\nfaults caught, of {n}:")
    print(f"  ci (default run): {len(by_ci)}; with --strict where only SHOULD cases break: {len(by_either)}; "
          f"missed even then: {', '.join(missed) or 'none'}")
    if exit_only:
        print(f"  ci exit right but no finding names an ID the fault breaks: {', '.join(dict.fromkeys(exit_only))}")
    for name in ("unpinned", "pinned"):
        runs = [getattr(r, name) for r in faulty]
        print(f"  plain {name}: exit non-zero on {sum(run.exit != 0 for run in runs)}; reporting more than on the "
              f"clean deployment on {sum(_beyond_clean(run, getattr(clean, name)) for run in runs)}")
    print(f"clean deployment (false alarms): ci exit {clean.ci.exit}, ci --strict exit {clean.strict.exit}, "
          f"plain unpinned exit {clean.unpinned.exit} ({clean.unpinned.reported}), "
          f"plain pinned exit {clean.pinned.exit} ({clean.pinned.reported})")
    walls = {name: [getattr(r, name).seconds for r in rows] for name in ("ci", "unpinned", "pinned")}
    print(f"wall time over the {len(rows)} default runs of each (--strict runs not included):")
    for name, times in walls.items():
        cpu = sum(getattr(r, name).cpu for r in rows)
        print(f"  {name:>8}: total {sum(times):.1f} s, median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s; child CPU total {cpu:.1f} s")
    for plain in ("unpinned", "pinned"):
        print(f"  ratio ci / plain {plain}: total {sum(walls['ci']) / sum(walls[plain]):.2f}x, "
              f"median {statistics.median(walls['ci']) / statistics.median(walls[plain]):.2f}x")
    slowest = max([r.ci.seconds for r in rows] + [r.strict.seconds for r in rows if r.strict])
    ratio = statistics.median(walls["ci"]) / statistics.median(walls["unpinned"])
    print(f"goals: ci under {GOAL_SECONDS:g} s per run: {'met' if slowest < GOAL_SECONDS else 'NOT met'} "
          f"(slowest {slowest:.1f} s); catching every fault: {'met' if not missed else 'NOT met'} "
          f"({len(by_either)}/{n}, default run alone {len(by_ci)}/{n}); at most {GOAL_RATIO:g}x plain "
          f"(median vs unpinned): {'met' if ratio <= GOAL_RATIO else 'NOT met'} ({ratio:.2f}x)")


def _print_misses(rows: list[Row], tail: int) -> None:
    """The end of the output of every ci run that missed its fault (not merely warned) or alarmed on the clean
    deployment."""
    for r in rows:
        runs = [("ci", r.ci)] + ([("ci --strict", r.strict)] if r.strict else [])
        for label, run in runs:
            if _verdict(r.fault, run) not in ("yes", "quiet", "warns only"):
                print(f"\n--- {r.fault}, {label}: exit {run.exit}, last {tail} lines of its output ---")
                print("\n".join(run.output.rstrip().splitlines()[-tail:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default="", help="comma-separated fault names (default: every fault)")
    parser.add_argument("--max-examples", type=int, default=100, help="plain Schemathesis --max-examples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference fleet")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds each child process may take")
    parser.add_argument("--tail", type=int, default=25, help="output lines shown for a ci run that missed")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f] or list(FAULTS)
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        print(f"unknown fault {unknown[0]!r} (see hems-conformance serve --list-faults)", file=sys.stderr)
        return 2
    # uvicorn warns "Invalid HTTP request received." for every fuzzed request line it cannot parse
    logging.getLogger("uvicorn.error").addFilter(lambda record: not record.getMessage().startswith("Invalid HTTP"))
    fleet, levels = build_fleet(args.seed), _levels()
    print(f"reference deployment, fleet seed {args.seed}, {len(fleet.sessions)} sessions; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at start; Python {sys.version.split()[0]}, schemathesis "
          f"{version('schemathesis')}; plain: --checks all --seed 1 --max-examples {args.max_examples}", flush=True)
    rows = []
    for fault in [CLEAN, *faults]:
        rows.append(_measure(fleet, fault, args, levels))
        r = rows[-1]
        print(f"  {fault}: ci {r.ci.cell()}, unpinned {r.unpinned.cell()}, pinned {r.pinned.cell()}",
              file=sys.stderr, flush=True)
    _print_table(rows)
    _print_totals(rows)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other processes on the machine inflate wall times)")
    _print_misses(rows, args.tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
