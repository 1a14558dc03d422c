"""Summaries where people look: `summary.md` in every report folder (appended to the GitHub job summary when
`GITHUB_STEP_SUMMARY` is set), and GitHub workflow annotations (`--annotations github`).

Both are rendered from summary.json's data, which is redacted already; the text passes the redactor once
more before it is written, so no secret reaches a job page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conformance.contract.clipping import clip
from conformance.report.baseline import account_lines
from conformance.report.redaction import Redactor
from conformance.report.summary import SEAL_LABEL, every_check, trouble_line, write_report_file

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
LINE_LIMIT = 300  # characters of a finding's message in a summary line or an annotation
# GitHub keeps 1 MiB of a step's summary and shows 10 error and 10 warning annotations per step: a summary.md
# stays well under the first (lists capped, then cut), annotations within the second; the rest points to the report.
SUMMARY_BYTES = 512 * 1024
LIST_KEPT = 100  # lines per list of summary.md
ANNOTATIONS_KEPT = 10  # per kind (error, warning)
_MORE = "in summary.json and report.html of the report folder"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: Any) -> str:
    """Plain text for one line of Markdown: no line breaks, no markup, no HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _failing(summary: dict[str, Any], status: str) -> Iterable[dict[str, Any]]:
    return (check for check in every_check(summary) if check.get("status") == status)


def _first(check: dict[str, Any]) -> str:
    """A check in one line: statement, how many findings, the first one's message (and request id)."""
    first = (check.get("findings") or [{}])[0]
    message = clip(" ".join(str(first.get("message", "")).split()), LINE_LIMIT)
    where = f" at {first['pointer']}" if first.get("pointer") else ""
    request = f" (X-Request-ID {first['request_id']})" if first.get("request_id") else ""
    source = f" in {first['source']}" if first.get("source") else ""
    return (f"{check['statement'].rstrip('.')}: {check['findings_total']} finding(s); first{source}{where}: {message}"
            f"{request}")


def _accepted_count(check: dict[str, Any]) -> str:
    """How many of a check's findings the baseline accepted: all, or only some (the rest fail)."""
    total, accepted = check["findings_total"], check.get("findings_accepted", check["findings_total"])
    if check.get("status") == "failed":
        return f"partly: {accepted} of {total} finding(s) accepted, the other {total - accepted} fail"
    return f"{total} finding(s)"


def render(summary: dict[str, Any], summary_sha256: str = "") -> str:
    """summary.md: verdict, counts, the SHA-256 of summary.json (near the top: a cut never loses it), failing
    checks one line each, accepted ones, the baseline, the run's notes, reproduction."""
    meta = summary.get("metadata", {})
    counts = summary.get("counts", {})
    by_status = ", ".join(f"{n} {status}" for status, n in counts.get("checks", {}).items() if n)
    by_level = ", ".join(f"{n} {level}" for level, n in counts.get("findings_by_level", {}).items())
    lines = [f"## hems-conformance {summary.get('kind', 'run')}: {summary.get('verdict')} "
             f"(exit {summary.get('exit_code')})", ""]
    spec = meta.get("spec", {})
    about = [f"spec {spec.get('title', '')} {spec.get('version', '')}".strip()]
    about += [f"target {meta['target_url']}"] if meta.get("target_url") else []
    about += [f"profile {meta['profile']}, seed {meta['seed']}"] if "profile" in meta else []
    about += [f"strict {'yes' if meta.get('strict') else 'no'}"]
    lines += [_md(" · ".join(about)), "", f"Checks: {by_status or 'none'}; findings: {by_level or 'none'}"]
    lines += ["", f"{SEAL_LABEL} `{summary_sha256}`"] if summary_sha256 else []
    if trouble_line(summary):
        lines += ["", _md(trouble_line(summary)[0].upper() + trouble_line(summary)[1:])]
    if meta.get("target_error"):
        lines += ["", f"**No verdict:** {_md(meta['target_error'])}"]
    for title, status in (("Failing checks", "failed"), ("Warnings", "warning"), ("INFO notes", "info")):
        checks = list(_failing(summary, status))
        if checks:
            lines += ["", f"### {title}", ""]
            lines += _kept([f"- `{_md(c['id'])}` {c['level']}: {_md(_first(c))}" for c in checks])
    lines += _group_lines(summary)
    idle = list(_failing(summary, "not_exercised"))
    if idle:
        lines += ["", "### Not exercised (never met what they judge: not passed)", ""]
        lines += _kept([f"- `{_md(c['id'])}`: needs {_md(c.get('needs', ''))}" for c in idle])
    accepted = [c for c in every_check(summary) if c.get("accepted_by")]  # wholly, or partly on a failed check
    if accepted:
        lines += ["", "### Accepted by the baseline", ""]
        lines += _kept([clip(f"- `{_md(c['id'])}` {_accepted_count(c)}: " + "; ".join(
            f"{_md(e['reason'])} (accept[{e['entry']}], expires {e['expires']})" for e in c.get("accepted_by", [])),
            4 * LINE_LIMIT) for c in accepted])
    problems = [f"- {_md(line)}" for line in account_lines(summary.get("baseline") or {}, accepted=False)]
    if problems:
        lines += ["", "### Baseline", "", *_kept(problems)]
    if summary.get("notes"):  # e.g. a level [judge.levels] lowered: a reader must not take it for the basis's
        lines += ["", "### Notes", "", *_kept([f"- {_md(note)}" for note in summary["notes"]])]
    lines += ["", "### Reproduce", "", "```", str(meta.get("command", "")).replace("```", "'''"), "```"]
    if summary.get("kind") == "run" and any(_failing(summary, "failed")):
        lines += ["", "After a fix, re-send only the failing requests: `hems-conformance replay REPORT_DIR --config "
                  "FILE`; a finding's curl takes a fresh token from `HEMS_TOKEN=$(hems-conformance token --config FILE)`."]
    return "\n".join(lines) + "\n"


def _group_lines(summary: dict[str, Any]) -> list[str]:
    """check: identical findings across payloads, one line per group with its count and first payloads."""
    groups = (summary.get("finding_groups") or {}).get("groups") or []
    lines = [f"- `{_md(g['check'])}` {g['level']} `{_md(g['pointer'] or '/')}` x{g['count']}: "
             f"{_md(clip(g['message'], LINE_LIMIT))}"
             + (f" (accepted by {g['accepted_by']})" if g.get("accepted_by") else "")
             + f"; first in {_md(', '.join(g['locations']))}" for g in groups]
    other = [f"- `{_md(o['check'])}` {o['level']}: {o['count']} more finding(s) in other groups"
             + (f" (accepted by {o['accepted_by']})" if o.get("accepted_by") else "")
             for o in (summary.get("finding_groups") or {}).get("other") or []]
    return ["", "### Findings by group (identical across payloads)", "", *_kept(lines + other)] if lines else []


def _kept(lines: list[str]) -> list[str]:
    """A list of summary.md, its first LIST_KEPT lines and a line saying how many more there are."""
    if len(lines) <= LIST_KEPT:
        return lines
    return [*lines[:LIST_KEPT], f"- ... and {len(lines) - LIST_KEPT} more {_MORE}"]


def _capped(text: str) -> str:
    """summary.md within SUMMARY_BYTES (GitHub keeps 1 MiB of a step's summary), cut at a line."""
    if len(text.encode("utf-8")) <= SUMMARY_BYTES:
        return text
    head = text.encode("utf-8")[:SUMMARY_BYTES - 1024].decode("utf-8", "ignore").rsplit("\n", 1)[0]
    return f"{head}\n\n... summary.md cut at {SUMMARY_BYTES // 1024} KiB: the rest is {_MORE}\n"


def write_markdown(path: Path, summary: dict[str, Any], redactor: Redactor, summary_sha256: str = "") -> None:
    """summary.md at `path`, and appended to $GITHUB_STEP_SUMMARY when that is set."""
    text = _capped(redactor.text(render(summary, summary_sha256)))
    write_report_file(path, text)
    step_summary = os.environ.get(STEP_SUMMARY)
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError:  # a job summary that cannot be written is no reason to lose the verdict
            pass


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub's workflow-command escaping (data: %, CR, LF; property values also : and ,)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def github_annotations(summary: dict[str, Any], redactor: Redactor) -> list[str]:
    """GitHub annotations: `::error` per failing check, `::warning` per check with SHOULD warnings, `::notice` per
    check with INFO notes and per check not exercised (sibling routes' checks included), one per baseline entry
    that needs work (an error if stale or expired, a warning if it expires soon, a notice if unobserved or without
    a reason), and one when the run reached no verdict."""
    out = []
    for status, command in (("failed", "error"), ("warning", "warning"), ("info", "notice")):
        for check in _failing(summary, status):
            message = f"{check['id']} {check['level']}: {_first(check)}"
            out.append(f"::{command} title={_escape(check['id'], property_value=True)}::{_escape(message)}")
    for check in _failing(summary, "not_exercised"):
        message = f"{check['id']} not exercised: needs {check.get('needs', '')}"
        out.append(f"::notice title={_escape(check['id'], property_value=True)}::{_escape(message)}")
    for line in account_lines(summary.get("baseline") or {}, accepted=False):  # none without a baseline
        command = "error" if line.startswith(("stale:", "expired:")) else "warning" if \
            line.startswith("expires soon:") else "notice"
        out.append(f"::{command} title=baseline::{_escape(line)}")
    error = summary.get("metadata", {}).get("target_error")
    if error:
        out.insert(0, f"::error title=hems-conformance::{_escape('no verdict: ' + error)}")
    return [redactor.text(line) for line in _annotations_kept(out)]


def _annotations_kept(lines: list[str]) -> list[str]:
    """At most ANNOTATIONS_KEPT of each kind (GitHub shows no more per step): the last one kept says how many
    more there are and where they are."""
    kept: list[str] = []
    for command in ("error", "warning", "notice"):
        mine = [line for line in lines if line.startswith(f"::{command} ")]
        if len(mine) > ANNOTATIONS_KEPT:
            more = len(mine) - ANNOTATIONS_KEPT + 1
            mine = [*mine[:ANNOTATIONS_KEPT - 1],
                    f"::{command} title=hems-conformance::{more} more {command}(s) {_escape(_MORE)}"]
        kept += mine
    return kept
