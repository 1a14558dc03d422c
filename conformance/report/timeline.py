"""Session timelines: the steering loop of one session drawn as inline SVG, with each finding pinned where
its JSON pointer says.

Time runs across; the panels show export and target power, commanded amps against the observed
Current.Offered (each command coloured by its verdict), the phase counts, and a lane of decision markers
by kind. A finding about `/decisions/N/...` or `/commands/N/...` is pinned at that decision or command,
labelled with its check ID, and its hover text (an SVG <title>) gives the values; a finding elsewhere is
pinned at the session's start. A small writer of our own: no dependency, a few kB per session, and a
1000-decision session in milliseconds (bench/bench_report.py compares it with matplotlib and pygal).

The data is plain: `session_data` reduces a payload to compact rows that summary.json keeps, so `report
compare` can draw two runs' sessions side by side from their summaries alone.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from conformance.contract import pointers
from conformance.contract.findings import Finding
from conformance.contract.payload import instant, is_number, parse_instant
from conformance.report.records import finding_entry

FULL_SESSIONS = 12  # sessions with findings drawn in full
ROWS_KEPT = 2000  # decisions and commands kept per session (a longer session is drawn from its first rows)
PINS_KEPT = 40  # findings pinned per session

VERDICT_COLOURS = {"applied": "#2e7d32", "accepted_ineffective": "#ef6c00", "phase_switch_ineffective": "#8e24aa",
                   "unverified": "#9e9e9e", "rejected": "#c62828", "unreachable": "#6d4c41", "timeout": "#f9a825",
                   "not_capable": "#455a64"}
KIND_MARKS = {"start": ("#2e7d32", "M-5,5L0,-5L5,5Z"), "step": ("#1565c0", "M0,-5L5,0L0,5L-5,0Z"),
              "stop": ("#c62828", "M-5,-5L0,5L5,-5Z")}
QUIET_KINDS = {"hold": "#9e9e9e", "skip": "#e0a000"}  # many per session: one path each, ticks only
EXPORT, TARGET, COMMANDED, OBSERVED, PIN = "#43a047", "#fb8c00", "#3949ab", "#222222", "#d50000"
OTHER = "#000000"


# --- the data ---


def _seconds(value: Any, start: timedelta | None) -> float | None:
    moment = instant(value)
    return None if moment is None or start is None else round((moment - start).total_seconds(), 3)


def outcome_key(payload: dict[str, Any]) -> str:
    outcome = payload["session"]["outcome"]
    if outcome is None:
        return "ongoing" if payload["session"]["ended_at"] is None else "none"
    return str(outcome)


def session_data(key: str, label: str, payload: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """A session reduced to what its timeline draws. `payload` has the schema's shape; `findings` are summary
    entries (id, level, pointer, message, expected, actual)."""
    session = payload["session"]
    start = instant(session["started_at"])
    decisions = [[_seconds(d["time"], start), d["decision"], d["export_w"], d["target_w"], d["phases"],
                  d["dispatched"], d["steering_command_id"]] for d in payload["decisions"][:ROWS_KEPT]]
    commands = [[_seconds(c["time"], start), c["commanded_amps"], c["observed_current_offered_a"], c["outcome"],
                 c["dispatch_status"], c["commanded_phases"], c["id"]] for c in payload["commands"][:ROWS_KEPT]]
    return {"key": key, "label": label, "outcome": outcome_key(payload), "session_id": session["id"],
            "started_at": session["started_at"], "ended_s": _seconds(session["ended_at"], start),
            "rows_total": [len(payload["decisions"]), len(payload["commands"])],
            "decisions": decisions, "commands": commands,
            "findings_total": len(findings), "findings": findings[:PINS_KEPT]}


CLEAN_KEPT = 2 * FULL_SESSIONS  # sessions without findings kept besides one per outcome (those of the smallest keys,
# so that any split of a run keeps the same): `report compare` draws a session another run found at fault and this
# one fixed from them (the report page does not draw them)
LEAKS_KEPT = 5  # paths not its own a session was also served under, named per session


def session_identity(payload: dict[str, Any]) -> str:
    """What tells one session from another whatever path it was read under (its own, `current`, another user's):
    its id and its start instant (ids may be numbered per wallbox)."""
    session = payload["session"]
    begun = instant(session.get("started_at"))
    return repr((session.get("id"), begun if begun is not None else session.get("started_at")))


class SessionSample:
    """The sessions a report draws, bounded: the first FULL_SESSIONS with findings, and for the rest the first
    session of each outcome (what a good session looks like). Thread-safe. With `once` (a live run reads a
    session many times, under several paths), each session counts and is drawn once, known by its identity
    (`session_identity`): a read under a path not its own (`own=False`: a leak, OBJ-003's moved paths) is named
    on its drawing, never drawn as another session. Without `once`, memory stays flat however many payloads pass."""

    def __init__(self, *, once: bool) -> None:
        self.with_findings: list[dict[str, Any]] = []
        self.by_outcome: dict[str, dict[str, Any]] = {}
        self.clean: list[dict[str, Any]] = []  # CLEAN_KEPT more sessions without findings, for `report compare`
        self.sessions_with_findings = 0
        self._seen: dict[Hashable, dict[str, Any] | None] | None = {} if once else None  # identity: its drawing
        self._found: set[Hashable] = set()  # with `once`: the identities counted with findings
        self._leaks: dict[Hashable, list[str]] = {}  # with `once`: identity: the paths not its own it was served at
        self._lock = threading.Lock()

    def add(self, key: str, label: str, payload: dict[str, Any], findings: list[Finding], *, own: bool = True) -> None:
        """A session read under `key` (its path or label); `own`: whether that is the session's own path."""
        with self._lock:
            identity = session_identity(payload) if self._seen is not None else None
            if not own and self._seen is not None:
                self._leaked(identity, key)
                return
            if self._seen is not None:
                if identity in self._seen:
                    return
                self._seen[identity] = None
            if findings:
                self.sessions_with_findings += 1
                self._found.add(identity)
                if len(self.with_findings) < FULL_SESSIONS:
                    self.with_findings.append(
                        self._draw(identity, session_data(key, label, payload, [finding_entry(f) for f in findings])))
            elif outcome_key(payload) not in self.by_outcome:
                self.by_outcome[outcome_key(payload)] = self._draw(identity, session_data(key, label, payload, []))
            elif len(self.clean) < CLEAN_KEPT or key < max(str(s["key"]) for s in self.clean):
                self._keep_clean([self._draw(identity, session_data(key, label, payload, []))])

    def _keep_clean(self, sessions: list[dict[str, Any]]) -> None:
        """Add `sessions` to the clean ones and keep the CLEAN_KEPT of the smallest keys (a drawing left out is
        forgotten, so memory stays bounded however many sessions a run reads)."""
        ordered = sorted([*self.clean, *sessions], key=lambda s: str(s["key"]))
        self.clean, dropped = ordered[:CLEAN_KEPT], ordered[CLEAN_KEPT:]
        if dropped and self._seen is not None:
            gone = {id(data) for data in dropped}
            for identity, data in self._seen.items():
                if data is not None and id(data) in gone:
                    self._seen[identity] = None

    def _draw(self, identity: Hashable, data: dict[str, Any]) -> dict[str, Any]:
        """`data` as the drawing of this session, with the paths not its own it was served under so far."""
        if self._seen is not None:
            self._seen[identity] = data
            if self._leaks.get(identity):
                data["also_served_under"] = self._leaks[identity]
        return data

    def _drawn(self, identity: Hashable) -> dict[str, Any]:
        drawn = self._seen.get(identity) if self._seen is not None else None
        return drawn if drawn is not None else {}

    def _leaked(self, identity: Hashable, path: str) -> None:
        paths = self._leaks.setdefault(identity, [])
        if path not in paths and len(paths) < LEAKS_KEPT:
            paths.append(path)
        drawn = self._seen.get(identity) if self._seen is not None else None
        if drawn is not None:
            drawn["also_served_under"] = paths

    def pin(self, key: str, label: str, payload: dict[str, Any], findings: list[Finding]) -> None:
        """Findings of another check about a session (the cross-endpoint and sibling checks, read at the list or
        `current` route): drawn with the session, whether it was drawn before (without them, or with its own) or
        not yet seen; counted once."""
        if not findings:
            return
        entries = [finding_entry(f) for f in findings]
        with self._lock:
            identity = session_identity(payload)
            drawn = next((s for s in self.with_findings if s is self._drawn(identity) or s["key"] == key), None)
            if drawn is not None:
                drawn["findings_total"] += len(entries)
                drawn["findings"] = (drawn["findings"] + entries)[:PINS_KEPT]
                return
            self.by_outcome = {k: s for k, s in self.by_outcome.items()
                               if s["key"] != key and s is not self._drawn(identity)}
            self.clean = [s for s in self.clean if s["key"] != key and s is not self._drawn(identity)]
            if self._seen is not None:
                self._seen.setdefault(identity, None)
            if identity not in self._found:
                self._found.add(identity)
                self.sessions_with_findings += 1
            if len(self.with_findings) < FULL_SESSIONS:
                self.with_findings.append(self._draw(identity, session_data(key, label, payload, entries)))

    def merge(self, later: SessionSample) -> SessionSample:
        """This sample followed by `later`'s (a later part of a run, without `once`), in place: the same sample
        as if one had seen both parts' sessions in order."""
        with self._lock:
            self.sessions_with_findings += later.sessions_with_findings
            self.with_findings.extend(later.with_findings[:FULL_SESSIONS - len(self.with_findings)])
            displaced = [s for outcome, s in later.by_outcome.items() if self.by_outcome.setdefault(outcome, s) is not s]
            self._keep_clean([*displaced, *later.clean])
        return self

    def __getstate__(self) -> dict[str, Any]:  # picklable (a worker sends its sample back): without the lock
        return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def to_dict(self) -> dict[str, Any]:
        """What summary.json keeps: the drawn sessions in a stable order (by key, outcomes by name)."""
        return {"sessions_with_findings": self.sessions_with_findings,
                "full": sorted(self.with_findings, key=lambda s: str(s["key"])),
                "by_outcome": [self.by_outcome[k] for k in sorted(self.by_outcome)],
                "clean": sorted(self.clean, key=lambda s: str(s["key"]))}


# --- drawing ---


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(value: Any) -> str:
    """A value as a hover text shows it: null as the word "none"."""
    return "none" if value is None else _num(value) if is_number(value) else str(value)


OUTCOME_WORDS = {"ongoing": "ongoing, no outcome yet", "none": "ended without an outcome (null)"}  # outcome_key's own


def _words(value: str) -> str:
    """A counted value as people read it: a spec's enum value as it is (it is data), null as a phrase."""
    return "none (null)" if value == "null" else value


class _Axis:
    """Linear map from a data range onto pixels."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.high = low, high if high > low else low + 1
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _start_utc(started: Any) -> datetime | None:
    """The session's start as a UTC datetime (the payload's offset applied), None if it has no readable offset."""
    begun = parse_instant(started)
    try:
        return None if begun is None else begun.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the year 1 in UTC
        return None


def _clock(begun: datetime | None, seconds: float) -> str:
    """The UTC clock time `seconds` after the start (`+N s` where the start has no offset to tell UTC by)."""
    if begun is None:
        return f"+{_num(seconds)} s"
    try:
        moment = begun + timedelta(seconds=seconds)
    except OverflowError:  # past the year 9999
        return f"+{_num(seconds)} s"
    return moment.strftime("%H:%M") if seconds < 86400 else moment.strftime("%d %H:%M")


def start_line(started: Any) -> str:
    """The start in words: in UTC, with the payload's own clock where its offset is not UTC's."""
    begun, local = _start_utc(started), parse_instant(started)
    if begun is None or local is None:
        return f"started {started!s} (no UTC offset: drawn in seconds from the start)"
    shown = begun.isoformat(sep=" ", timespec="milliseconds" if begun.microsecond else "seconds").replace("+00:00", "")
    offset = local.utcoffset()
    if not offset:
        return f"started {shown} UTC"
    return f"started {shown} UTC ({local.isoformat(timespec='seconds')} in the payload)"


def _times(rows: list[list[Any]]) -> list[float]:
    """Each row's time; a row without a readable time sits at the time of the row before it."""
    out, last = [], 0.0
    for row in rows:
        last = row[0] if is_number(row[0]) else last
        out.append(last)
    return out


def _pin_target(pointer: str) -> tuple[str, int] | None:
    tokens = pointers.tokens(pointer)
    if len(tokens) >= 2 and tokens[0] in ("decisions", "commands") and tokens[1].isdigit():
        return tokens[0], int(tokens[1])
    return None


def _values(part: str, row: list[Any]) -> str:
    """A decision's or command's values in words (a hover text); enum values as the payload has them."""
    def watts(value: Any) -> str:
        return f"{_text(value)} W" if is_number(value) else _text(value)

    if part == "decisions":
        dispatched = {True: "dispatched", False: "not dispatched"}.get(row[5], f"dispatched {_text(row[5])}")
        return (f"{row[1]} decision: export {watts(row[2])}, target {watts(row[3])}, phases {_text(row[4])}, "
                f"{dispatched}, command {_text(row[6])}")
    observed = f"{_text(row[2])} A observed" if is_number(row[2]) else "no current observed"
    return (f"command {_text(row[6])}: {_text(row[1])} A commanded, {observed}, phases "
            f"{_text(row[5])}, outcome {_text(row[3])}, dispatch_status {_text(row[4])}")


class _Canvas:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, text: str, *, size: int = 10, anchor: str = "start", fill: str = "#444") -> None:
        self.add(f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
                 f"{escape(text)}</text>")

    def path(self, d: list[str], colour: str, *, width: float = 1.5, dash: str = "", fill: str = "none") -> None:
        if d:
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            self.add(f'<path d="{"".join(d)}" stroke="{colour}" stroke-width="{width}" fill="{fill}"{extra}/>')


def _step_path(points: list[tuple[float, float]], right: float) -> list[str]:
    """A step line through (x, y) points, each value held until the next point (the last until `right`)."""
    d = []
    for n, (x, y) in enumerate(points):
        d.append(f"{'M' if n == 0 else 'L'}{_num(x)},{_num(y)}")
        nxt = points[n + 1][0] if n + 1 < len(points) else right
        d.append(f"H{_num(nxt)}")
    return d


def _panel_range(values: list[Any], floor: float) -> tuple[float, float]:
    numbers = [v for v in values if is_number(v)]
    return min([0.0, *numbers]), max([floor, *numbers])


def timeline_svg(data: dict[str, Any], *, small: bool = False) -> str:
    """One session as an SVG element (inline in HTML): full size with pins, or small for a good session."""
    width = 480 if small else 960
    panel = 46 if small else 84
    left, right = 52, width - 12
    decisions, commands = data["decisions"], data["commands"]
    d_times, c_times = _times(decisions), _times(commands)
    end = max([data["ended_s"] or 0, *d_times, *c_times, 60.0])
    x = _Axis(0.0, end, left, right)
    findings = [] if small else data["findings"]
    pins = _place_pins(findings, decisions, commands, d_times, c_times, x)
    rows = max([-1, *(row for _, row, _ in pins)]) + 1
    top = 8 + rows * 14
    power_top, amps_top = top + 4, top + panel + 14
    phases_top = amps_top + panel + 10
    lane_top = phases_top + (22 if small else 30)
    axis_top = lane_top + 22
    height = axis_top + (16 if small else 44)
    svg = _Canvas()
    svg.add(f'<svg class="hems-timeline{" hems-small" if small else ""}" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, '
            f'sans-serif" role="img" data-session="{escape(str(data["key"]))}">')
    svg.add(f"<title>{escape(data['label'])}: {escape(OUTCOME_WORDS.get(data['outcome'], data['outcome']))}, {escape(str(data['rows_total'][0]))} "
            f"decisions, {escape(str(data['rows_total'][1]))} commands</title>")
    for top_y, height_y, name in ((power_top, panel, "W"), (amps_top, panel, "A"), (phases_top, panel // 3, "phases"),
                                  (lane_top, 16, "decisions")):
        svg.add(f'<rect x="{left}" y="{top_y}" width="{right - left}" height="{height_y}" fill="#fafafa" '
                f'stroke="#ddd"/>')
        svg.text(left - 4, top_y + 10, name, size=9, anchor="end")
    _power(svg, decisions, d_times, x, _Axis(*_panel_range([v for r in decisions for v in r[2:4]], 100.0),
                                            power_top + panel - 2, power_top + 2), right)
    _amps(svg, commands, c_times, x, _Axis(*_panel_range([v for r in commands for v in r[1:3]], 16.0),
                                          amps_top + panel - 2, amps_top + 2), right)
    _phases(svg, decisions, commands, d_times, c_times, x, _Axis(0, 3, phases_top + panel // 3 - 3, phases_top + 3))
    _decision_lane(svg, decisions, d_times, x, lane_top + 8)
    _time_axis(svg, data["started_at"], end, x, axis_top, small)
    for pin_x, row, finding in pins:
        _pin(svg, pin_x, row, finding, lane_top + 16)
    if not small:
        _legend(svg, decisions, commands, left, right, axis_top + 22)
    svg.add("</svg>")
    return "".join(svg.parts)


def _power(svg: _Canvas, decisions: list[list[Any]], times: list[float], x: _Axis, y: _Axis, right: float) -> None:
    export = [(x(t), y(r[2])) for t, r in zip(times, decisions, strict=True) if is_number(r[2])]
    svg.path([f"{'M' if n == 0 else 'L'}{_num(px)},{_num(py)}" for n, (px, py) in enumerate(export)], EXPORT)
    svg.path(_step_path([(x(t), y(r[3])) for t, r in zip(times, decisions, strict=True) if is_number(r[3])], right),
             TARGET, dash="4 2")
    svg.text(right, y.end + 8, f"{_num(y.high)} W", size=8, anchor="end", fill="#888")


def _amps(svg: _Canvas, commands: list[list[Any]], times: list[float], x: _Axis, y: _Axis, right: float) -> None:
    svg.path(_step_path([(x(t), y(r[1])) for t, r in zip(times, commands, strict=True) if is_number(r[1])], right),
             COMMANDED)
    svg.path(_step_path([(x(t), y(r[2])) for t, r in zip(times, commands, strict=True) if is_number(r[2])], right),
             OBSERVED, width=1, dash="2 2")
    for n, (t, row) in enumerate(zip(times, commands, strict=True)):
        if is_number(row[1]):
            colour = VERDICT_COLOURS.get(str(row[3]), OTHER)
            svg.add(f'<circle class="hems-command" cx="{_num(x(t))}" cy="{_num(y(row[1]))}" r="3.5" fill="{colour}" '
                    f'stroke="#fff" stroke-width="0.8"><title>commands/{n} at +{_num(t)} s: '
                    f"{escape(_values('commands', row))}</title></circle>")
    svg.text(right, y.end + 8, f"{_num(y.high)} A", size=8, anchor="end", fill="#888")


def _phases(svg: _Canvas, decisions: list[list[Any]], commands: list[list[Any]], d_times: list[float],
            c_times: list[float], x: _Axis, y: _Axis) -> None:
    for phases in (1, 3):
        svg.text(x.start + 3, y(phases) + 3, str(phases), size=7, fill="#aaa")
    for rows, times, column, colour in ((decisions, d_times, 4, TARGET), (commands, c_times, 5, COMMANDED)):
        marks = [f"M{_num(x(t) - 1.5)},{_num(y(r[column]))}h3" for t, r in zip(times, rows, strict=True)
                 if is_number(r[column]) and 0 <= r[column] <= 3]
        svg.path(marks, colour, width=3)


def _decision_lane(svg: _Canvas, decisions: list[list[Any]], times: list[float], x: _Axis, mid: float) -> None:
    for kind, colour in QUIET_KINDS.items():
        svg.path([f"M{_num(x(t))},{_num(mid - 5)}v10" for t, r in zip(times, decisions, strict=True) if r[1] == kind],
                 colour, width=1)
    for n, (t, row) in enumerate(zip(times, decisions, strict=True)):
        if row[1] in KIND_MARKS:
            colour, shape = KIND_MARKS[row[1]]
            svg.add(f'<path class="hems-decision" transform="translate({_num(x(t))},{_num(mid)})" d="{shape}" '
                    f'fill="{colour}"><title>decisions/{n} at +{_num(t)} s: {escape(_values("decisions", row))}'
                    f"</title></path>")


def _time_axis(svg: _Canvas, started: str, end: float, x: _Axis, top: float, small: bool) -> None:
    """Ticks at round UTC times (each a whole number of steps since midnight UTC), labelled with the UTC clock;
    in seconds from the start where the start has no offset, and then labelled so."""
    most = 5 if small else 10
    step = next((s for s in _STEPS_S if end / s <= most), _STEPS_S[-1] * math.ceil(end / _STEPS_S[-1] / most))
    begun = _start_utc(started)
    first = 0.0 if begun is None else -(begun.hour * 3600 + begun.minute * 60 + begun.second
                                        + begun.microsecond / 1e6) % step
    ticks = [first + n * step for n in range(int((end - first) // step) + 1)]
    svg.path([f"M{_num(x(t))},{_num(top - 4)}v4" for t in ticks], "#888", width=1)
    for t in ticks:
        svg.text(x(t), top + 8, _clock(begun, t), size=9, anchor="middle")
    if not small:
        svg.text(x.start - 16, top + 8, "UTC" if begun is not None else "from start", size=9, anchor="end",
                 fill="#888")


def _place_pins(findings: list[dict[str, Any]], decisions: list[list[Any]], commands: list[list[Any]],
                d_times: list[float], c_times: list[float], x: _Axis) -> list[tuple[float, int, dict[str, Any]]]:
    """(x, label row, finding) per finding: at its decision or command, else at the session's start; labels
    that would overlap go to the next row (at most 6 rows, then the least crowded)."""
    placed = []
    row_ends: list[float] = []
    located = []
    for finding in findings:
        target = _pin_target(finding.get("pointer", ""))
        times, rows = (d_times, decisions) if target and target[0] == "decisions" else (c_times, commands)
        if target and target[1] < len(rows):
            located.append((x(times[target[1]]), finding, _values(target[0], rows[target[1]])))
        else:
            located.append((x.start, finding, "the session as a whole"))
    for pin_x, finding, values in sorted(located, key=lambda item: item[0]):
        width = 7 * len(str(finding.get("id", ""))) + 8
        row = next((n for n, edge in enumerate(row_ends) if edge < pin_x - 2), None)
        if row is None:
            if len(row_ends) < 6:
                row_ends.append(0.0)
                row = len(row_ends) - 1
            else:
                row = min(range(len(row_ends)), key=lambda n: row_ends[n])
        row_ends[row] = pin_x + width
        placed.append((pin_x, row, finding | {"values": values}))
    return placed


def _pin(svg: _Canvas, pin_x: float, row: int, finding: dict[str, Any], bottom: float) -> None:
    check_id = str(finding.get("id", ""))
    label_y = 8 + row * 14
    title = (f"{check_id} {finding.get('level', '')} {finding.get('pointer') or '/'}: {finding.get('message', '')}"
             f" (expected {_text(finding.get('expected'))}, actual {_text(finding.get('actual'))}); {finding['values']}")
    svg.add(f'<g class="hems-pin" data-check="{escape(check_id)}" data-pointer="{escape(finding.get("pointer", ""))}">'
            f"<title>{escape(title)}</title>"
            f'<path d="M{_num(pin_x)},{_num(label_y + 10)}V{_num(bottom)}" stroke="{PIN}" stroke-width="1" '
            f'stroke-dasharray="3 2"/>'
            f'<rect x="{_num(pin_x)}" y="{_num(label_y)}" width="{7 * len(check_id) + 6}" height="12" rx="2" '
            f'fill="{PIN}"/>')
    svg.text(pin_x + 3, label_y + 9.5, check_id, size=9, fill="#fff")
    svg.add("</g>")


def _legend(svg: _Canvas, decisions: list[list[Any]], commands: list[list[Any]], left: float, right: float,
            y: float) -> None:
    entries = [("export W", EXPORT), ("target W", TARGET), ("commanded A", COMMANDED), ("observed A", OBSERVED)]
    kinds = {str(r[1]) for r in decisions}
    entries += [(kind, colour) for kind, (colour, _) in KIND_MARKS.items() if kind in kinds]
    entries += [(kind, colour) for kind, colour in QUIET_KINDS.items() if kind in kinds]
    verdicts = {str(r[3]) for r in commands}
    entries += [(verdict, colour) for verdict, colour in VERDICT_COLOURS.items() if verdict in verdicts]
    at = left
    for name, colour in entries:
        if at + 14 + 5 * len(name) > right:
            at, y = left, y + 12
        svg.add(f'<rect x="{_num(at)}" y="{_num(y - 7)}" width="8" height="8" fill="{colour}"/>')
        svg.text(at + 11, y, name, size=9)
        at += 16 + 5 * len(name)


# --- the HTML around them ---


def _heading(data: dict[str, Any]) -> str:
    ids = sorted({str(f.get("id")) for f in data["findings"]})
    found = (f"; {data['findings_total']} finding(s): {', '.join(ids)}"
             + (f" (first {len(data['findings'])} pinned)" if data["findings_total"] > len(data["findings"]) else "")
             if data["findings_total"] else "")
    clipped = (" (drawn from the first rows only)" if data["rows_total"] != [len(data["decisions"]),
                                                                             len(data["commands"])] else "")
    leaks = data.get("also_served_under", [])
    leaked = (f'<br/><span class="hems-leak">Also served under {len(leaks)} path(s) not its own (a leak): '
              + ", ".join(f"<code>{escape(path)}</code>" for path in leaks) + "</span>" if leaks else "")
    outcome = OUTCOME_WORDS.get(data["outcome"], data["outcome"])
    return (f"{escape(data['label'])}: <b>{escape(outcome)}</b>, {escape(str(data['rows_total'][0]))} "
            f"decision(s), {escape(str(data['rows_total'][1]))} command(s), {escape(start_line(data['started_at']))}"
            f"{clipped}{escape(found)}{leaked}")


def timelines_html(sessions: dict[str, Any]) -> str:
    """The sessions section of a report: each session with findings in full, then one small good session per
    outcome. Empty when no session was drawn."""
    full, good = sessions.get("full", []), sessions.get("by_outcome", [])
    if not full and not good:
        return ""
    out = ['<div class="hems-sessions" id="hems-sessions"><h2>Session timelines</h2>']
    more = sessions.get("sessions_with_findings", 0) - len(full)
    if full:
        out.append(f"<p>{escape(str(sessions.get('sessions_with_findings', len(full))))} session(s) with findings"
                   + (f"; the first {len(full)} are drawn" if more > 0 else "")
                   + ". Hover a marker for its values; a red label is a finding, pinned where its pointer names.</p>")
    out += [f'<div class="hems-session"><h3>{_heading(s)}</h3>{timeline_svg(s)}</div>' for s in full]
    if good:
        out.append('<div class="hems-good"><h3>What a session without findings looks like, per outcome</h3>')
        out += [f'<figure class="hems-small-session">{timeline_svg(s, small=True)}<figcaption>{_heading(s)}'
                f"</figcaption></figure>" for s in good]
        out.append("</div>")
    return "".join(out) + "</div>"


def coverage_html(coverage: dict[str, dict[str, int]]) -> str:
    """The table of what the judged sessions held (sessions by outcome, decisions by kind, ...)."""
    rows = "".join(f"<tr><th>{escape(group)}</th><td>"
                   + (", ".join(f"{escape(_words(value))}: {n}" for value, n in counts.items()) or "none") + "</td></tr>"
                   for group, counts in coverage.items())
    return (f'<div class="hems-coverage"><h2>What the run saw</h2><table class="hems-meta" id="hems-coverage">'
            f"{rows}</table></div>")
