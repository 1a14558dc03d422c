"""Inputs and targets that would cost memory or time without bound (issue 21, defects 4 to 7): schema-error
floods, a Parquet value that decompresses past the document limit, YAML aliases in a spec, a Dask address
that never answers. Each is refused or bounded with one line and the documented exit code."""

from __future__ import annotations

import pytest

from conformance.cli import main

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{below}'] * 9)}]\n" for below, name in zip("abcd", "bcde", strict=True))


# --- 6. YAML aliases in a spec (billion laughs) ---


@pytest.mark.parametrize("argv", [["trace", "--spec"], ["check", "-", "--spec"], ["run", "--spec"]])
def test_a_spec_with_yaml_aliases_is_refused_naming_the_file(tmp_path, capsys, argv):
    spec = tmp_path / "laughs.yaml"
    spec.write_text(LAUGHS)
    assert main([*argv, str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}: YAML aliases are not accepted (line 2, column" in err and len(err.strip().splitlines()) == 1


def test_the_sibling_contract_refuses_aliases_too(tmp_path):
    from conformance.contract.cross import load_siblings
    from conformance.contract.spec import load_contract
    from conformance.errors import ContractError

    (tmp_path / "siblings.yaml").write_text(LAUGHS)
    with pytest.raises(ContractError, match=r"siblings.yaml: YAML aliases are not accepted"):
        load_siblings(load_contract(), tmp_path / "siblings.yaml")


# --- 5. a Parquet value over the document limit ---


@pytest.mark.parametrize("kind", ["string", "binary"])
def test_a_parquet_value_over_the_document_limit_is_refused_from_its_offsets(tmp_path, capsys, monkeypatch, kind):
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    from conformance.offline import parquet as parquet_reader
    from conformance.offline import sources

    monkeypatch.setattr(sources, "MAX_DOCUMENT", 4096)
    converted: list[int] = []  # the sizes of the values that became Python objects and reached the parser
    real_document = parquet_reader.document
    monkeypatch.setattr(parquet_reader, "document", lambda label, data: converted.append(len(data)) or real_document(label, data))
    values = ['{"a": 1}', '"' + "x" * 5000 + '"', "[]"]
    column = pa.array(values if kind == "string" else [v.encode() for v in values], pa.string() if kind == "string" else pa.binary())
    parquet.write_table(pa.table({"body": column}), tmp_path / "big.parquet", compression="zstd")
    assert main(["check", str(tmp_path / "big.parquet"), "--column", "body", "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'big.parquet'}:2: larger than 0.00390625 MiB: not read" in err
    assert converted and max(converted) <= 4096
