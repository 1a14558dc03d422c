"""No vacuous pass, by construction: every check declares what it needs to be exercised, and judged on data
lacking it, it is "not exercised" with that need named, never "passed" (OUT-005 once read "passed, 38 judged"
in a run without an ongoing session; XEP-003 "no response reached this check" when `current` answered 200)."""

from __future__ import annotations

import pytest

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.coverage import NEEDS, Coverage, unexercised
from conformance.contract.cross import CROSS, CROSS_NEEDS
from conformance.contract.judge import Judge
from conformance.contract.payload import SessionView
from conformance.contract.payload_cases import base_payloads
from conformance.live.procedures import PROCEDURES
from conformance.live.registry import FUNCTION_NEEDS as LIVE_NEEDS
from conformance.live.registry import load_checks
from conformance.live.response_checks import RESPONSE_CHECKS
from conformance.offline.evidence import CheckEvidence, PartialEvidence
from conformance.offline.sources import Payload
from conformance.reference.dataset import build_fleet
from conformance.report.records import CheckRecord, Status, declared_need

JUDGE = Judge()
POOL = [(name, body) for name, body in base_payloads()] + [
    (f"seed-0 session {s.session_id}", s.payload) for s in build_fleet(0).sessions]


def _unmet(body: dict) -> set[str]:
    coverage = Coverage()
    coverage.add(SessionView(body))
    return set(unexercised(coverage))


def _statuses(bodies: list[tuple[str, dict]]) -> dict[str, CheckRecord]:
    """What `check` reports for these payloads: the records as its reports build them."""
    evidence = PartialEvidence()
    for label, body in bodies:
        judgement = JUDGE.judge(body)
        evidence.add(Payload(label, body), judgement, [None] * len(judgement.findings))
    records = CheckEvidence(JUDGE)
    records.absorb(evidence)
    records.settle(strict=True)
    return records.records


def test_every_check_declares_its_need():
    assert set(NEEDS) == set(CATALOGUE), set(CATALOGUE) ^ set(NEEDS)
    assert set(CROSS_NEEDS) == set(CROSS), set(CROSS) ^ set(CROSS_NEEDS)
    assert set(LIVE_NEEDS) == set(PROCEDURES) | set(RESPONSE_CHECKS), set(PROCEDURES) | set(RESPONSE_CHECKS) ^ set(LIVE_NEEDS)
    assert all(check.need for check in load_checks())


@pytest.mark.parametrize("check_id", list(CATALOGUE))
def test_the_catalogue_walk_finds_no_check_passing_without_its_need(check_id):
    lacking = [(label, body) for label, body in POOL if check_id in _unmet(body)]
    record = _statuses(lacking)[check_id]
    assert record.status(strict=True) is not Status.PASSED, (check_id, len(lacking), record)
    if record.status(strict=True) is Status.NOT_EXERCISED:
        assert record.missing() == NEEDS[check_id].text


def test_no_payload_at_all_leaves_every_catalogue_check_not_exercised_with_its_need():
    for check_id, record in _statuses([]).items():
        assert record.status(strict=True) is Status.NOT_EXERCISED and record.missing() == NEEDS[check_id].text


def test_out_005_without_an_ongoing_session_is_not_exercised_not_passed():
    ended = [(label, body) for label, body in POOL if body["session"]["ended_at"] is not None]
    record = _statuses(ended)["OUT-005"]
    assert record.judged == len(ended) and record.status(strict=True) is Status.NOT_EXERCISED
    assert "ongoing session" in record.missing()


@pytest.mark.parametrize("check_id", [*CROSS])
def test_a_cross_check_that_judged_nothing_is_not_exercised_with_its_need(check_id):
    entry = CROSS[check_id]
    record = CheckRecord(check_id, "invariant", entry.level, entry.statement, entry.spec, entry.basis,
                         need=declared_need(check_id))
    assert record.status(strict=True) is Status.NOT_EXERCISED and record.missing() == CROSS_NEEDS[check_id]


@pytest.mark.parametrize("check", load_checks(), ids=lambda c: c.id)
def test_a_live_case_that_judged_nothing_is_not_exercised_with_its_need(check):
    record = CheckRecord(check.id, check.case.kind, check.case.level, check.case.statement, check.case.cite,
                         need=check.need)
    assert record.status(strict=True) is Status.NOT_EXERCISED and record.missing() == check.need
    record.skipped = "explicitly skipped"
    assert record.status(strict=True) is Status.SKIPPED
