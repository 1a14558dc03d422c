"""Inputs and targets that would cost memory or time without bound (issue 21, defects 4 to 7): schema-error
floods, a Parquet value that decompresses past the document limit, YAML aliases in a spec, a Dask address
that never answers. Each is refused or bounded with one line and the documented exit code."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import socket
import subprocess
import sys
import threading

import jsonschema_rs
import pytest
from hostile_support import hostile, ok
from payload_support import BASE

from conformance.cli import main
from conformance.contract.cross import load_siblings
from conformance.contract.findings import FINDINGS_BUILT
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.contract.schema_errors import SPLIT_MIN, SchemaErrors
from conformance.contract.spec import load_contract
from conformance.offline.groups import GROUPS_KEPT, GROUPS_SHOWN

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{below}'] * 9)}]\n" for below, name in zip("abcd", "bcde", strict=True))


# --- 4. schema-error floods: the first findings built, the rest counted exactly ---

FLOOD = SPLIT_MIN + 500  # items: long enough to be judged item by item, small enough for a quick test


def flood(items: list) -> dict:
    payload = copy.deepcopy(BASE)
    payload["decisions"] = items
    return payload


def plain_errors(schema: dict, payload) -> list:
    """What jsonschema-rs lists validating the whole payload at once (building every error first)."""
    return list(jsonschema_rs.validator_for(schema, validate_formats=True).iter_errors(payload))


def test_a_flood_of_schema_errors_builds_ten_findings_and_counts_every_other_one(monkeypatch):
    payload = flood([{} for _ in range(FLOOD)] + copy.deepcopy(BASE["decisions"]))
    judgement = Judge().judge(payload)
    assert len(judgement.findings) == FINDINGS_BUILT and {f.check_id for f in judgement.findings} == {"SCH-001"}
    assert len(judgement.findings) + judgement.more["SCH-001", Level.MUST] == len(
        plain_errors(load_contract().response_schema, payload))
    assert judgement.fails()
    monkeypatch.setattr("conformance.contract.schema_errors.SPLIT_MIN", 10 * FLOOD)  # validated whole
    whole = Judge().judge(payload)
    assert whole.not_evaluated == judgement.not_evaluated and whole.more == judgement.more


def test_a_long_array_judged_item_by_item_finds_the_errors_of_the_whole_validation():
    """Splitting an array changes only the order of its errors: the same places, messages and paths."""
    decisions = BASE["decisions"]
    items = [[{}, decisions[0] | {"time": "not a time"}, decisions[0] | {"dispatched": "yes"}, 7,
              copy.deepcopy(decisions[n % len(decisions)])][n % 5] for n in range(FLOOD)]
    payload = flood(items) | {"session": BASE["session"] | {"id": "x", "ended_at": "2026-01-01T00:00:00"}}
    schema = load_contract().response_schema

    def described(place, error):
        return (tuple((*place, *error.instance_path)), error.message, tuple(error.schema_path))

    split = sorted(described(place, error) for place, error in SchemaErrors(schema).errors(payload))
    assert split == sorted(described((), error) for error in plain_errors(schema, payload))
    assert len(split) > 2 * FLOOD // 5


def test_check_prints_the_first_findings_of_a_flood_and_counts_them_all(tmp_path, capsys):
    (tmp_path / "flood.json").write_text(json.dumps(flood([{} for _ in range(FLOOD)])))
    assert main(["check", str(tmp_path / "flood.json"), "--report-dir", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out.splitlines()
    total = len(plain_errors(load_contract().response_schema, flood([{} for _ in range(FLOOD)])))
    assert len(out) == GROUPS_SHOWN + 2  # the first groups of the check, one line counting the rest, the verdict
    assert out[-2] == (f"SCH-001 MUST: {total - GROUPS_SHOWN} more finding(s) in other groups (summary.json lists "
                       f"up to {GROUPS_KEPT} groups of a check)")
    assert f"1 failing ({total} MUST)" in out[-1]
    summary = json.loads((tmp_path / "r/summary.json").read_text())
    groups = summary["finding_groups"]["groups"]  # the findings built, and one group of those only counted
    assert len(groups) == FINDINGS_BUILT + 1 and sum(g["count"] for g in groups) == total
    assert groups[-1]["pointer"] is None and groups[-1]["count"] == total - FINDINGS_BUILT
    schema = next(c for c in summary["checks"] if c["id"] == "SCH-001")
    assert schema["findings_total"] == total and len(schema["findings"]) == FINDINGS_BUILT


def test_check_json_lists_the_first_findings_of_a_flood_and_counts_the_rest(tmp_path, capsys):
    payload = flood([{} for _ in range(FLOOD)])
    (tmp_path / "flood.json").write_text(json.dumps(payload))
    assert main(["check", str(tmp_path / "flood.json"), "--format", "json", "--report-dir", str(tmp_path / "r")]) == 1
    records = json.loads(capsys.readouterr().out)["results"]
    total = len(plain_errors(load_contract().response_schema, payload))
    assert len(records[0]["findings"]) == FINDINGS_BUILT
    assert records[0]["findings_counted"] == {"SCH-001 MUST": total - FINDINGS_BUILT}


def test_a_flood_is_accepted_whole_by_a_baseline_entry_without_pointer(tmp_path, capsys):
    (tmp_path / "flood.json").write_text(json.dumps(flood([{} for _ in range(FLOOD)])))
    (tmp_path / "b.toml").write_text('[[accept]]\ncheck = "SCH-001"\nreason = "x"\nexpires = 2099-01-01\n')
    assert main(["check", str(tmp_path / "flood.json"), "--baseline", str(tmp_path / "b.toml"),
                 "--report-dir", str(tmp_path / "r")]) == 0
    assert "until 2099-01-01" in capsys.readouterr().out.splitlines()[-2]


def test_a_list_page_of_bare_items_builds_ten_sib_findings_and_counts_the_rest():
    contract = load_contract()
    siblings = load_siblings(contract)
    page = {"total": FLOOD, "items": [{} for _ in range(FLOOD)]}
    findings, more = siblings.problems("SIB-001", page)
    assert len(findings) == FINDINGS_BUILT and findings[0].pointer.startswith("/items/0")
    assert len(findings) + more == sum(1 for _ in siblings._validators["SIB-001"].validator.iter_errors(page))


def test_the_live_ledger_counts_a_flood_once_per_body_however_many_requests_showed_it():
    from conformance.live.ledger import Ledger
    from conformance.report.records import CheckRecord, Exchange

    ledger = Ledger()
    ledger.register(CheckRecord("SCH-001", "invariant", Level.MUST, "", ""))
    for url in ("http://127.0.0.1/a", "http://127.0.0.1/b"):
        ledger.add_counted("SCH-001", Level.MUST, 5000, Exchange("GET", url, {}, 200, {}, "{}", 1.0))
    ledger.add_counted("SCH-001", Level.MUST, 7, Exchange("GET", "http://127.0.0.1/c", {}, 200, {}, "[]", 1.0))
    record = ledger.records["SCH-001"]
    assert record.total_findings == 5007 and record.levels_seen[Level.MUST] == 5007 and not record.findings


def test_a_list_page_of_bare_items_is_recorded_as_ten_findings_per_check_and_counted(monkeypatch):
    """Discovery records SIB-001 and XEP-002 on a page of FLOOD items without an id: ten each, the rest counted."""
    from conformance.contract.cross import CROSS, paging_consistent
    from conformance.live import discovery
    from conformance.live.ledger import Ledger
    from conformance.report.records import CheckRecord, Exchange

    class Run:
        def __init__(self) -> None:
            self.ledger, self.siblings, self.built = Ledger(), load_siblings(load_contract()), 0
            for entry in CROSS.values():
                self.ledger.register(CheckRecord(entry.id, "siblings", entry.level, entry.statement, entry.spec))

        def level_of(self, check_id: str) -> Level:
            return CROSS[check_id].level

        def finding(self, check_id: str, *args, **kwargs) -> None:  # a finding built (its evidence is not needed here)
            self.built += 1

    page = {"total": FLOOD, "items": [{} for _ in range(FLOOD)]}
    exchange = Exchange("GET", "http://127.0.0.1/list", {}, 200, {}, json.dumps(page), 1.0, body=page)
    run = Run()
    discovery._schema(run, "SIB-001", exchange)
    discovery._record(run, "XEP-002", paging_consistent([page], True, True), exchange)
    records = run.ledger.records
    assert run.built == 2 * FINDINGS_BUILT  # the rest only counted, in the ledger:
    schema_errors = sum(1 for _ in run.siblings._validators["SIB-001"].validator.iter_errors(page))
    assert records["SIB-001"].total_findings == schema_errors - FINDINGS_BUILT
    assert records["XEP-002"].total_findings == sum(1 for _ in paging_consistent([page], True, True)) - FINDINGS_BUILT


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


def test_a_parquet_row_group_over_the_limit_per_row_is_refused_from_the_metadata(tmp_path, capsys, monkeypatch):
    """The 20 KB file holding one 600 MiB string: its row group is never decompressed."""
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    from conformance.offline import sources

    monkeypatch.setattr(sources, "MAX_DOCUMENT", 4096)
    decoded: list[list[int] | None] = []
    real = parquet.ParquetFile.iter_batches
    monkeypatch.setattr(parquet.ParquetFile, "iter_batches",
                        lambda self, *a, **k: decoded.append(k.get("row_groups")) or real(self, *a, **k))
    values = ['{"a": 1}', '"' + "x" * 50_000 + '"', "[]"]
    parquet.write_table(pa.table({"body": values}), tmp_path / "big.parquet", compression="zstd", row_group_size=1)
    assert main(["check", str(tmp_path / "big.parquet"), "--column", "body", "--report-dir", str(tmp_path / "r")]) == 2
    out, err = capsys.readouterr()
    assert f"{tmp_path / 'big.parquet'}:2: in row group 2, whose 'body' holds 0 MiB for 1 row(s): a value there is " \
           "larger than 0.00390625 MiB: not read" in err
    assert "1 payload(s) judged" in out and decoded == [[0], [2]]


@pytest.mark.parametrize("dictionary", [True, False])
def test_a_parquet_batch_holds_a_bounded_amount_of_column_however_many_rows_repeat_a_value(tmp_path, capsys, monkeypatch,
                                                                                         dictionary):
    """A 500-byte file of 300 rows repeating one 1 MiB body was decoded 1,024 rows at a time (1.25 GB): now the
    column is read as a dictionary (a repeated value held once, each row's copy made as it comes), and a batch of a
    plain column holds at most BATCH_BYTES."""
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    from conformance.offline import parquet as parquet_reader

    monkeypatch.setattr(parquet_reader, "BATCH_BYTES", 256 * 1024)
    batches: list[tuple[int, bool]] = []
    real = parquet_reader._values
    monkeypatch.setattr(parquet_reader, "_values",
                        lambda array: batches.append((len(array), pa.types.is_dictionary(array.type))) or real(array))
    body = json.dumps(dict(BASE, padding="x" * 64 * 1024))
    parquet.write_table(pa.table({"body": [body] * 40 + [None]}), tmp_path / "many.parquet", compression="zstd",
                        use_dictionary=dictionary)
    assert main(["check", str(tmp_path / "many.parquet"), "--column", "body", "--report-dir", str(tmp_path / "r")]) == 2
    out, err = capsys.readouterr()
    assert "40 payload(s) judged" in out and "many.parquet:41: null: no JSON body" in err, out + err
    assert all(is_dictionary for _, is_dictionary in batches) if dictionary else max(n for n, _ in batches) <= 4, batches


# --- 7. `check --dask` against an address that never answers as a Dask scheduler ---


def dask_check(tmp_path, address: str, *, patch: str = "") -> tuple[int, str]:
    """(exit code, stderr) of `check --dask ADDRESS --dask-timeout 1` in a child process (killed at 60 s: a
    hang fails the test instead of holding it); `patch`: Python run in the child before the command."""
    (tmp_path / "one.json").write_text(json.dumps(BASE))
    code = (f"{patch}\nimport sys\nfrom conformance.cli import main\nsys.exit(main(['check', {str(tmp_path / 'one.json')!r}, "
            f"'--dask', {address!r}, '--dask-timeout', '1', '--report-dir', {str(tmp_path / 'r')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=False)
    return result.returncode, result.stderr


@pytest.fixture
def silent_listener():
    """A loopback port that accepts connections and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.1)
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    accepted.append(server.accept()[0])

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()


def test_dask_against_a_silent_listener_is_exit_2_in_one_line(tmp_path, silent_listener):
    pytest.importorskip("distributed")
    code, err = dask_check(tmp_path, silent_listener)
    assert code == 2 and err.strip() == (f"hems-conformance: error: cannot reach the Dask scheduler at {silent_listener}: "
                                         "no Dask answer within 1 s (--dask-timeout)")


def test_dask_against_an_http_server_is_exit_2_in_one_line(tmp_path):
    pytest.importorskip("distributed")
    with hostile(ok) as url:
        address = url.replace("http://", "tcp://")
        code, err = dask_check(tmp_path, address)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"hems-conformance: error: cannot reach the Dask scheduler at {address}: ")


@pytest.fixture
def scheduler_without_workers():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def test_dask_against_a_scheduler_without_workers_is_exit_2_in_one_line(tmp_path, scheduler_without_workers):
    code, err = dask_check(tmp_path, scheduler_without_workers)
    assert code == 2 and err.strip() == (f"hems-conformance: error: no Dask worker joined the scheduler at "
                                         f"{scheduler_without_workers} within 1 s (--dask-timeout)")


def test_results_are_not_awaited_forever_from_a_cluster_without_workers(tmp_path, scheduler_without_workers):
    """Past the wait for a first worker (here skipped), a part whose result no worker can compute ends the run."""
    code, err = dask_check(tmp_path, scheduler_without_workers,
                           patch="import distributed\ndistributed.Client.wait_for_workers = lambda *a, **k: None")
    assert code == 2 and err.strip() == (f"hems-conformance: error: the Dask cluster at {scheduler_without_workers} "
                                         "has no worker: no result within 1 s (--dask-timeout)")


def test_dask_timeout_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["check", "x.json", "--dask", "local", "--dask-timeout", "0"])
    assert "--dask-timeout: expected seconds above 0" in capsys.readouterr().err
