"""Schema-error floods (issue 21, defect 4): peak memory and wall time of bodies whose every item breaks the schema.

Each scenario runs in a child process (peak RSS from `os.wait4`, the child's ru_maxrss):

- `check-100k`: `hems-conformance check` on one payload of 100,000 empty decisions (402 KB, 900,000 errors);
- `check-100k-distinct`: the same with every decision different (`{"x": i}`), so no item's errors are reused;
- `live-20k`: `Judge.judge` plus the live ledger (`catalogue_check`) on a body of 20,000 empty decisions, as a
  live run judges every 200 (bench_hostile.py's `schema-flood` runs the whole `run` against such a target);
- `page-100k`, `page-1m`: the sibling list route's SIB-001 (`SiblingContract.problems`) on a page of 100,000 and
  1,000,000 bare items (`{}`), parsed from JSON as the client does.

Printed per scenario: wall time, peak RSS, and what the child counted (findings built and counted). Goal: under
500 MB and 60 s each, the counts exact.

    python bench/bench_floods.py [--scenarios check-100k,page-1m]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

GOAL_MIB, GOAL_S = 500, 60

_SESSION = """
import json, sys
sys.path.insert(0, {bench!r})
from payloads import sessions
body = sessions(1, 50, range(40, 60), None, 1)[0]
"""
CHILDREN = {
    "live-20k": _SESSION + """
from conformance.contract.judge import Judge
from conformance.live.ledger import Ledger
from conformance.live.response_checks import Request, ResponseContext, catalogue_check
from conformance.contract.catalogue import CATALOGUE
from conformance.report.records import CheckRecord, Exchange
body["decisions"] = [{{}} for _ in range(20_000)]
text = json.dumps(body)
judge, ledger = Judge(), Ledger()
for inv in CATALOGUE.values():
    ledger.register(CheckRecord(inv.id, "invariant", inv.level, inv.statement, inv.spec))
exchange = Exchange("GET", "http://127.0.0.1/x", {{}}, 200, {{}}, text, 1.0, body=json.loads(text))
context = ResponseContext(judge=judge, ledger=ledger, level_of=lambda check_id: CATALOGUE[check_id].level)
for evidence in catalogue_check(Request(exchange), context):
    ledger.add(evidence)
record = ledger.records["SCH-001"]
print(f"SCH-001: {{len(record.findings)}} kept, {{record.total_findings}} counted")
""",
    "page-100k": """
import json
from conformance.contract.cross import load_siblings
from conformance.contract.spec import load_contract
page = json.loads(json.dumps({{"total": {n}, "items": [{{}}] * {n}}}))
findings, more = load_siblings(load_contract()).problems("SIB-001", page)
print(f"SIB-001: {{len(findings)}} built, {{more}} more counted")
""",
}
CHILDREN["page-1m"] = CHILDREN["page-100k"].replace("{n}", "1_000_000")
CHILDREN["page-100k"] = CHILDREN["page-100k"].replace("{n}", "100_000")


def _payload_file(folder: Path, distinct: bool) -> Path:
    from payloads import sessions

    body = sessions(1, 50, range(40, 60), None, 1)[0]
    body["decisions"] = [{"x": i} if distinct else {} for i in range(100_000)]
    path = folder / "flood.json"
    path.write_text(json.dumps(body))
    return path


def measure(name: str, folder: Path) -> tuple[float, float, str]:
    """(wall seconds, the child's peak RSS in MiB, its last output line) of scenario `name`."""
    if name.startswith("check-"):
        path = _payload_file(folder, distinct=name.endswith("distinct"))
        argv = [sys.executable, "-m", "conformance", "check", str(path), "--report-dir", str(folder / "reports")]
    else:
        argv = [sys.executable, "-c", CHILDREN[name].format(bench=str(ROOT / "bench"))]
    started = time.monotonic()
    with open(folder / "output.txt", "wb") as out:
        child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    lines = (folder / "output.txt").read_text(errors="replace").strip().splitlines() or ["-"]
    said = next((line for line in lines if "more finding(s)" in line), "") + " " + lines[-1]
    return wall, usage.ru_maxrss / 1024, f"exit {os.waitstatus_to_exitcode(status)}: {said.strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = ["check-100k", "check-100k-distinct", "live-20k", "page-100k", "page-1m"]
    parser.add_argument("--scenarios", default=",".join(names), help="comma-separated, of: " + ", ".join(names))
    args = parser.parse_args()
    print("| scenario | wall | peak RSS | goal | output |\n|---|---:|---:|---|---|")
    for name in args.scenarios.split(","):
        with tempfile.TemporaryDirectory(prefix="hems-flood-") as folder:
            wall, rss, said = measure(name, Path(folder))
        goal = "met" if rss < GOAL_MIB and wall < GOAL_S else "MISSED"
        print(f"| {name} | {wall:.1f} s | {rss:.0f} MiB | {goal} | {said} |", flush=True)


if __name__ == "__main__":
    main()
