"""`hems-conformance report compare OLD NEW`: what changed between two runs' summary.json files."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import jsonschema

from conformance.contract.clipping import printable
from conformance.contract.levels import Level
from conformance.errors import InputError
from conformance.report.html import STYLE, status_words
from conformance.report.records import Status
from conformance.report.summary import (
    RUNNING,
    SUMMARY,
    SUMMARY_FORMAT,
    every_check,
    finding_line,
    first_request,
    write_report_file,
)
from conformance.report.timeline import CLEAN_KEPT, timeline_svg


def load_summary(path: str) -> dict[str, Any]:
    """A summary.json, given as the file or the report folder holding it; InputError if unreadable."""
    file = Path(path)
    if file.is_dir():
        file = file / SUMMARY
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{file}: not a summary.json: {exc}") from None
    except RecursionError:
        raise InputError(f"{file}: not a summary.json: nested too deeply to parse") from None
    if isinstance(summary, dict) and summary.get("format") == SUMMARY_FORMAT and summary.get("verdict") == RUNNING:
        raise InputError(f"{file}: the run never finished (verdict {RUNNING}: still running, or killed)")
    if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT or \
            not isinstance(summary.get("checks"), list):
        raise InputError(f"{file}: not a hems-conformance summary.json (format {SUMMARY_FORMAT})")
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_SHAPE).iter_errors(summary))
    if problem is not None:
        where = "/" + "/".join(map(str, problem.absolute_path))
        raise InputError(f"{file}: not a hems-conformance summary.json: at {where}: {problem.message[:200]}")
    return summary


_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_SCALAR = {"type": ["string", "number", "boolean", "null"], "minimum": -1e300, "maximum": 1e300}
_ROW = {"type": "array", "minItems": 7, "prefixItems": [{"type": ["number", "null"], "minimum": -1e300,
                                                         "maximum": 1e300}], "items": _SCALAR}
# A drawn session (timeline.session_data), as `report compare --html` draws it.
_SESSION = {"type": "object",
            "required": ["key", "label", "outcome", "started_at", "ended_s", "rows_total", "decisions", "commands",
                         "findings_total", "findings"],
            "properties": {"key": _TEXT, "label": _TEXT, "outcome": _TEXT, "started_at": _MAYBE_TEXT,
                           "ended_s": {"type": ["number", "null"], "minimum": -1e300, "maximum": 1e300},
                           "rows_total": {"type": "array", "items": _COUNT, "minItems": 2, "maxItems": 2},
                           "decisions": {"type": "array", "items": _ROW}, "commands": {"type": "array", "items": _ROW},
                           "findings_total": _COUNT,
                           "findings": {"type": "array", "items": {
                               "type": "object", "required": ["id", "pointer"],
                               "properties": {"id": _TEXT, "pointer": _TEXT, "level": _MAYBE_TEXT,
                                              "message": _TEXT}}}}}
# The parts of summary.json that `compare` reads, and their shapes.
_SHAPE = {
    "type": "object",
    "properties": {
        "verdict": _MAYBE_TEXT,
        "exit_code": {"type": ["integer", "null"]},
        "metadata": {"type": "object", "properties": {"strict": {"type": "boolean"}}},
        "checks": {"type": "array", "items": {
            "type": "object", "required": ["id", "status"],
            "properties": {"id": _TEXT, "status": _TEXT, "findings_total": {"type": "integer"},
                           "findings": {"type": "array", "items": {
                               "type": "object",
                               "properties": {"id": _TEXT, "level": _MAYBE_TEXT, "pointer": _MAYBE_TEXT,
                                              "message": _TEXT, "source": _MAYBE_TEXT,
                                              "request": {"type": ["object", "null"], "required": ["method", "url"],
                                                          "properties": {"method": _TEXT, "url": _TEXT}}}}}}}},
        "sessions": {"type": ["object", "null"], "properties": {
            "sessions_with_findings": _COUNT, "full": {"type": "array", "items": _SESSION},
            "by_outcome": {"type": "array", "items": _SESSION}, "clean": {"type": "array", "items": _SESSION}}},
    },
}


_ORIGIN = re.compile(r"https?://[^/\s\"']+")


def finding_key(finding: dict[str, Any]) -> tuple[str, ...]:
    """What makes two findings the same across runs: check, place, message and payload or request (host and
    port dropped, so two runs of a deployment on different ports compare)."""
    request = first_request(finding)
    where = finding.get("source") or f"{request.get('method', '')} {_ORIGIN.sub('', request.get('url', ''))}"
    return (finding.get("id", ""), finding.get("pointer", ""), _ORIGIN.sub("", finding.get("message", "")), where)


def _by_check_and_pointer(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (str(f.get("id", "")), str(f.get("pointer", ""))))


@dataclass
class Comparison:
    old: dict[str, Any]
    new: dict[str, Any]
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    fixed_findings: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (check id, old status, new status)
    worse: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sessions: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"warning: {w}" for w in self.warnings]
        out.append(f"verdict: {self.old.get('verdict')} -> {self.new.get('verdict')}")
        out += [f"changed: {check} {status_words(before)} -> {status_words(after)}" for check, before, after in self.changed]
        out += [f"session changed: {key}: {_checks(old)} -> {_checks(new)}" for key, old, new in self.sessions]
        out += [f"new: {finding_line(f)}" for f in _by_check_and_pointer(self.new_findings)]
        out += [f"fixed: {finding_line(f)}" for f in _by_check_and_pointer(self.fixed_findings)]
        tail = "; ".join(self.worse) if self.worse else "nothing got worse"
        out.append(f"{len(self.new_findings)} new finding(s), {len(self.fixed_findings)} fixed, "
                   f"{len(self.changed)} changed verdict(s): {tail}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"old_verdict": self.old.get("verdict"), "new_verdict": self.new.get("verdict"),
                "changed": [{"id": c, "old": o, "new": n} for c, o, n in self.changed],
                "new_findings": self.new_findings, "fixed_findings": self.fixed_findings, "worse": self.worse,
                "sessions_changed": [{"key": key, "old": _checks(old), "new": _checks(new)}
                                     for key, old, new in self.sessions],
                "warnings": self.warnings, "exit_code": 1 if self.worse else 0}


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """New and fixed findings and changed check verdicts from OLD to NEW; `worse` says what newly fails.

    Evidence is capped per check, so a finding missing from a capped check's list may simply not have been
    kept: such a check only counts as worse through its verdict, never through one finding.
    """
    result = Comparison(old, new)
    if old.get("kind") != new.get("kind"):
        result.warnings.append(f"comparing a {old.get('kind')} summary with a {new.get('kind')} one: their findings "
                               "name requests and payloads, so none match")
    strict = bool(new.get("metadata", {}).get("strict"))
    before = {c["id"]: c for c in every_check(old) if isinstance(c, dict) and "id" in c}
    if old.get("exit_code") == 0 and new.get("exit_code") not in (0, None):
        result.worse.append(f"verdict {old.get('verdict')} -> {new.get('verdict')}")
    for check in (c for c in every_check(new) if isinstance(c, dict) and "id" in c):
        previous = before.pop(check["id"], {"status": "absent", "findings": [], "findings_total": 0})
        if previous["status"] != check["status"]:
            result.changed.append((check["id"], previous["status"], check["status"]))
            if check["status"] == Status.FAILED.value:
                result.worse.append(f"{check['id']} now fails")
        old_keys = {finding_key(f): f for f in previous.get("findings", [])}
        new_keys = {finding_key(f): f for f in check.get("findings", [])}
        complete = previous.get("findings_total", 0) <= len(previous.get("findings", []))
        added = [f for key, f in new_keys.items() if key not in old_keys]
        result.new_findings += added
        if complete and previous["status"] == check["status"] == Status.FAILED.value \
                and any(_fails(f, strict) for f in added):
            result.worse.append(f"{check['id']} fails in new ways")
        result.fixed_findings += [f for key, f in old_keys.items() if key not in new_keys]
    for check in before.values():  # checks NEW does not have (another suite version): not "fixed", just gone
        result.changed.append((check["id"], check["status"], "absent"))
    result.sessions = changed_sessions(old, new)
    return result


def _drawn(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    sessions = summary.get("sessions") or {}
    return {s["key"]: s for s in [*sessions.get("clean", []), *sessions.get("by_outcome", []), *sessions.get("full", [])]}


def _checks(session: dict[str, Any] | None) -> str:
    if session is None:
        return "not drawn"
    return ", ".join(sorted({f["id"] for f in session["findings"]})) or "no findings"


def _signature(session: dict[str, Any] | None) -> Any:
    if session is None:
        return None
    return (sorted((f["id"], f["pointer"]) for f in session["findings"]), session["decisions"], session["commands"])


def changed_sessions(old: dict[str, Any],
                     new: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """(key, old session, new session) for each session drawn in either run whose findings or rows differ; a
    session drawn in one run only (its findings came or went) counts as changed."""
    before, after = _drawn(old), _drawn(new)
    return [(key, before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())
            if _signature(before.get(key)) != _signature(after.get(key))]


def _side(session: dict[str, Any] | None) -> str:
    """One run's side of a changed session: its timeline, or why that run's summary holds none."""
    if session is None:
        return (f"<p>Not in this run's summary: without findings there (a run keeps {CLEAN_KEPT} sessions without "
                "findings besides one per outcome), or not read.</p>")
    return (f"<p>{escape(_checks(session))}</p>{timeline_svg(session)}")


def compare_page(result: Comparison, old_path: str, new_path: str) -> str:
    """The comparison as one self-contained page: its lines, then each changed session's timelines side by side."""
    rows = "".join(
        f'<tr class="hems-changed-session"><th colspan="2">{escape(key)}</th></tr><tr>'
        + "".join(f"<td>{_side(s)}</td>" for s in (old, new)) + "</tr>"
        for key, old, new in result.sessions)
    lines = "\n".join(result.lines())
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"/><title>hems-conformance report compare</title>'
            f"<style>body {{ font-family: Helvetica, Arial, sans-serif; font-size: 12px; }}{STYLE}"
            "table.hems-side td { vertical-align: top; width: 50%; } pre.hems-lines { white-space: pre-wrap; }"
            "</style></head><body>"
            f'<h1>compare {escape(old_path)} → {escape(new_path)}</h1><pre class="hems-lines">{escape(lines)}</pre>'
            f"<h2>Sessions that changed ({len(result.sessions)})</h2>"
            f'<table class="hems-side"><tr><th>{escape(old_path)}</th><th>{escape(new_path)}</th></tr>{rows}</table>'
            "</body></html>\n")


def _fails(finding: dict[str, Any], strict: bool) -> bool:
    try:
        return Level(str(finding.get("level"))).fails(strict)
    except ValueError:
        return False


def compare_command(old_path: str, new_path: str, output: str, html: str | None = None) -> int:
    """`hems-conformance report compare`: 0 nothing got worse, 1 something new fails, 2 unreadable input."""
    result = compare(load_summary(old_path), load_summary(new_path))
    if html:
        try:
            write_report_file(Path(html), compare_page(result, old_path, new_path))
        except OSError as exc:
            raise InputError(f"{html}: cannot write: {exc.strerror or exc}") from None
    if output == "json":
        for warning in result.warnings:
            print(printable(f"hems-conformance: warning: {warning}"), file=sys.stderr)
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(printable(f"compare {old_path} -> {new_path}"))
        for line in result.lines():
            print(printable(line))
    return 1 if result.worse else 0
