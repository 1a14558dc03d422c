"""The traceability matrix: every unit of the pinned spec has checks or a written reason, `docs/traceability.md`
is generated from it, and `--spec NEWER` marks what a newer spec changed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.contract import cross, pointers, trace
from conformance.contract.catalogue import CATALOGUE
from conformance.contract.spec import load_contract
from conformance.live.live_cases import load_live_cases

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "traceability.md"
REGENERATE = "python -m conformance.regen"
PINNED = load_contract()
ROWS = trace.trace(PINNED.document)


def run_trace(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    assert main(["trace", *args]) == code
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_docs_traceability_md_is_in_sync_with_the_spec_and_the_catalogue(capsys):
    assert DOC.is_file(), f"docs/traceability.md is missing; generate it with: {REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == run_trace(capsys, "--format", "markdown"), (
        f"docs/traceability.md is out of date; regenerate it with: {REGENERATE}"
    )


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.pointer.rsplit('/', 2)[-2]}:{r.text[:30]}" for r in ROWS])
def test_every_unit_of_the_pinned_spec_has_checks_or_a_reason(row):
    assert row.checks or row.reason, f"{row.pointer}: {row.text!r} has neither a check nor a reason why none"


def test_every_description_line_and_sentence_is_a_unit():
    """Each enum value's line, each sentence elsewhere: the units put back together are the descriptions."""
    descriptions = {}

    def collect(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "summary") and isinstance(value, str):
                    descriptions[pointers.join((*path, key))] = value
                else:
                    collect(value, (*path, str(key)))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                collect(item, (*path, str(i)))

    collect(PINNED.document, ())
    for pointer, text in descriptions.items():
        units = [r.text for r in ROWS if r.pointer == pointer]
        assert " ".join(units) == " ".join(text.split()), pointer
    enum_values = [v for s in PINNED.document["components"]["schemas"].values() if "description" in s
                   for v in s.get("enum", [])]
    assert len(enum_values) == 17
    for value in enum_values:
        assert sum(r.text.startswith(value.upper() + " ") for r in ROWS) == 1, value


def test_required_lists_formats_security_and_token_urls_are_units():
    kinds = [r.text.split(":")[0] for r in ROWS if re.match(r"(required|format|security|tokenUrl): ", r.text)
             and r.pointer.startswith("/")]  # the pinned spec's (the sibling routes' have their own test)
    assert (kinds.count("required"), kinds.count("format"), kinds.count("security"), kinds.count("tokenUrl")) == (4, 7, 2, 2)


def test_the_table_names_only_existing_checks_and_has_no_dead_entries():
    known = set(CATALOGUE) | {case.id for case in load_live_cases()}
    assert trace.table_check_ids() <= known, trace.table_check_ids() - known
    assert trace.table_keys_used(PINNED.document) == set(trace._TABLE)


def test_the_issue_sentences_are_traced_to_their_invariants():
    by_start = {r.text.split(" - ")[0]: r.checks for r in ROWS if " - " in r.text}
    assert {"OUT-001", "OUT-007"} <= set(by_start["CHARGED_FROM_SOLAR"])
    assert "EVD-009" in by_start["PHASE_SWITCH_INEFFECTIVE"]
    assert {"KND-001", "KND-002"} <= set(by_start["START"]) and "KND-003" in by_start["STOP"]


def test_json_rows_carry_pointer_text_checks_and_reason(capsys):
    rows = json.loads(run_trace(capsys, "--format", "json"))
    assert rows == [r.to_dict() for r in trace.with_standards(ROWS)]  # the spec's units, then the standards'
    assert all(set(row) == {"pointer", "text", "checks", "reason"} for row in rows)
    assert all((row["reason"] is None) == bool(row["checks"]) for row in rows)


def test_text_format_ends_with_the_tally(capsys):
    rows = trace.with_standards(ROWS)
    assert run_trace(capsys).splitlines()[-1] == f"{len(rows)} unit(s): " + (
        f"{sum(bool(r.checks) for r in rows)} with checks, {sum(not r.checks for r in rows)} with a reason why none, "
        "0 untraced")


def test_a_newer_spec_marks_changed_added_and_removed_units(tmp_path, capsys):
    newer = json.loads(json.dumps(PINNED.document))
    schemas = newer["components"]["schemas"]
    kinds = schemas["SmartChargingDecisionKind"]
    kinds["description"] = kinds["description"].replace("HOLD  - no dispatch", "HOLD  - no new dispatch")
    schemas["WBHEMSSessionOutcome"]["description"] += "\nPAUSED                - charging paused by the user."
    schemas["HEMSDecisionItem"]["description"] = "One steering decision point."
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(newer, allow_unicode=True), encoding="utf-8")
    rows = json.loads(run_trace(capsys, "--format", "json", "--spec", str(path), code=1))  # units to read: exit 1
    changed = {row["change"] for row in rows}
    assert changed == {"unchanged", "changed", "added", "removed"}
    [hold] = [r for r in rows if r["change"] == "changed"]
    assert hold["text"].startswith("HOLD - no new dispatch") and hold["was"].startswith("HOLD - no dispatch")
    assert hold["checks"] == [] and hold["revisit"] == ["REF-004"]  # its reading no longer quotes the spec
    [paused] = [r for r in rows if r["change"] == "added"]
    assert paused["text"].startswith("PAUSED") and paused["checks"] == [] and paused["reason"] is None
    [removed] = [r for r in rows if r["change"] == "removed"]
    assert removed["text"].startswith("Typed view") and removed["pointer"].endswith("HEMSDecisionItem/description")
    assert run_trace(capsys, "--spec", str(path), code=1).splitlines()[-1].endswith("1 added, 1 changed, 1 removed")


def test_a_value_added_to_an_enum_is_a_changed_unit_naming_the_readings_of_its_values(tmp_path, capsys):
    """An enum's values are a unit: a newer spec adding an outcome without describing it read "0 changed", exit 0."""
    newer = json.loads(json.dumps(PINNED.document))
    newer["components"]["schemas"]["WBHEMSSessionOutcome"]["enum"].insert(3, "partially_charged")
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(newer, allow_unicode=True), encoding="utf-8")
    rows = json.loads(run_trace(capsys, "--format", "json", "--spec", str(path), code=1))
    [changed] = [r for r in rows if r["change"] != "unchanged"]
    assert changed["pointer"].endswith("WBHEMSSessionOutcome/enum") and "partially_charged" in changed["text"]
    assert {"SCH-001", "OUT-001", "OUT-002"} <= set(changed["revisit"]), changed


def test_a_newer_spec_that_only_rewords_prose_without_checks_exits_0(tmp_path, capsys):
    """Exit 1 means a person must read something: a blind spot or a reading that quotes old text. A changed unit
    that no check rests on, given a reason, is neither."""
    newer = json.loads(json.dumps(PINNED.document))
    newer["info"]["description"] = newer["info"]["description"].replace("unified", "single")
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(newer, allow_unicode=True), encoding="utf-8")
    rows = json.loads(run_trace(capsys, "--format", "json", "--spec", str(path)))
    assert [r["change"] for r in rows if r["change"] != "unchanged"] == ["changed"]


# --- the adopted standards' observable clauses (conformance/contract/standards.py) ---

STANDARD_ROWS = trace.with_standards([])


@pytest.mark.parametrize("row", STANDARD_ROWS, ids=[f"{r.pointer}:{r.text[:30]}" for r in STANDARD_ROWS])
def test_every_clause_of_an_adopted_standard_has_checks_or_a_reason(row):
    assert row.checks or row.reason, f"{row.pointer}: {row.text!r} has neither a check nor a reason why none"
    assert not (row.checks and row.reason)


def test_the_clauses_name_only_existing_checks_and_cover_every_section_the_issue_lists():
    from conformance.contract.standards import CLAUSES

    known = set(CATALOGUE) | {case.id for case in load_live_cases()}
    named = {check for clause in CLAUSES for check in clause.checks}
    assert named <= known, named - known
    sections = {clause.where.split(".")[0] if clause.standard == "RFC 6749" and clause.section.startswith("§4") else
                clause.where for clause in CLAUSES}
    for section in ("RFC 6749 §2.3.1", "RFC 6749 §3.2", "RFC 6749 §4", "RFC 6749 §5.1", "RFC 6749 §5.2",
                    "RFC 6749 §10.3", "RFC 6749 §10.4", "RFC 6750 §2.1", "RFC 6750 §3", "RFC 6750 §3.1",
                    "RFC 9110 §11.1", "RFC 9110 §11.6.1", "RFC 9110 §15.5.2", "RFC 9110 §15.5.6", "RFC 9111 §3.5"):
        assert section in sections, section
    assert any(c.standard == "RFC 9111" and c.section.startswith("§5.2.2") for c in CLAUSES)
    assert {c.section for c in CLAUSES if c.standard.startswith("OWASP")} == {"API1", "API2", "API3", "API8"}


def test_a_clause_that_says_must_is_held_by_a_check_at_must_or_has_a_reason():
    """An adopted standard's clause keeps its level: a MUST clause is enforced by at least one MUST check."""
    levels = {case.id: case.level.value for case in load_live_cases()} | {i.id: i.level.value for i in CATALOGUE.values()}
    for row in STANDARD_ROWS:
        if " MUST " in f" {row.text} " and "MUST NOT store" not in row.text and row.checks:
            assert "MUST" in {levels[c] for c in row.checks}, (row.pointer, row.text)


def test_trace_lists_the_standards_after_the_spec_and_exits_1_while_a_clause_is_untraced(capsys, monkeypatch):
    from conformance.contract import standards

    text = run_trace(capsys)
    assert "RFC 6750 §3\n" in text and "-> AUTH-004" in text
    untraced = standards.Clause("RFC 0000", "§1", "A server MUST do what no check judges.")
    monkeypatch.setattr(trace, "CLAUSES", (*standards.CLAUSES, untraced))
    assert "UNTRACED" in run_trace(capsys, code=1)


def test_a_live_case_quoting_a_must_of_an_adopted_standard_is_must_by_default():
    """Readings by their basis: a clause of an adopted standard keeps that standard's level (AUTH-004, TOK-004)."""
    for case in load_live_cases():  # a lower level says why in the quote: "(INFO here: ...)"
        if re.search(r"\bRFC \d+ §[\d.]+: [^;]*\bMUST\b", case.cite) and f"({case.level.value} here: " not in case.cite:
            assert case.level.value == "MUST", (case.id, case.cite)


def test_the_charter_is_a_source_of_units_each_with_checks_at_least_should():
    """The charter's three invariants are units beside the spec's, each enforced by checks that never drop
    below SHOULD (a reading the charter demands is not a title's INFO)."""
    rows = [row for row in ROWS if row.pointer.startswith(trace.CHARTER_SOURCE)]
    assert [row.text for row in rows] == ["counters matching command verdicts",
                                          "dispatched decisions referencing real commands",
                                          "outcomes consistent with verdicts"]
    for row in rows:
        assert row.checks, row.text
        for check in row.checks:
            levels = {CATALOGUE[check].level, CATALOGUE[check].ongoing_level} - {None}
            assert all(level.value in ("MUST", "SHOULD") for level in levels), (row.text, check, levels)
    assert {"REF-001", "REF-005"} <= set(rows[1].checks)
    assert all(CATALOGUE[i].basis == "charter" for i in ("REF-001", "REF-005"))


def test_the_sibling_routes_are_a_source_of_units_traced_to_xep_and_sib_checks():
    rows = [row for row in ROWS if row.pointer.startswith(trace.SIBLINGS_SOURCE)]
    assert len(rows) == len(trace.spec_units(cross.load_siblings(PINNED).document))
    assert all(row.checks or row.reason for row in rows)
    assert {check for row in rows for check in row.checks} == set(cross.CROSS) - {"XEP-005"} | {"XEP-001"}
    bounds = [row for row in rows if row.text.startswith("Inclusive")]
    assert len(bounds) == 2 and all({"SIB-003", "XEP-004"} <= set(row.checks) for row in bounds)
    used = {(row.pointer.removeprefix(trace.SIBLINGS_SOURCE), "") for row in rows}
    assert set(trace._SIBLING_TABLE) <= used  # no dead entries
