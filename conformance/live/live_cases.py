"""The hand-written live cases as data: `cases/live/*.json`, read and validated here.

A case file lists cases with an ID, a level and its basis (as the catalogue's readings have), a statement, the spec or RFC text it enforces, and what
exercises it: a procedure that sends requests (`procedures.py`, with parameters), a check judged on every
response of the run (`response_checks.py`), or both; `registry.py` binds the names to the functions. This
module stays light (no HTTP, no pytest) so that `check` can learn the live case IDs a `[judge.levels]` table may name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.contract.catalogue import CATALOGUE, basis_problem
from conformance.contract.cross import CROSS
from conformance.contract.data_schemas import bundled_cases_path, schema_problems
from conformance.contract.levels import Level
from conformance.errors import ConfigError


def bundled_cases_dir() -> Path:
    return bundled_cases_path("live")


@dataclass(frozen=True)
class LiveCase:
    id: str
    level: Level
    basis: str  # what the reading rests on (catalogue.BASES): an adopted standard's clause keeps its level
    statement: str
    cite: str
    procedure: str | None  # sends requests (procedures.py), or None
    on_every_response: str | None  # judges every response of the run (response_checks.py), or None
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""
    kind: str = "live"


def load_live_case_file(path: Path) -> list[LiveCase]:
    """Read one case file; an error names the file and the case."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read live cases: {exc}") from None
    problems = schema_problems(document, "live.schema.json")
    if problems:
        pointer, message = problems[0]
        raise ConfigError(f"{path}: {pointer or '/'}: {message}")
    cases = [LiveCase(id=entry["id"], level=Level.parse(entry["level"], "level"), basis=entry["basis"],
                      statement=entry["statement"], cite=entry["cite"], procedure=entry.get("procedure"),
                      on_every_response=entry.get("on_every_response"), params=entry.get("params", {}),
                      file=path.name, kind=entry.get("kind", "live"))
             for entry in document["cases"]]
    for case in cases:
        problem = basis_problem(case.basis, case.level)
        if problem:
            raise ConfigError(f"{path}: {case.id}: {problem}")
    return cases


def load_live_cases(directory: Path | None = None) -> list[LiveCase]:
    directory = directory or bundled_cases_dir()
    cases = [case for path in sorted(directory.glob("*.json")) for case in load_live_case_file(path)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise ConfigError(f"{directory}: live case {case.id} is defined twice")
        seen.add(case.id)
    return cases


def known_check_ids() -> set[str]:
    """Every check ID a `[judge.levels]` table may name: the catalogue's, the cross-endpoint and sibling checks',
    and the bundled live cases'."""
    return set(CATALOGUE) | set(CROSS) | {case.id for case in load_live_cases()}
