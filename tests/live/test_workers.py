"""Concurrency changes how fast a run is, never what it says: the live cases, discovery and double reads send up to
--workers requests at once, and everything they record lands in plan order (Ledger.journaled), so the verdict
and every report are the same for 1 and 8 workers; a 429 halves the requests in flight; max_rps spaces them."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from conformance.cli import main
from conformance.contract.levels import Level
from conformance.live.client import Pace
from conformance.live.ledger import Ledger
from conformance.live.runner import DEFAULT_WORKERS
from conformance.report.records import CheckRecord

# faults whose answers do not depend on the order requests arrive in (intermittent-500 counts requests,
# unstable-reads counts reads): with them, what one worker and eight see is the same
FAULTS = ("wrong-session-id", "cross-tenant-read", "server-error-on-malformed-input", "counters-off-by-one",
          "html-error-pages")
_PORT = re.compile(r"127\.0\.0\.1:\d+")  # each run starts its own deployment
_VOLATILE = {"request_id", "elapsed_ms", "headers", "metadata", "transient"}


def _stable(value):
    """A summary without what differs between any two runs (request ids, timings, dates, the command line, the
    deployment's port)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return _PORT.sub("127.0.0.1:PORT", value) if isinstance(value, str) else value


def _first_difference(a, b, path: str = "") -> str:
    """Where two summaries part, and how: what a failure of the comparison needs to be read."""
    if isinstance(a, dict) and isinstance(b, dict):
        key = next((k for k in [*a, *b] if a.get(k) != b.get(k)), None)
        return _first_difference(a.get(key), b.get(key), f"{path}/{key}") if key is not None else path
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        index = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
        return _first_difference(a[index], b[index], f"{path}/{index}") if index is not None else path
    return f"{path}: {str(a)[:300]!r} != {str(b)[:300]!r}"


def _summary(tmp_path, capsys, workers: int, *extra: str) -> tuple[int, dict]:
    folder = tmp_path / f"w{workers}"
    code = main(["run", "--profile", "quick", "--workers", str(workers), "--report-dir", str(folder), *extra])
    capsys.readouterr()
    return code, json.loads((folder / "summary.json").read_text())


@pytest.mark.e2e
def test_one_worker_and_eight_report_the_same(tmp_path, capsys):
    faults = [argument for fault in FAULTS for argument in ("--fault", fault)]
    one = _summary(tmp_path, capsys, 1, *faults)
    eight = _summary(tmp_path, capsys, 8, *faults)
    assert one[0] == eight[0] == 1
    assert one[1]["metadata"]["workers"] == 1 and eight[1]["metadata"]["workers"] == 8
    assert sum(c["findings_total"] for c in one[1]["checks"]) >= 5
    assert _stable(one[1]) == _stable(eight[1]), _first_difference(_stable(one[1]), _stable(eight[1]))


def test_the_default_profile_needs_no_workers_flag(capsys):
    assert DEFAULT_WORKERS > 1
    try:
        main(["run", "--help"])
    except SystemExit:
        pass
    assert f"(default: {DEFAULT_WORKERS})" in " ".join(capsys.readouterr().out.split())


def test_journals_replay_in_plan_order_whatever_order_the_work_finished_in():
    ledger = Ledger()
    ledger.register(CheckRecord("X-1", "live", Level.MUST, "", ""))
    journals = [ledger.journaled(lambda n=n: ledger.note(f"part {n}")) for n in (2, 1)]
    assert ledger.notes == []  # nothing applied while journaled
    for entries, _, error in reversed(journals):
        assert error is None
        ledger.replay(entries)
    assert ledger.notes == ["part 1", "part 2"]


def test_a_429_halves_the_requests_in_flight_and_calm_restores_them():
    pace = Pace(8)
    pace.slow_down()
    pace.slow_down()
    assert pace.allowed == 2
    for _ in range(Pace.RESTORE_AFTER * 6):
        with pace:
            pass
    assert pace.allowed == 8


def test_no_more_requests_in_flight_than_allowed():
    pace, peak, lock = Pace(3), [0], threading.Lock()

    def send() -> None:
        with pace:
            with lock:
                peak[0] = max(peak[0], pace.in_flight)
            time.sleep(0.01)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert peak[0] == 3


def test_max_rps_spaces_the_starts():
    waits: list[float] = []
    pace = Pace(4, max_rps=10, sleep=waits.append)
    for _ in range(3):
        with pace:
            pass
    assert len(waits) == 2 and all(0.05 < wait <= 0.2 for wait in waits)
