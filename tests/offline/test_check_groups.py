"""`check` groups identical findings across payloads: one line per (check, level, pointer, message), exact
counts in summary.json however many groups a check has, INFO as one line per check unless --verbose, the same
output for any split of the input, and `--format json` still one record per payload."""

from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path

import jsonschema
import pytest
from payload_support import drawn, must_broken, write_lines

from conformance.cli import main
from conformance.contract.judge import Judge
from conformance.contract.levels import Level
from conformance.offline import parts
from conformance.offline.evidence import CheckEvidence
from conformance.offline.groups import COUNTED, GROUPS_KEPT, GROUPS_SHOWN, LOCATIONS_KEPT, Groups
from conformance.offline.parallel import pool_partials
from conformance.offline.stream import run_check
from conformance.report.records import EVIDENCE_PER_CHECK
from conformance.report.summary import SUMMARY_SCHEMA
from conformance.report.timeline import CLEAN_KEPT, FULL_SESSIONS

pytestmark = pytest.mark.usefixtures("in_tmp")  # reports under a fresh current directory


def negative_holds(body: dict, offset: int) -> dict:
    """Three holds' target_w below zero, from the `offset`-th hold on: PHY-006 (INFO) at three pointers."""
    body = copy.deepcopy(body)
    holds = [decision for decision in body["decisions"] if decision["decision"] == "hold"]
    for decision in holds[offset % len(holds):][:3]:
        decision["target_w"] = -420.0
    return body


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """120 payloads: every third one breaking CNT-004 the same way, the others with INFO findings at pointers
    that vary (more groups than a check keeps)."""
    bodies = drawn(11, 12)
    lines = [must_broken() if n % 3 == 2 else negative_holds(bodies[n % len(bodies)], n) for n in range(120)]
    return write_lines(tmp_path_factory.mktemp("in") / "day.jsonl", lines)


def checked(capsys, *argv: object) -> tuple[int, list[str], dict]:
    code = main(["check", *map(str, argv), "--report-dir", "r"])
    out = capsys.readouterr().out
    return code, out.splitlines(), json.loads(Path("r", "summary.json").read_text(encoding="utf-8"))


def test_identical_findings_are_one_line_with_count_and_first_locations(archive, capsys):
    code, lines, summary = checked(capsys, archive, "--workers", "1")
    assert code == 1
    [must] = [line for line in lines if "CNT-004" in line]
    assert must.startswith(f"{archive}:3: CNT-004 MUST /session/commands_sent: ")
    also = ", ".join(f"{archive}:{n}" for n in (6, 9, 12, 15))
    assert must.endswith(f"(40 findings: also at {also} and {40 - LOCATIONS_KEPT} more)")
    [info] = [line for line in lines if "PHY-006" in line]  # many INFO groups: one count line
    phy = summary["counts"]["findings_by_level"]["INFO"]
    assert info.startswith(f"PHY-006 INFO: {phy} finding(s) in {GROUPS_KEPT}+ groups, first at {archive}:1 ")
    assert len(lines) == 3 and lines[-1].startswith("120 payload(s) judged, 40 failing")


def test_summary_json_counts_every_finding_with_a_bounded_sample(archive, capsys):
    _, _, summary = checked(capsys, archive, "--workers", "1")
    jsonschema.Draft202012Validator(json.loads(SUMMARY_SCHEMA.read_text(encoding="utf-8"))).validate(summary)
    groups = summary["finding_groups"]
    counted = sum(g["count"] for g in groups["groups"]) + sum(o["count"] for o in groups["other"])
    assert counted == summary["counts"]["findings"] == sum(c["findings_total"] for c in summary["checks"])
    phy = [g for g in groups["groups"] if g["check"] == "PHY-006"]
    assert len(phy) == GROUPS_KEPT and [o["check"] for o in groups["other"]] == ["PHY-006"]
    assert all(1 <= len(g["locations"]) <= LOCATIONS_KEPT for g in groups["groups"])
    report = Path("r", "summary.md").read_text(encoding="utf-8")
    assert "### Findings by group" in report and "`CNT-004` MUST `/session/commands\\_sent` x40" in report
    assert 'id="hems-groups"' in Path("r", "report.html").read_text(encoding="utf-8")


def test_verbose_lists_info_groups_and_the_rest_is_one_line_per_check(archive, capsys):
    _, lines, _ = checked(capsys, archive, "--workers", "1", "--verbose")
    phy = [line for line in lines if "PHY-006" in line]
    assert len(phy) == GROUPS_SHOWN + 1 and phy[-1].startswith("PHY-006 INFO: ") and "in other groups" in phy[-1]


def judged_in_ranges(path: Path) -> list[tuple]:
    """What one pass and pools over ranges of a few payloads each make of `path`."""
    judge = Judge()
    seen = []
    for block in (None, 20_000, 100_000):
        out, err, evidence = io.StringIO(), io.StringIO(), CheckEvidence(judge)
        partials = None if block is None else pool_partials(judge, [str(path)], strict=False, as_json=False,
                                                            workers=2, block=block)
        tally = run_check(judge, [str(path)], strict=False, output="text", out=out, err=err, evidence=evidence,
                          partials=partials)
        seen.append((out.getvalue(), err.getvalue(), tally.to_dict(), evidence.kept, evidence.groups.to_dict(),
                     evidence.sessions.to_dict(), evidence.coverage.to_dict()))
    assert len(list(parts.plan([str(path)], split=20_000))) > 30
    return seen


def test_the_grouped_output_and_the_evidence_are_the_same_for_any_split(archive):
    """Ranges of a few payloads each, judged by a pool that tells each part what the run holds in full already
    (the sessions drawn, the first findings of a check): the same groups, evidence and sessions as one pass."""
    seen = judged_in_ranges(archive)
    assert all(other == seen[0] for other in seen[1:])
    assert len(seen[0][5]["full"]) == FULL_SESSIONS and len(seen[0][3]["CNT-004"]) == EVIDENCE_PER_CHECK


def test_the_sessions_without_findings_a_report_keeps_are_the_same_for_any_split(tmp_path):
    """Conformant sessions of every outcome in many ranges: the parts skip those the run would drop (an outcome
    drawn already, a key past the clean sessions kept), and the run keeps the same ones as one pass."""
    bodies = drawn(21, 12)
    path = write_lines(tmp_path / "clean.jsonl", [bodies[n % len(bodies)] for n in range(150)])
    seen = judged_in_ranges(path)
    assert all(other == seen[0] for other in seen[1:])
    assert len(seen[0][5]["clean"]) == CLEAN_KEPT and len(seen[0][5]["by_outcome"]) > 1


def test_json_format_keeps_one_record_per_payload(archive, capsys):
    code = main(["check", str(archive), "--format", "json", "--workers", "1", "--report-dir", "r"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert code == 1 and len(results) == 120 and all(r["findings"] for r in results[2::3])


def test_help_says_json_keeps_one_record_per_payload(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "one record per payload" in text and "--verbose" in text


def test_merging_parts_in_order_keeps_the_groups_of_one_pass():
    """Partitions keep every group; the run keeps the first GROUPS_KEPT per check: merged in input order, any
    split gives what one pass over the findings gives, and the counts stay exact."""
    rng = random.Random(3)
    findings = [(f"C-{rng.randrange(3)}", Level.SHOULD, f"/p/{rng.randrange(40)}", "m", None) for _ in range(2000)]
    located = [(key, f"f:{n}") for n, key in enumerate(findings)]
    one = Groups(GROUPS_KEPT)
    for key, label in located:
        one.add(key, 1, label)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(located)), 7))
        merged = Groups(GROUPS_KEPT)
        for start, end in zip([0, *cuts], [*cuts, len(located)], strict=True):
            part = Groups()
            for key, label in located[start:end]:
                part.add(key, 1, label)
            merged.merge(part)
        assert merged.kept == one.kept and merged.other == one.other
    assert sum(c for c, _ in one.kept.values()) + sum(one.other.values()) == len(findings)


def test_counted_findings_are_a_group_without_pointer():
    groups = Groups()
    groups.add(("SCH-002", Level.MUST, COUNTED, "more finding(s) past the first 10 of a payload, counted", None), 7,
               "a.jsonl:1")
    [line] = groups.lines(verbose=False)
    assert line == "a.jsonl:1: SCH-002 MUST: more finding(s) past the first 10 of a payload, counted (7 findings: 6 more)"
