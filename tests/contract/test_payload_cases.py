"""The hand-written payload cases in `cases/payloads/`: each makes exactly its expected invariants fire.

The same cases are judged twice: in-process through `Judge` (every test, with its settings) and through
the real `hems-conformance check` CLI, once, over all default-settings cases (the issue's "Done when").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.contract.catalogue import CATALOGUE, invariant
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.contract.payload_cases import (
    PAYLOAD_CASES,
    CaseError,
    PayloadCase,
    base_payloads,
    load_payload_case_file,
    load_payload_cases,
)
from conformance.contract.spec import load_contract

CASES = load_payload_cases()
CONTRACT = load_contract()
DEFAULT_JUDGE = Judge(CONTRACT)


def _judge(case: PayloadCase) -> Judge:
    return Judge(CONTRACT, case.settings) if case.settings else DEFAULT_JUDGE


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_fires_exactly_its_expected_invariants(case: PayloadCase) -> None:
    judgement = _judge(case).judge(case.payload)
    found = [f"{f.check_id} {f.pointer}: {f.message}" for f in judgement.findings]
    assert tuple(judgement.ids) == case.expected, f"{case.id} {case.description!r}: {found}"


@pytest.mark.parametrize("invariant_id", list(CATALOGUE))
def test_every_invariant_has_a_firing_and_a_quiet_case(invariant_id: str) -> None:
    own = [case for case in CASES if case.file == invariant_id]
    assert own, f"cases/payloads/{invariant_id}.json is missing"
    assert any(invariant_id in case.expected for case in own), f"{invariant_id}: no case makes it fire"
    assert any(not case.expected for case in own), f"{invariant_id}: no quiet (valid) case"
    document = json.loads((PAYLOAD_CASES / f"{invariant_id}.json").read_text(encoding="utf-8"))
    assert document["spec"] == CATALOGUE[invariant_id].spec, f"{invariant_id}: 'spec' differs from the catalogue"


@pytest.mark.parametrize("invariant_id", list(CATALOGUE))
def test_a_level_below_must_says_why_in_the_reading(invariant_id: str) -> None:
    invariant = CATALOGUE[invariant_id]
    if Level.SHOULD in (invariant.level, invariant.ongoing_level):
        assert "SHOULD" in invariant.reading, f"{invariant_id}: the reading does not say why it is SHOULD"


@pytest.mark.parametrize(("level", "basis", "message"), [(Level.SHOULD, "title", "title alone is INFO"),
                                                       (Level.INFO, "charter", "charter is at least SHOULD"),
                                                       (Level.MUST, "hunch", "not one of normative")])
def test_the_catalogue_refuses_an_entry_without_a_sound_basis(level: Level, basis: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invariant("XYZ-001", level, "statement", "quote", "source", basis=basis)(lambda view, settings: [])
    assert "XYZ-001" not in CATALOGUE


# Invariants whose spec text leaves room for a legitimate deployment to differ: never MUST.
ON_AMBIGUOUS_TEXT = ("EVD-008", "REF-003")


@pytest.mark.parametrize("invariant_id", ON_AMBIGUOUS_TEXT)
def test_an_invariant_on_ambiguous_text_is_should(invariant_id: str) -> None:
    assert CATALOGUE[invariant_id].level is Level.SHOULD


@pytest.mark.parametrize("invariant_id", list(CATALOGUE))
def test_a_reading_on_a_title_alone_is_info_and_says_so(invariant_id: str) -> None:
    """A title names a value but neither its range nor its relations: such a reading never fails a deployment
    (the catalogue refuses to register one at another level)."""
    invariant = CATALOGUE[invariant_id]
    if invariant.basis == "title":
        assert invariant.level is Level.INFO and invariant.ongoing_level is None, invariant_id
        assert "INFO" in invariant.reading and "title" in invariant.reading, invariant_id


@pytest.mark.parametrize("name, payload", list(base_payloads()))
def test_base_payload_is_conformant(name: str, payload: dict) -> None:
    judgement = DEFAULT_JUDGE.judge(payload)
    assert judgement.findings == [], f"{name}: {[f.line() for f in judgement.findings]}"


@pytest.mark.e2e
def test_check_cli_flags_every_firing_case_and_no_quiet_one(tmp_path: Path) -> None:
    cases = {f"{case.file}_{case.index:02d}.json": case for case in CASES if case.settings is None}
    for name, case in cases.items():
        (tmp_path / name).write_text(json.dumps(case.payload), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "conformance", "check", "--format", "json", str(tmp_path),
                          "--report-dir", f"{tmp_path}-reports"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    flagged = {Path(r["source"]).name: sorted({f["invariant"] for f in r["findings"]}) for r in report["results"]}
    assert set(flagged) == set(cases)
    wrong = {name: (list(case.expected), flagged[name]) for name, case in cases.items()
             if tuple(flagged[name]) != case.expected}
    assert not wrong, f"{len(wrong)} case(s) judged differently by the CLI (expected, got): {wrong}"


# --- the loader's errors name the file and the test ---


def _write_case(directory: Path, test: dict, invariant_id: str = "CNT-002") -> Path:
    (directory / "base").mkdir(exist_ok=True)
    (directory / "base" / "tiny.json").write_text('{"session": {"commands_applied": 0}}', encoding="utf-8")
    path = directory / f"{invariant_id}.json"
    path.write_text(json.dumps({"invariant": invariant_id, "description": "d", "spec": "s", "tests": [test]}),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "test, message",
    [
        ({"description": "d", "base": "base/tiny.json", "patch": [{"op": "replace", "path": "/nope/x", "value": 1}],
          "expected": []}, "patch does not apply to base/tiny.json"),
        ({"description": "d", "base": "base/tiny.json", "patch": {"op": "add"}, "expected": []},
         "'patch' must be a list"),
        ({"description": "d", "base": "base/missing.json", "expected": []}, "unknown base 'base/missing.json'"),
        ({"description": "d", "base": "base/tiny.json", "expected": ["CNT-999"]}, "unknown invariant 'CNT-999'"),
        ({"description": "d", "payload": {}, "base": "base/tiny.json", "expected": []}, "either 'payload' or 'base'"),
        ({"description": "d", "payload": {}, "expect": []}, "unknown key 'expect'"),
        ({"description": "d", "payload": {}, "expected": [], "settings": {"amps_max": "high"}},
         "settings.amps_max: expected a finite non-negative number"),
    ],
)
def test_malformed_case_names_file_and_test(tmp_path: Path, test: dict, message: str) -> None:
    path = _write_case(tmp_path, test)
    with pytest.raises(CaseError) as error:
        load_payload_case_file(path, tmp_path)
    assert f"{path} tests[0]: " in str(error.value) and message in str(error.value)


def test_case_file_must_be_named_for_an_invariant(tmp_path: Path) -> None:
    path = _write_case(tmp_path, {"description": "d", "payload": {}, "expected": []}, invariant_id="XYZ-001")
    with pytest.raises(CaseError, match="not an invariant ID"):
        load_payload_case_file(path, tmp_path)


def test_invalid_json_names_the_position(tmp_path: Path) -> None:
    path = tmp_path / "CNT-002.json"
    path.write_text('{"invariant": "CNT-002",\n "tests": [}', encoding="utf-8")
    with pytest.raises(CaseError, match=r"CNT-002\.json:2:\d+: invalid JSON"):
        load_payload_case_file(path, tmp_path)


@pytest.mark.parametrize("folder, schema", [("payloads", "payloads.schema.json"), ("live", "live.schema.json")])
def test_every_case_file_keeps_its_schema(folder: str, schema: str) -> None:
    """The case files' own schemas (as the JSON-Schema-Test-Suite has test-schema.json) hold for every file."""
    import json

    from conformance.contract.data_schemas import bundled_cases_path, schema_problems

    files = sorted((bundled_cases_path(schema).parent / folder).glob("*.json"))
    assert files
    assert {f.name: schema_problems(json.loads(f.read_text(encoding="utf-8")), schema) for f in files} == \
        {f.name: [] for f in files}
