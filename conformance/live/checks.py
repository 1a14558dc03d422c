"""The registry of live checks: each case of `cases/live/*.json` (ID, level, statement, citation, params)
bound to the functions that exercise it, a procedure that sends requests and/or a check judged on every
response. The JSON files stay the data a reader edits; the functions are registered by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.errors import ConfigError
from conformance.live.cases import LiveCase, load_case_file, load_cases
from conformance.live.procedures import PROCEDURES, Procedure
from conformance.live.response_checks import RESPONSE_CHECKS, ResponseCheck


@dataclass(frozen=True)
class LiveCheck:
    case: LiveCase
    procedure: Procedure | None
    on_every_response: ResponseCheck | None

    @property
    def id(self) -> str:
        return self.case.id


def bind(case: LiveCase, where: str) -> LiveCheck:
    """The case with its functions; a name nothing registered is a ConfigError naming the file and case."""
    if case.procedure is not None and case.procedure not in PROCEDURES:
        raise ConfigError(f"{where}: {case.id}: unknown procedure {case.procedure!r} (known: {', '.join(sorted(PROCEDURES))})")
    if case.on_every_response is not None and case.on_every_response not in RESPONSE_CHECKS:
        raise ConfigError(f"{where}: {case.id}: unknown response check {case.on_every_response!r} "
                          f"(known: {', '.join(sorted(RESPONSE_CHECKS))})")
    return LiveCheck(case, PROCEDURES.get(case.procedure or ""), RESPONSE_CHECKS.get(case.on_every_response or ""))


def load_check_file(path: Path) -> list[LiveCheck]:
    return [bind(case, str(path)) for case in load_case_file(path)]


def load_checks(directory: Path | None = None) -> list[LiveCheck]:
    return [bind(case, case.file) for case in load_cases(directory)]
