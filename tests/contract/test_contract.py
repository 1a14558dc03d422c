"""The pinned contract: byte for byte the seed's YAML block, with the digest PROVENANCE.md records."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.judge import Judge
from conformance.contract.spec import RESPONSE_SCHEMA_NAME, SESSION_PATH, bundled_spec_path, load_contract
from conformance.errors import ContractError

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"


def test_the_pinned_spec_has_the_recorded_digest():
    recorded = re.search(r"SHA-256:\*\* `([0-9a-f]{64})`", (ROOT / "spec" / "PROVENANCE.md").read_text()).group(1)
    assert hashlib.sha256((ROOT / "spec" / "openapi.yaml").read_bytes()).hexdigest() == recorded
    assert load_contract().sha256 == recorded


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_the_pinned_spec_is_the_seed_yaml_block_byte_for_byte():
    seed = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    block = re.search(r"^````yaml[^\n]*\n(.*?)^````$", seed, re.MULTILINE | re.DOTALL).group(1)
    assert (ROOT / "spec" / "openapi.yaml").read_bytes() == block.encode("utf-8")


def test_the_contract_exposes_what_the_checks_need():
    contract = load_contract()
    assert contract.path == bundled_spec_path()
    assert (contract.title, contract.version) == ("Podero Partner API", "2.0")
    assert contract.token_url == "/api/partners/v2.0/auth/token"
    assert SESSION_PATH in contract.document["paths"]
    assert contract.response_schema["$ref"].endswith(RESPONSE_SCHEMA_NAME)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read spec"),
        ("openapi: [unclosed", "not valid YAML/JSON at line 1"),
        ("- a list", "top level is not a mapping"),
        ("openapi: 3.1.0\ncomponents: {schemas: {}}\n", "no components.schemas.HEMSSessionDetail"),
        ("openapi: 3.1.0\npaths: {}\ncomponents: {schemas: {HEMSSessionDetail: {type: object}}}\n", "no path"),
    ],
)
def test_unusable_specs_are_contract_errors(tmp_path, text, message):
    path = tmp_path / "spec.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ContractError, match=re.escape(message)):
        load_contract(path)


def test_a_spec_whose_schema_is_not_json_schema_is_a_contract_error(tmp_path):
    broken = (ROOT / "spec" / "openapi.yaml").read_text().replace("type: object", "type: objectx", 1)
    path = tmp_path / "spec.yaml"
    path.write_text(broken)
    with pytest.raises(ContractError, match="not a usable JSON Schema"):
        Judge(load_contract(path))


def _folded(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("invariant_id", list(CATALOGUE))
def test_every_catalogue_quote_is_verbatim_from_the_pinned_spec(invariant_id):
    """`spec` holds quotes only: places apart by '; ', cuts inside one place marked '(...)'."""
    spec_text = _folded(load_contract().path.read_text(encoding="utf-8"))
    for quote in re.split(r"; | ?\(\.\.\.\) ?", CATALOGUE[invariant_id].spec):
        assert quote.strip() and _folded(quote) in spec_text, f"{invariant_id}: not verbatim from the spec: {quote!r}"


def _judged(patch) -> list:
    import copy
    import json

    payload = json.loads((Path(__file__).resolve().parents[2] / "cases" / "payloads" / "base" /
                          "ended-charged.json").read_text(encoding="utf-8"))
    payload = copy.deepcopy(payload)
    patch(payload)
    return Judge().judge(payload).findings


def test_schema_messages_say_what_is_allowed():
    [wrong_enum] = _judged(lambda p: p["session"].update(outcome="solar"))
    allowed = 'one of "charged_from_solar", "no_surplus", "steering_ineffective", "aborted" or null'
    assert wrong_enum.message == f'"solar" is not allowed here: expected {allowed}' and wrong_enum.expected == allowed
    [naive] = _judged(lambda p: p["session"].update(started_at="2026-06-14T09:30:00"))
    assert naive.check_id == "SCH-002" and "missing its UTC offset" in naive.message
    assert naive.expected == "a date-time with a UTC offset"
    [wrong_type] = _judged(lambda p: p["commands"][0].update(commanded_phases="1"))
    assert wrong_type.expected == "integer or null" and wrong_type.message.endswith("expected integer or null")
