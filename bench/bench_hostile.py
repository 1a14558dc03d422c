"""`hems-conformance run` against targets that misbehave on purpose: peak memory, wall time and exit code.

Each scenario starts a small stdlib server on loopback in this process (tests/support/hostile_support.py) and runs
`python -m conformance run --config CFG --profile quick` against it as a child process, from a fresh temporary
directory, with the config's defaults (max_body_mib = 32) and `timeout_s` as given. Printed per scenario: exit
code, wall time, the child's peak RSS (`os.wait4`, getrusage's ru_maxrss of that child) and the verdict line.
Goals (issue 12): under 300 MB, exit 1 or 3, within timeout_s plus a few seconds per request that cannot
complete (a dripping target: the first request ends the run).

    python bench/bench_hostile.py [--timeout-s 10] [--scenarios endless-chunked,gzip-bomb,drip,schema-flood,...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "bench"))

from hostile_support import SESSION, bomb, drip, endless_chunked, head, hostile, target_toml  # noqa: E402


def schema_flood(decisions: int = 20_000):
    """A 200 of the session endpoint whose every one of `decisions` decisions is empty: a flood of schema errors."""
    from payloads import sessions

    session = sessions(1, 50, range(40, 60), None, 1)[0]
    session["session"]["id"] = 101
    body = json.dumps(session | {"decisions": [{}] * decisions}).encode()

    def answer(handler) -> None:
        head(handler, Content_Length=str(len(body)))
        handler.wfile.write(body)
    return answer


def list_flood(items: int):
    """The sibling list route answers a page of `items` bare items (`{}`), total `items`; the rest an empty 200."""
    page = json.dumps({"total": items, "items": [{}] * items}).encode()

    def answer(handler) -> None:
        body = page if handler.path.split("?")[0].endswith("/hems-sessions") else b'{"session": {"id": 101}}'
        head(handler, Content_Length=str(len(body)))
        handler.wfile.write(body)
    return answer


WALLBOX = {key: SESSION[key] for key in ("org_id", "user_id", "wallbox_id")}
DISCOVERY = {"wallboxes": [WALLBOX], "discover": {"from": datetime.date(2026, 1, 1), "to": datetime.date(2026, 1, 2)}}
SCENARIOS = {
    "endless-chunked": lambda: endless_chunked(max_bytes=64 << 30, max_s=600),  # a 200 that never ends
    "gzip-bomb": lambda: bomb(1024),  # about 1 MiB of gzip on the wire, 1 GiB decoded
    "drip": lambda: drip(every_s=1.0),  # one byte a second
    "schema-flood": schema_flood,  # 20,000 empty decisions (80 KB): 180,000 schema errors per answer
    "list-flood-100k": lambda: list_flood(100_000),  # a list page of 100,000 bare items (SIB-001, XEP-002)
    "list-flood-1m": lambda: list_flood(1_000_000),
}
EXTRA_CONFIG = {"list-flood-100k": DISCOVERY, "list-flood-1m": DISCOVERY}
GOAL_MIB = 300
_VERDICT = re.compile(r"^hems-conformance: (?!reports in |note: ).*$", re.MULTILINE)


def measure(name: str, timeout_s: float, limit_s: float) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, the child's peak RSS in MiB, verdict line) of one run against scenario `name`;
    a run still going after limit_s is killed (exit -9)."""
    with hostile(SCENARIOS[name]()) as url, tempfile.TemporaryDirectory(prefix="hems-hostile-") as folder:
        config, log = Path(folder) / "target.toml", Path(folder) / "output.txt"
        config.write_text(target_toml(url, timeout_s=timeout_s, **EXTRA_CONFIG.get(name, {})))
        started = time.monotonic()
        with open(log, "wb") as out:
            child = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--config", str(config),
                                      "--profile", "quick"], cwd=folder, stdout=out, stderr=subprocess.STDOUT)
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() - started > limit_s:
                    child.kill()
                time.sleep(0.05)
        wall = time.monotonic() - started
        output = log.read_text(encoding="utf-8", errors="replace")
    verdicts = _VERDICT.findall(output)
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024, verdicts[-1] if verdicts else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout-s", type=float, default=10.0, help="timeout_s of the target config (default 10)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, of: " + ", ".join(SCENARIOS))
    parser.add_argument("--limit-s", type=float, default=600.0, help="kill a run after this long (default 600)")
    args = parser.parse_args()
    print("| scenario | exit | wall | peak RSS | verdict |\n|---|---:|---:|---:|---|")
    for name in args.scenarios.split(","):
        code, wall, rss, verdict = measure(name, args.timeout_s, args.limit_s)
        goal = "met" if rss < GOAL_MIB and code in (1, 3) else "MISSED"
        print(f"| {name} | {code} | {wall:.1f} s | {rss:.0f} MiB ({goal}) | {verdict} |", flush=True)


if __name__ == "__main__":
    main()
