"""The catalogue as people read it: `docs/invariants.md` is generated and must match the code, and
`hems-conformance invariants` lists every invariant in each of its formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.contract import docs
from conformance.contract.catalogue import CATALOGUE

DOC = Path(__file__).resolve().parents[2] / "docs" / "invariants.md"
REGENERATE = "python -m conformance.regen"


def invariants(capsys: pytest.CaptureFixture[str], fmt: str) -> str:
    assert main(["invariants", "--format", fmt]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_docs_invariants_md_is_in_sync_with_the_catalogue(capsys):
    assert DOC.is_file(), f"docs/invariants.md is missing; generate it with: {REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == invariants(capsys, "markdown"), (
        f"docs/invariants.md is out of date with conformance/catalogue.py; regenerate it with: {REGENERATE}"
    )


def test_markdown_has_one_section_per_invariant_with_its_spec_text(capsys):
    text = invariants(capsys, "markdown")
    for inv in CATALOGUE.values():
        assert text.count(f"### {inv.id} ") == 1, inv.id
        assert f"> {inv.spec}\n" in text, inv.id


def test_text_format_lists_every_invariant_once_in_catalogue_order(capsys):
    lines = invariants(capsys, "text").splitlines()
    assert [line.split()[0] for line in lines] == list(CATALOGUE)
    for line, inv in zip(lines, CATALOGUE.values(), strict=True):
        assert inv.level.value in line and line.endswith(inv.statement)


def test_json_format_lists_every_invariant_with_its_explanation(capsys):
    entries = json.loads(invariants(capsys, "json"))
    assert [e["id"] for e in entries] == list(CATALOGUE)
    for entry in entries:
        inv = CATALOGUE[entry["id"]]
        assert entry == docs.as_dict(inv)
        assert entry["level"] in ("MUST", "SHOULD", "INFO") and entry["statement"] and entry["spec"] and entry["source"]


def test_unknown_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["invariants", "--format", "html"])
    assert exited.value.code == 2
    assert "invalid choice: 'html'" in capsys.readouterr().err


def test_the_example_config_shows_every_judge_key_at_its_default():
    import dataclasses
    import re
    import tomllib

    from conformance.contract.settings import Settings, settings_from_mapping
    from conformance.errors import ConfigError
    from conformance.live.live_cases import known_check_ids

    example = DOC.parent.parent / "examples" / "conformance.toml"
    judge = tomllib.loads(example.read_text(encoding="utf-8"))["judge"]
    shown = set(judge) | set(re.findall(r"^# (\w+) = ", example.read_text(encoding="utf-8"), re.MULTILINE))
    assert {f.name for f in dataclasses.fields(Settings)} <= shown
    assert settings_from_mapping(judge, known_ids=known_check_ids()).readings() == {}
    with pytest.raises(ConfigError, match=r"judge\.foo: unknown key \(known: amps_max, amps_min, applied_verdicts"):
        settings_from_mapping({"foo": 1}, known_ids=())


def test_the_profile_sizes_are_in_the_help_and_the_readme(capsys):
    from conformance.live.fuzzing import BUDGETS

    sizes = [f"{name} {b.positive} + {b.negative}" for name, b in BUDGETS.items()]
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    for size in sizes:
        assert size in " ".join(readme.split()) and size in helped, size


def test_invariants_live_lists_every_live_check_with_its_level_and_the_markdown_quotes_each(capsys):
    from conformance.live.live_cases import load_live_cases

    live = load_live_cases()
    assert main(["invariants", "--live"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [[case.id, case.level.value] for case in live]
    assert main(["invariants", "--live", "--format", "json"]) == 0
    assert [entry["id"] for entry in json.loads(capsys.readouterr().out)] == [case.id for case in live]
    text = invariants(capsys, "markdown")
    for case in live:
        assert text.count(f"### {case.id} ({case.level.value}, basis: {case.basis}, `cases/live/{case.file}`)") == 1, case.id
        assert f"> {case.cite}\n" in text, case.id
