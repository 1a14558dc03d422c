"""The one regeneration entry point for every generated artefact: `python -m conformance.regen` rewrites them,
`python -m conformance.regen --check` exits 1 naming each stale one (run in .ci/run before pytest).

A face: it only calls the builders the CLI and the rooms already have (one builder per artefact), and never
imports tests/. The golden console of tests/support/golden stays a test-side recipe (it needs a whole reference run):
`HEMS_REGENERATE_GOLDEN=1 pytest tests/live/test_run.py -k console_of_run`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULT_TABLE_HEADER = "| fault | breaks | what the deployment does |"


def _cli_output(*argv: str) -> str:
    """What `hems-conformance ARGV` prints: the CLI is the one renderer of the docs it generates."""
    from conformance.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(list(argv))
    return out.getvalue()


def proof_table() -> dict[str, dict[str, list[str]]]:
    """Per check, the payload cases and the faults that trip it (conformance/report/proofs.json)."""
    from conformance.contract.catalogue import CATALOGUE
    from conformance.contract.cross import CROSS
    from conformance.contract.payload_cases import load_payload_cases
    from conformance.live.live_cases import load_live_cases
    from conformance.reference.faults import FAULTS, SIBLING_FAULTS

    cases = load_payload_cases()
    check_ids = [*CATALOGUE, *(case.id for case in load_live_cases()), *CROSS]
    return {check_id: {"cases": [case.id for case in cases if check_id in case.expected],
                       "faults": [fault.name for fault in (FAULTS | SIBLING_FAULTS).values() if check_id in fault.breaks]}
            for check_id in check_ids}


def _proofs(_current: str) -> str:
    return json.dumps(proof_table(), indent=1) + "\n"


def _fault_table(current: str) -> str:
    """docs/reference-deployment.md with its fault table (the header line up to the next blank line) replaced."""
    from conformance.reference.faults import fault_markdown

    start = current.index(FAULT_TABLE_HEADER)
    end = current.find("\n\n", start)
    end = len(current) if end == -1 else end + 1
    return current[:start] + fault_markdown() + current[end:]


# file (relative to the checkout) -> the builder of its new text from its current text
ARTEFACTS: dict[str, Callable[[str], str]] = {
    "docs/invariants.md": lambda _current: _cli_output("invariants", "--format", "markdown"),
    "docs/traceability.md": lambda _current: _cli_output("trace", "--format", "markdown"),
    "conformance/report/proofs.json": _proofs,
    "docs/reference-deployment.md": _fault_table,
}


def stale(root: Path = ROOT) -> list[str]:
    """The artefacts whose file differs from what their builder makes now."""
    found = []
    for name, build in ARTEFACTS.items():
        path = root / name
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if build(current) != current:
            found.append(name)
    return found


def regenerate(root: Path = ROOT) -> list[str]:
    """Rewrite every stale artefact; the names of those rewritten."""
    rewritten = stale(root)
    for name in rewritten:
        path = root / name
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        path.write_text(ARTEFACTS[name](current), encoding="utf-8")
    return rewritten


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.regen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any artefact is stale")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"stale: {name} (regenerate with: python -m conformance.regen)", file=sys.stderr)
        return 1 if names else 0
    for name in regenerate():
        print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
