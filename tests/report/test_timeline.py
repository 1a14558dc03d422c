"""Timelines and coverage as plain functions: bounded, escaped, legible with hundreds of decisions, each finding
pinned where its pointer says; what each invariant needs to be exercised."""

from __future__ import annotations

import json
import re

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.coverage import NEEDS, Coverage, unexercised
from conformance.contract.findings import Finding
from conformance.contract.levels import Level
from conformance.contract.payload import SessionView
from conformance.contract.payload_cases import PAYLOAD_CASES
from conformance.report.records import finding_entry
from conformance.report.timeline import FULL_SESSIONS, SessionSample, session_data, timeline_svg, timelines_html


def base(name: str = "ended-charged") -> dict:
    return json.loads((PAYLOAD_CASES / "base" / f"{name}.json").read_text(encoding="utf-8"))


def finding(check_id: str, pointer: str) -> Finding:
    return Finding(pointer, "off <by> one", 1, 2, check_id, Level.MUST)


def test_every_need_names_a_catalogue_invariant_and_a_base_payload_exercises_its_own():
    assert set(NEEDS) <= set(CATALOGUE)
    coverage = Coverage()
    coverage.add(SessionView(base()))
    idle = unexercised(coverage)
    assert "EVD-003" not in idle and idle["OUT-003"] == "an ended session whose outcome is no_surplus"
    coverage.add(SessionView(base("ended-no-surplus")), key="again")
    coverage.add(SessionView(base("ended-no-surplus")), key="again")  # one session read twice counts once
    assert coverage.to_dict()["sessions by outcome"] == {"charged_from_solar": 1, "no_surplus": 1}
    assert "OUT-003" not in unexercised(coverage)


def test_each_finding_is_pinned_at_its_decision_or_command_with_its_values_escaped():
    payload = base()
    findings = [finding("CNT-002", "/session/commands_applied"), finding("PHY-002", "/commands/1/commanded_amps"),
                finding("REF-004", "/decisions/3/dispatched"), finding("IDN-001", "/commands/99")]
    data = session_data("k", '<b>"label"</b>', payload, [finding_entry(f) for f in findings])
    svg = timeline_svg(data)
    pins = re.findall(r'<g class="hems-pin" data-check="([^"]+)" data-pointer="([^"]*)"><title>([^<]*)</title>'
                      r'<path d="M([\d.]+),', svg)
    assert sorted((c, p) for c, p, _, _ in pins) == sorted((f.check_id, f.pointer) for f in findings)
    x = {c: float(at) for c, _, _, at in pins}
    assert x["CNT-002"] == x["IDN-001"] == 52  # the session as a whole, and a row that is not there
    assert x["PHY-002"] > 52 and x["REF-004"] > 52
    command = payload["commands"][1]
    assert f"{command['commanded_amps']:g} A commanded" in dict((c, t) for c, _, t, _ in pins)["PHY-002"]
    page = timelines_html({"full": [data]})
    assert "off &lt;by&gt; one" in svg and '<b>"label"' not in page and "&lt;b&gt;&quot;label&quot;&lt;/b&gt;" in page


def test_hundreds_of_decisions_stay_legible_and_small():
    payload = base()
    payload["decisions"] = payload["decisions"] * 60  # 780 decisions, all at the same 13 instants
    svg = timeline_svg(session_data("k", "long", payload, []))
    kinds = [d["decision"] for d in payload["decisions"]]
    assert svg.count('class="hems-decision"') == sum(k in ("start", "step", "stop") for k in kinds)
    assert svg.count("<path") < len(kinds) / 2  # holds and skips are one path each, not one element per tick
    assert len(svg) < 250_000


def test_the_sample_is_bounded_and_reads_a_session_once():
    sample = SessionSample(once=True)
    for n in range(FULL_SESSIONS + 5):
        payload = base()
        payload["session"]["id"] = n
        sample.add(f"s{n:02}", f"s{n}", payload, [finding("CNT-002", "/session/commands_applied")])
        sample.add(f"s{n:02}", f"s{n}", payload, [finding("CNT-002", "/session/commands_applied")])
    good, better = base("ongoing"), base("ongoing")
    better["session"]["id"] += 1
    sample.add("good", "good", good, [])
    sample.add("better", "better", better, [])
    drawn = sample.to_dict()
    assert drawn["sessions_with_findings"] == FULL_SESSIONS + 5 and len(drawn["full"]) == FULL_SESSIONS
    assert [s["key"] for s in drawn["by_outcome"]] == ["good"] and drawn["by_outcome"][0]["outcome"] == "ongoing"


def test_a_session_read_under_other_paths_counts_and_is_drawn_once_its_leaks_named():
    """The same session read under its own path, at `current` (pinned) and under another user's path (a leak,
    OBJ-003): one session with findings, one drawing, the leak named on it in words."""
    from conformance.contract.findings import Finding

    own, moved, current = "/org/o/users/u/wallboxes/w/hems-sessions/7", "/org/o/users/v/wallboxes/w/hems-sessions/7", \
        "/org/o/users/u/wallboxes/w/hems-sessions/current"
    for order in ((moved, own), (own, moved)):
        sample = SessionSample(once=True)
        for path in order:
            sample.add(path, f"session 7 ({path})", base(), [finding("CNT-002", "/session/commands_applied")],
                       own=path == own)
        sample.pin(current, "session 7 (current)", base(), [Finding("/session/id", "differs", 1, 2, "XEP-003")])
        drawn = sample.to_dict()
        [session] = drawn["full"]
        assert drawn["sessions_with_findings"] == 1 and drawn["by_outcome"] == []
        assert session["key"] == own and session["also_served_under"] == [moved]
        assert [f["id"] for f in session["findings"]] == ["CNT-002", "XEP-003"]
        page = timelines_html(drawn)
        assert "1 session(s) with findings" in page and page.count("<svg") == 1
        assert f"Also served under 1 path(s) not its own (a leak): <code>{moved}</code>" in page


def test_pinning_a_cross_check_finding_draws_the_session_however_it_was_seen_before():
    """A session first drawn clean (or not at all) is drawn with the XEP or SIB finding about it, once."""
    from conformance.contract.findings import Finding
    from conformance.reference.dataset import build_fleet
    from conformance.report.timeline import SessionSample

    payload = build_fleet(0).sessions[0].payload
    sample = SessionSample(once=True)
    sample.add("/s/1", "session 1", payload, [])
    finding = Finding("/session/savings_eur", "list item and detail differ", 1, 2, "XEP-001")
    sample.pin("/s/1", "session 1", payload, [finding])
    sample.pin("/s/1", "session 1", payload, [finding])
    drawn = sample.to_dict()
    assert drawn["by_outcome"] == [] and drawn["sessions_with_findings"] == 1
    [session] = drawn["full"]
    assert [f["id"] for f in session["findings"]] == ["XEP-001", "XEP-001"] and session["findings_total"] == 2
    sample.pin("/s/1/current", "session 1 (current)", payload, [finding])  # the same session at another route
    assert len(sample.to_dict()["full"]) == 1 and sample.to_dict()["sessions_with_findings"] == 1
    sample.pin("/s/2", "session 2", build_fleet(0).sessions[1].payload, [finding])
    assert len(sample.to_dict()["full"]) == 2


def in_offset(payload: dict, offset: str, shift_s: float = 0.0) -> dict:
    """The payload with every time written in another UTC offset (the same instants, `shift_s` later), with
    milliseconds."""
    from datetime import datetime, timedelta

    zone = datetime.fromisoformat(f"2026-01-01T00:00:00{offset}").tzinfo

    def moved(value: str | None) -> str | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value).astimezone(zone) + timedelta(seconds=shift_s)
        return moment.isoformat(timespec="milliseconds")

    out = json.loads(json.dumps(payload))
    out["session"]["started_at"], out["session"]["ended_at"] = (moved(out["session"]["started_at"]),
                                                                moved(out["session"]["ended_at"]))
    for row in out["decisions"] + out["commands"]:
        row["time"] = moved(row["time"])
    return out


def ticks(svg: str) -> list[str]:
    return re.findall(r'text-anchor="middle" fill="#444">([^<]+)</text>', svg)


def test_timelines_are_drawn_in_utc_whatever_the_payload_offset():
    """A session starting 08:02:11.250+01:00 is drawn at 07:02:11.250 UTC: ticks on round UTC minutes, the
    same for the same instants written in +05:30 or -04:00, and the start said in UTC and in the payload's clock."""
    payload = base()  # 09:30:00Z to 09:42:05Z
    shift = -(2 * 3600 + 27 * 60 + 48.75)  # starts 07:02:11.250Z
    drawn = {offset: timeline_svg(session_data("k", "s", in_offset(payload, offset, shift), []))
             for offset in ("+00:00", "+01:00", "+05:30", "-04:00")}
    assert in_offset(payload, "+01:00", shift)["session"]["started_at"] == "2026-06-14T08:02:11.250+01:00"
    assert len({svg for svg in drawn.values()}) == 1  # the same instants, the same picture
    labels = ticks(drawn["+01:00"])
    assert labels[0] == "07:04" and labels[-1] == "07:14" and "08:04" not in labels, labels
    assert '>UTC</text>' in drawn["+01:00"]
    page = timelines_html({"full": [session_data("k", "s", in_offset(payload, offset, shift), [])
                                    for offset in ("+01:00", "+05:30", "-04:00", "+00:00")]})
    assert "started 2026-06-14 07:02:11.250 UTC (2026-06-14T08:02:11+01:00 in the payload)" in page
    assert "started 2026-06-14 07:02:11.250 UTC (2026-06-14T12:32:11+05:30 in the payload)" in page
    assert "started 2026-06-14 07:02:11.250 UTC (2026-06-14T03:02:11-04:00 in the payload)" in page
    assert "started 2026-06-14 07:02:11.250 UTC," in page or "started 2026-06-14 07:02:11.250 UTC<" in page


def test_a_start_without_an_offset_is_drawn_in_seconds_from_the_start_never_labelled_utc():
    payload = base()
    payload["session"]["started_at"] = "2026-06-14T09:30:00"  # SCH-002's finding: no offset to tell UTC by
    svg = timeline_svg(session_data("k", "s", payload, []))
    assert ">UTC<" not in svg and ">from start<" in svg and ticks(svg)[0] == "+0 s"
    assert "no UTC offset" in timelines_html({"full": [session_data("k", "s", payload, [])]})


def test_labels_are_words_where_a_phrase_is_meant():
    payload = base("ongoing")  # its third command has no observed current; its start decision no target
    start = next(d for d in payload["decisions"] if d["decision"] == "start")
    start["target_w"], start["steering_command_id"], start["dispatched"] = None, None, False
    data = session_data("k", "s", payload, [])
    svg, page = timeline_svg(data), timelines_html({"by_outcome": [data]})
    assert "ongoing, no outcome yet" in page and "null" not in svg and "None" not in svg
    assert "no current observed" in svg and "target none, phases" in svg and "not dispatched, command none" in svg
    from conformance.report.timeline import coverage_html
    assert "none (null): 4" in coverage_html({"sessions by outcome": {"null": 4, "no_surplus": 1}})


def test_sessions_without_findings_are_kept_for_compare_the_same_whatever_the_order_or_split():
    from conformance.report.timeline import CLEAN_KEPT

    def sample(keys: list[int]) -> SessionSample:
        out = SessionSample(once=False)
        for n in keys:
            payload = base()
            payload["session"]["id"] = n
            out.add(f"s{n:03}", f"s{n}", payload, [])
        return out

    keys = list(range(CLEAN_KEPT + 10))
    whole = sample(keys).to_dict()
    split = sample(keys[::-1][:15]).merge(sample(keys[::-1][15:])).to_dict()
    assert len(whole["clean"]) == CLEAN_KEPT and len(whole["by_outcome"]) == 1
    assert [s["key"] for s in whole["clean"]] == [f"s{n:03}" for n in keys[1:CLEAN_KEPT + 1]]
    kept = {s["key"] for s in split["clean"] + split["by_outcome"]}
    assert len(split["clean"]) == CLEAN_KEPT and kept <= {f"s{n:03}" for n in keys}
    assert [s["key"] for s in split["clean"]] == sorted(kept - {split["by_outcome"][0]["key"]})[:CLEAN_KEPT]


def test_compare_says_statuses_in_words():
    from conformance.report.compare import Comparison

    result = Comparison({"verdict": "conformant"}, {"verdict": "conformant"}, changed=[("EVD-003", "passed",
                                                                                        "not_exercised")])
    assert "changed: EVD-003 passed -> not exercised" in result.lines()
    assert result.to_dict()["changed"] == [{"id": "EVD-003", "old": "passed", "new": "not_exercised"}]  # data


def test_a_live_run_forgets_the_drawings_it_does_not_keep():
    from conformance.report.timeline import CLEAN_KEPT

    sample = SessionSample(once=True)
    for n in range(CLEAN_KEPT + 30):
        payload = base()
        payload["session"]["id"] = n
        sample.add(f"s{n:03}", f"s{n}", payload, [])
    held = [data for data in sample._seen.values() if data is not None]
    assert len(held) == CLEAN_KEPT + 1  # the clean ones kept and the one per outcome
