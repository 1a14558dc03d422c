"""Every check can fail, and the report says what shows it: the proof table of conformance/report/proofs.json
is the payload cases and the faults that trip each check, and no check is without one.

`python -m conformance.regen` rewrites the file (conformance.regen.proof_table) from the case files and the fault table.
"""

from __future__ import annotations

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.cross import CROSS
from conformance.live.live_cases import load_live_cases
from conformance.regen import stale
from conformance.report.proof import PROOFS, proof_html, proof_of

CHECK_IDS = [*CATALOGUE, *(case.id for case in load_live_cases())]
# The list route's checks, proven by the faults of the sibling routes (their pure functions by tests/contract/test_cross.py).
LIST_CHECKS = ("XEP-001", "XEP-002", "XEP-004", "XEP-005", "SIB-003", "SIB-004")


def test_every_generated_artefact_is_current():
    """docs/invariants.md, docs/traceability.md, report/proofs.json and the fault table (conformance.regen)."""
    assert stale() == [], "stale: run python -m conformance.regen"


def test_every_catalogue_check_and_live_case_has_proof():
    unproven = [check_id for check_id in (*CHECK_IDS, *LIST_CHECKS)
                if not proof_of(check_id)["cases"] and not proof_of(check_id)["faults"]]
    assert unproven == []
    assert set(PROOFS) == set(CHECK_IDS) | set(CROSS)


def test_a_check_without_proof_is_marked_as_such():
    assert "no proof" in proof_html(proof_of("XYZ-999"))
    cell = proof_html(proof_of("CNT-002"))
    assert "CNT-002[0]" in cell and "counters-off-by-one" in cell and "no proof" not in cell
