"""The pictures of a report, in a real browser: a timeline per session with findings and one per outcome of
the sessions without, each finding pinned with its check ID, nothing fetched from the network, a screenshot
and a printed PDF that are not blank; checks that the sessions never exercised shown as "not exercised" in
the HTML, summary.json and on the console; the same pictures for `check` and side by side in `report compare`.

The number of timelines and the pins are predicted from the deployment's own payloads, judged here.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser_support import browse, measure, page_requests, pdf_pages, png_pixels, poppler, ppm_ink

from conformance.cli import main
from conformance.contract.judge import Judge
from conformance.contract.payload_cases import PAYLOAD_CASES
from conformance.reference.dataset import build_fleet
from conformance.reference.faults import Faults
from conformance.reference.server import Deployment, start_in_thread, write_target_config
from conformance.report.html import status_words
from conformance.report.summary import every_check
from conformance.report.timeline import FULL_SESSIONS, outcome_key

FAULTS = ("counters-off-by-one", "amps-out-of-range", "command-before-decision")


def served(faults: tuple[str, ...] = ()) -> dict[int, dict]:
    """The payloads of the sessions a run reads (tenants A and B), by session id."""
    fleet = Deployment(build_fleet(0), Faults(faults)).fleet
    return {s.session_id: s.payload for t in fleet.tenants[:2] for s in fleet.sessions_of(t.key)}


def predicted(faults: tuple[str, ...]) -> tuple[int, dict[int, set[str]]]:
    """How many timelines a run's report draws, and the check IDs each session with findings has."""
    judge = Judge()
    found = {sid: {f.check_id for f in judge.judge(payload).findings} for sid, payload in served(faults).items()}
    outcomes = {outcome_key(payload) for sid, payload in served(faults).items() if not found[sid]}
    with_findings = {sid: ids for sid, ids in found.items() if ids}
    return min(len(with_findings), FULL_SESSIONS) + len(outcomes), with_findings


@contextlib.contextmanager
def inside(folder: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        yield


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A quick run of the bundled deployment with these faults, made once per module: its report folder."""
    made: dict[tuple[str, ...], Path] = {}

    def run(faults: tuple[str, ...]) -> Path:
        if faults not in made:
            folder = tmp_path_factory.mktemp("timelines")
            with inside(folder):
                code = main(["run", "--profile", "quick", "--report-dir", "r", *(a for f in faults for a in ("--fault", f))])
            assert code == (1 if faults else 0)
            made[faults] = folder / "r"
        return made[faults]

    return run


@pytest.fixture(params=[FAULTS, ()], ids=["fault", "clean"])
def ran(request, runs) -> tuple[tuple[str, ...], Path]:
    return request.param, runs(request.param)


def svgs(dom: str) -> dict[str, str]:
    """Each timeline of a page by its session key."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg class="hems-timeline[^"]*"[^>]*data-session="([^"]*)"'
                                                        r".*?</svg>", dom, re.S)}


def test_the_report_draws_one_timeline_per_session_with_findings_and_per_outcome_pinning_each_finding(ran, tmp_path):
    faults, folder = ran
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    net_log = tmp_path / "net.json"
    dom = browse(folder / "report.html", tmp_path / "profile", f"--log-net-log={net_log}", "--dump-dom")
    count, with_findings = predicted(faults)
    drawn = svgs(dom)
    assert len(re.findall(r'<svg class="hems-timeline', dom)) == len(drawn) == count > 0
    full = summary["sessions"]["full"]
    assert len(full) == min(len(with_findings), FULL_SESSIONS) and bool(full) == bool(faults)
    for session in full:
        svg = drawn[session["key"]]
        assert {f["id"] for f in session["findings"]} == with_findings[session["session_id"]]
        for finding in session["findings"]:
            pin = f'<g class="hems-pin" data-check="{finding["id"]}" data-pointer="{finding["pointer"]}">'
            assert pin in svg and f'>{finding["id"]}</text>' in svg[svg.index(pin):]
    assert {s["outcome"] for s in summary["sessions"]["by_outcome"]} <= {"aborted", "charged_from_solar",
                                                                          "no_surplus", "steering_ineffective",
                                                                          "ongoing"}
    assert 'id="hems-coverage"' in dom and "phase_switch_ineffective" in dom
    proofs = [cell for cell in re.findall(r'<td class="col-proof">(.*?)</td>', dom) if cell]  # built by pytest-html's
    # script; the row of target-testable (no check) has none
    assert len(proofs) == len(summary["checks"]) and all("hems-proof" in cell for cell in proofs)
    assert "counters-off-by-one" in "".join(proofs) and "no proof" not in dom
    assert page_requests(net_log) == []
    shot = tmp_path / "report.png"
    browse(folder / "report.html", tmp_path / "profile-shot", f"--screenshot={shot}")
    assert len(set(png_pixels(shot.read_bytes()))) > 16  # drawn, not one flat colour


def test_a_page_that_fetches_something_is_caught(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<html><body><img src="https://example.invalid/x.png"></body></html>', encoding="utf-8")
    browse(page, tmp_path / "profile", f"--log-net-log={tmp_path / 'net.json'}", "--dump-dom")
    assert page_requests(tmp_path / "net.json") == ["https://example.invalid/x.png"]


def test_the_report_fits_a_1280_px_window_without_scrolling_sideways(ran, tmp_path):
    """The catalogue's columns, long evidence URLs and reproductions wrap: nothing reaches past the window."""
    _, folder = ran
    width = measure(folder / "report.html", tmp_path / "profile", 1280)
    assert width["scrollWidth"] <= width["innerWidth"] == 1280 and width["wider"] == [], width


MIN_PAGE_TEXT = 200  # characters of text on every printed page but the last: a page of timelines holds about 1300,
# a page of the table or the evidence 4000 and more; a page forced by a break before a lone heading or one small
# timeline holds fewer than 200. The last page holds the end of the report, however little is left.


def test_the_report_prints_on_a4_with_no_nearly_blank_page_and_every_check_with_its_status(ran, tmp_path):
    faults, folder = ran
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    pdf = tmp_path / "report.pdf"
    browse(folder / "report.html", tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    info = subprocess.run([poppler("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True, timeout=60)
    assert re.search(r"Page size: +[\d.]+ x [\d.]+ pts \(A4\)", info.stdout), info.stdout  # portrait: 595 x 842
    texts = pdf_pages(pdf)
    filled = [len("".join(text.split())) for text in texts]
    assert min(filled[:-1], default=MIN_PAGE_TEXT) >= MIN_PAGE_TEXT and filled[-1] > 0, filled
    subprocess.run([poppler("pdftoppm"), "-r", "20", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    inks = [ppm_ink(page.read_bytes()) for page in sorted(tmp_path.glob("page-*.ppm"))]
    assert len(inks) == len(texts) and min(inks) > 0.002, inks
    sessions = summary["sessions"]["full"] + summary["sessions"]["by_outcome"]
    assert max(text.count(" decision(s), ") for text in texts) >= min(2, len(sessions))  # timelines share pages
    text = "\f".join(texts)
    table = text[text.index("\nCatalogue\n"):]
    assert " ".join(table[:300].split()).startswith("Catalogue ID Level Basis Statement Spec citation Status "
                                                    "Responses judged Proof it can fail")
    at = 0
    checks = every_check(summary)  # the catalogue's table, then the sibling routes' (if the run judged them)
    for check in checks:  # every row on paper, its status and proof cells too, in the tables' order
        row = "\n" + " ".join(part for part in (check["id"], check["level"], check["basis"]) if part) + " "
        at = table.index(row, at)
        after = [table.find(f"\n{c['id']} {c['level']} ", at + 1) for c in checks if c["id"] != check["id"]]
        cells = " ".join(table[at:min([n for n in after if n > at] or [len(table)])].split())
        assert status_words(check["status"]) in cells and f" {check['judged']} " in cells, (check["id"], cells)
        assert "cases " in cells or "serve --fault " in cells, (check["id"], cells)


def test_checks_the_sessions_never_exercise_are_not_exercised_not_passed(tmp_path, capsys):
    """Only sessions without a phase_switch_ineffective command on their wallbox, and no tenant B."""
    deployment = Deployment(build_fleet(0), Faults())
    switching = {s.wallbox_id for s in deployment.fleet.sessions
                 if any(c["outcome"] == "phase_switch_ineffective" for c in s.payload["commands"])}
    with start_in_thread(deployment) as url:
        target = deployment.target_config(url)
        target["sessions"] = [s for s in target["sessions"] if s["wallbox_id"] not in {str(w) for w in switching}]
        del target["tenant_b"]
        assert target["sessions"]
        write_target_config(str(tmp_path / "target.toml"), target)
        with inside(tmp_path):
            code = main(["run", "--profile", "quick", "--config", "target.toml", "--report-dir", "r"])
    output = capsys.readouterr().out
    assert code == 0, output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in summary["checks"]}
    idle = {i for i, c in checks.items() if c["status"] == "not_exercised"}
    assert {"EVD-003", "EVD-009", "OBJ-004"} <= idle
    assert "phase_switch_ineffective" in checks["EVD-003"]["needs"] and "tenant_b" in checks["OBJ-004"]["needs"]
    assert summary["counts"]["checks"]["not_exercised"] == len(idle)
    assert summary["coverage"]["commands by verdict"].get("phase_switch_ineffective", 0) == 0
    verdict = next(line for line in output.splitlines() if line.startswith("hems-conformance: conformant"))
    assert f"{len(idle)} check(s) not exercised" in verdict and "EVD-003" in verdict and "EVD-009" in verdict
    assert ("hems-conformance: not exercised: EVD-003: the run would need a command whose outcome is "
            "phase_switch_ineffective") in output
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "not exercised: needs a command whose outcome is phase_switch_ineffective" in html
    assert f"{len(idle)} not exercised" in html  # in the banner's counts, in words


def test_check_reports_draw_the_same_pictures(tmp_path):
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    bases = sorted((PAYLOAD_CASES / "base").glob("*.json"))
    for base in bases:
        shutil.copy(base, payloads / base.name)
    broken = json.loads(bases[0].read_text(encoding="utf-8"))
    broken["session"]["commands_applied"] += 1
    (payloads / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    with inside(tmp_path):
        assert main(["check", "payloads", "--report-dir", "r"]) == 1
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    outcomes = {outcome_key(json.loads(base.read_text(encoding="utf-8"))) for base in bases}
    assert [s["key"] for s in summary["sessions"]["full"]] == [str(Path("payloads") / "broken.json")]
    assert len(svgs(html)) == 1 + len(outcomes)
    assert '<g class="hems-pin" data-check="CNT-002" data-pointer="/session/commands_applied">' in html
    assert 'id="hems-coverage"' in html and "Proof it can fail" in html and "counters-off-by-one" in html


def test_check_names_the_checks_its_payloads_never_exercise(tmp_path, capsys):
    with inside(tmp_path):
        assert main(["check", str(PAYLOAD_CASES / "base" / "ended-charged.json"), "--format", "json",
                     "--report-dir", "r"]) == 0
    idle = json.loads(capsys.readouterr().out)["summary"]["not_exercised"]
    assert idle["OUT-003"] == "an ended session whose outcome is no_surplus" and "CNT-002" not in idle
    checks = {c["id"]: c for c in json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))["checks"]}
    assert {i for i, c in checks.items() if c["status"] == "not_exercised"} == set(idle)
    junit = (tmp_path / "r" / "junit.xml").read_text(encoding="utf-8")
    assert 'message="not exercised: needs an ended session whose outcome is no_surplus"' in junit


def test_compare_draws_the_changed_sessions_side_by_side(runs, tmp_path, capsys):
    clean, folder = runs(()), runs(FAULTS)
    capsys.readouterr()
    page = tmp_path / "compare.html"
    assert main(["report", "compare", str(clean), str(folder), "--html", str(page)]) == 1
    changed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("session changed: ")]
    html = page.read_text(encoding="utf-8")
    _, with_findings = predicted(FAULTS)
    assert len(changed) == len(re.findall(r'<tr class="hems-changed-session">', html)) >= min(len(with_findings),
                                                                                              FULL_SESSIONS)
    for line in changed:
        key, old, new = re.fullmatch(r"session changed: (\S+): (.*) -> (.*)", line).groups()
        session_id = int(key.rsplit("/", 1)[1])
        assert old in ("no findings", "not drawn")
        assert new in (", ".join(sorted(with_findings.get(session_id, ()))) or "no findings", "not drawn"), line
    assert set(svgs(html)) == {line.split(" ")[2].rstrip(":") for line in changed}


def test_a_session_leaked_under_other_paths_is_counted_and_drawn_once_and_marked_as_a_leak(runs):
    """path-parents-unchecked serves each session under another user's or wallbox's path too (OBJ-003): those
    reads are the same sessions, named on their drawings as leaks, never counted or drawn again."""
    folder = runs(("path-parents-unchecked", "counters-off-by-one"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    judged = summary["metadata"]["sessions"]
    assert sum(summary["coverage"]["sessions by outcome"].values()) == len(judged)
    drawn = summary["sessions"]["full"] + summary["sessions"]["by_outcome"]
    assert len({s["session_id"] for s in drawn}) == len(drawn)
    own = {f"/api/partners/v2.0/org/{s['org_id']}/users/{s['user_id']}/wallboxes/{s['wallbox_id']}/hems-sessions/"
           f"{s['session_id']}" for s in judged}
    assert {s["key"] for s in drawn} <= own
    leaked = [s for s in drawn if s.get("also_served_under")]
    assert leaked and all(path not in own for s in leaked for path in s["also_served_under"])
    assert summary["sessions"]["sessions_with_findings"] <= len(judged)
    assert "not its own (a leak)" in (folder / "report.html").read_text(encoding="utf-8")


def test_compare_draws_a_session_the_new_run_fixed_on_the_new_side(runs, tmp_path, capsys):
    clean, folder = runs(()), runs(FAULTS)
    page = tmp_path / "compare.html"
    assert main(["report", "compare", str(folder), str(clean), "--html", str(page)]) == 0
    fixed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("session changed: ")]
    html = page.read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="hems-changed-session">.*?</tr><tr><td>(.*?)</td><td>(.*?)</td></tr>', html, re.S)
    drawn_before = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["sessions"]["full"]
    assert len(rows) == len(fixed) >= len(drawn_before) > 0  # and those the old run found at fault but did not draw
    assert all('<svg class="hems-timeline' in new for _, new in rows)
    assert html.count("Not in this run") == len(rows) - len(drawn_before)  # on the old side only
    assert sum('<svg class="hems-timeline' in old for old, _ in rows) == len(drawn_before)
    assert all(line.endswith("-> no findings") for line in fixed), fixed
    width = measure(page, tmp_path / "profile", 1280)  # two timelines side by side still fit the window
    assert width["scrollWidth"] <= width["innerWidth"] and width["wider"] == [], width


def test_the_report_reads_top_down_with_the_checks_to_look_at_linked_to_their_rows(ran):
    """Banner, the list of failed / warned / not exercised / accepted / skipped checks, the catalogue, then the
    sessions; each listed check links to its row, and only those checks are listed."""
    _, folder = ran
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    html = (folder / "report.html").read_text(encoding="utf-8")
    order = [html.index(marker) for marker in ('id="hems-verdict"', 'id="hems-attention"', 'id="hems-catalogue"',
                                               'id="hems-sessions"')]
    assert order == sorted(order)
    top = html[order[1]:order[2]]
    listed = re.findall(r'<li><a href="#check-([^"]+)">', top)
    wanted = [c["id"] for status in ("failed", "warning", "not_exercised", "accepted", "skipped")
              for c in every_check(summary) if c["status"] == status]
    assert listed == wanted and all(f'id="check-{check_id}"' in html for check_id in listed)
    for check in summary["checks"]:
        if check["status"] == "failed":
            assert f'{check["findings_total"]} finding(s)</i>' in top
    assert ("Failed (" in top) == any(c["status"] == "failed" for c in summary["checks"])
    assert "Not exercised (" in top  # AUTH-005 and OBJ-005 in the bundled run: its tokens live long, no [discover]
