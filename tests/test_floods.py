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
