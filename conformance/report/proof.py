"""What shows that each check can fail: the payload cases in `cases/payloads/` that make it fire and the
faults of `serve --fault` that trip it.

Kept as data in `proofs.json`: the report room may not import the reference deployment, and an installed
suite has no `cases/payloads/`. `python -m conformance.regen` rebuilds the table from the case files and the
fault table (`--check` in CI fails when the file is stale); `tests/report/test_proof.py` fails when a check has
no proof.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

PROOFS_FILE = Path(__file__).with_name("proofs.json")
PROOFS: dict[str, dict[str, list[str]]] = json.loads(PROOFS_FILE.read_text(encoding="utf-8"))
SHOWN = 3  # payload cases named per check in the HTML; summary.json has them all


def proof_of(check_id: str) -> dict[str, list[str]]:
    """{"cases": [...], "faults": [...]}, both empty for a check nothing proves able to fail."""
    return PROOFS.get(check_id, {"cases": [], "faults": []})


def proof_html(proof: dict[str, Any]) -> str:
    """The proof cell of a check's row: its cases and faults, or a warning that it has none."""
    cases, faults = proof.get("cases", []), proof.get("faults", [])
    if not cases and not faults:
        return '<span class="hems-noproof">no proof: no payload case or fault shows this check can fail</span>'
    parts = []
    if cases:
        more = f" +{len(cases) - SHOWN} more" if len(cases) > SHOWN else ""
        parts.append("cases " + ", ".join(f"<code>{escape(c)}</code>" for c in cases[:SHOWN]) + more)
    if faults:
        parts.append("serve --fault " + ", ".join(f"<code>{escape(f)}</code>" for f in faults))
    return '<span class="hems-proof">' + "; ".join(parts) + "</span>"
