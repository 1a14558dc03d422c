"""The hand-written payload cases in `cases/payloads/`: data any implementation can run.

Each `<INVARIANT-ID>.json` holds tests of a payload (whole, or a base from `base/` plus an RFC 6902 patch)
and the exact set of invariant IDs it must make fire. This loader only resolves them; judging is the
caller's, so pytest, the CLI check and other implementations all read the same cases the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpatch

from conformance.contract import pointers
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.data_schemas import schema_problems
from conformance.contract.settings import Settings, settings_from_mapping
from conformance.errors import ConfigError, InputError

PAYLOAD_CASES = Path(__file__).resolve().parents[2] / "cases" / "payloads"


class CaseError(InputError):
    """A case file is malformed; the message names the file and the test index."""


@dataclass(frozen=True)
class PayloadCase:
    """One test of a case file, resolved to the payload it judges."""

    file: str  # the case file's id, e.g. "CNT-002"
    index: int
    description: str
    payload: Any
    expected: tuple[str, ...]  # sorted; empty means the payload is valid
    settings: Settings | None = None  # None: the default readings

    @property
    def id(self) -> str:
        return f"{self.file}[{self.index}]"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None


def base_payloads(directory: Path = PAYLOAD_CASES) -> Iterator[tuple[str, Any]]:
    """(`base/NAME.json`, payload) for every base payload: all of them are conformant."""
    for path in sorted((directory / "base").glob("*.json")):
        yield f"base/{path.name}", _read_json(path)


def _resolve(test: dict[str, Any], where: str, directory: Path, bases: dict[str, Any]) -> Any:
    """The test's payload: its own, or its base with the patch applied (the shape is the schema's)."""
    if "payload" in test:
        return test["payload"]
    name, patch = test["base"], test.get("patch", [])
    if not (directory / name).is_file():
        raise CaseError(f"{where}: unknown base {name!r} (expected base/NAME.json under {directory})")
    if name not in bases:
        bases[name] = _read_json(directory / name)
    try:
        return jsonpatch.apply_patch(bases[name], patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise CaseError(f"{where}: patch does not apply to {name}: {exc}") from None


def _expected(value: list[str], where: str) -> tuple[str, ...]:
    unknown = sorted(set(value) - set(CATALOGUE))
    if unknown:
        raise CaseError(f"{where}: unknown invariant {unknown[0]!r} in 'expected'")
    return tuple(sorted(value))


def _settings(value: dict[str, Any] | None, where: str) -> Settings | None:
    if value is None:
        return None
    try:
        return settings_from_mapping(value, known_ids=CATALOGUE, where="settings")
    except ConfigError as exc:
        raise CaseError(f"{where}: {exc}") from None


def load_payload_case_file(path: Path, directory: Path = PAYLOAD_CASES, bases: dict[str, Any] | None = None) -> list[PayloadCase]:
    """Every test of one case file, with its payload built; a malformed file raises CaseError."""
    bases = {} if bases is None else bases
    document = _read_json(path)
    file_id = path.stem
    if file_id not in CATALOGUE:
        raise CaseError(f"{path}: file name {file_id!r} is not an invariant ID of the catalogue")
    problems = schema_problems(document, "payloads.schema.json")
    if problems:
        pointer, message = problems[0]
        tokens = pointers.tokens(pointer)
        raise CaseError(f"{path} tests[{tokens[1]}]: {message}" if tokens[:1] == ["tests"] and len(tokens) > 1
                        else f"{path}: {message}")
    if document["invariant"] != file_id:
        raise CaseError(f"{path}: expected an object whose 'invariant' is {file_id!r}")
    cases = []
    for index, test in enumerate(document["tests"]):
        where = f"{path} tests[{index}]"
        cases.append(PayloadCase(file_id, index, test["description"], _resolve(test, where, directory, bases),
                                 _expected(test["expected"], where), _settings(test.get("settings"), where)))
    return cases


def load_payload_cases(directory: Path = PAYLOAD_CASES) -> list[PayloadCase]:
    """Every test of every `<INVARIANT-ID>.json` under `directory`, in file order."""
    bases: dict[str, Any] = {}
    return [case for path in sorted(directory.glob("*.json")) for case in load_payload_case_file(path, directory, bases)]
