"""Every check can fail, and the report says what shows it: the proof table of conformance/report/proofs.json
is the payload cases and the faults that trip each check, and no check is without one.

`python tests/test_proof.py` rewrites the file from the case files and the fault table.
"""

from __future__ import annotations

import json
import sys

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.cross import CROSS
from conformance.contract.payload_cases import load_payload_cases
from conformance.live.live_cases import load_live_cases
from conformance.reference.faults import FAULTS, SIBLING_FAULTS
from conformance.report.proof import PROOFS, PROOFS_FILE, proof_html, proof_of

CHECK_IDS = [*CATALOGUE, *(case.id for case in load_live_cases())]
# The list route's checks, proven by the faults of the sibling routes (their pure functions by tests/test_cross.py).
LIST_CHECKS = ("XEP-001", "XEP-002", "XEP-004", "XEP-005", "SIB-003", "SIB-004")


def proof_table() -> dict[str, dict[str, list[str]]]:
    cases = load_payload_cases()
    return {check_id: {"cases": [case.id for case in cases if check_id in case.expected],
                       "faults": [fault.name for fault in (FAULTS | SIBLING_FAULTS).values() if check_id in fault.breaks]}
            for check_id in (*CHECK_IDS, *CROSS)}


def proofs_text() -> str:
    return json.dumps(proof_table(), indent=1) + "\n"


def test_the_proof_table_is_current():
    assert PROOFS_FILE.read_text(encoding="utf-8") == proofs_text(), "stale: run python tests/test_proof.py"


def test_every_catalogue_check_and_live_case_has_proof():
    unproven = [check_id for check_id in (*CHECK_IDS, *LIST_CHECKS)
                if not proof_of(check_id)["cases"] and not proof_of(check_id)["faults"]]
    assert unproven == []
    assert set(PROOFS) == set(CHECK_IDS) | set(CROSS)


def test_a_check_without_proof_is_marked_as_such():
    assert "no proof" in proof_html(proof_of("XYZ-999"))
    cell = proof_html(proof_of("CNT-002"))
    assert "CNT-002[0]" in cell and "counters-off-by-one" in cell and "no proof" not in cell


if __name__ == "__main__":
    PROOFS_FILE.write_text(proofs_text(), encoding="utf-8")
    sys.exit(0)
