"""The HTML report: one page for `run` and `check` alike (and the pieces the pytest route's pytest-html hooks use).

Both render the summary data of `summary.py`: the verdict banner and the metadata on top, a table of
the whole catalogue and the live cases, and for each finding the request, the response (headers and a
pretty-printed body window with the offending JSON pointer marked), expected vs actual and a `curl`
reproduction. Everything is escaped and inlined: one file that opens offline, with no external assets.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from conformance.report.baseline import account_lines
from conformance.report.proof import proof_html
from conformance.report.summary import SEAL_LABEL, every_check, trouble_line
from conformance.report.timeline import coverage_html, timelines_html

STYLE = """
body { display: flex; flex-direction: column; }
body > #title { order: -3; }
body > p:first-of-type { order: -2; }
body > .summary { order: -1; }
body > * { max-width: 100%; min-width: 0; box-sizing: border-box; }
code { overflow-wrap: anywhere; }
.hems-banner { font-size: 18px; font-weight: bold; padding: 10px 14px; margin: 6px 0 12px; border-radius: 4px;
  color: #fff; }
.hems-banner small { font-weight: normal; font-size: 13px; margin-left: 12px; }
.hems-verdict-0 { background: #2e7d32; } .hems-verdict-1 { background: #c62828; }
.hems-verdict-2, .hems-verdict-3 { background: #ef6c00; }
.hems-attention h3 { font-size: 13px; margin: 8px 0 2px; } .hems-attention ul { margin: 2px 0 6px; }
.hems-attention li { color: #222; overflow-wrap: anywhere; }
table.hems-meta { margin-bottom: 12px; color: #222; table-layout: fixed; width: 100%; }
table.hems-meta th { text-align: left; padding: 3px 12px 3px 0; vertical-align: top; white-space: nowrap; width: 11em; }
table.hems-meta td { padding: 3px 0; overflow-wrap: anywhere; }
.hems-finding { border-left: 4px solid #c62828; padding: 6px 10px; margin: 8px 0; background: #fff8f8; color: #222; }
.hems-finding.lvl-SHOULD, .hems-finding.lvl-INFO { border-color: #ef6c00; background: #fffaf2; }
.hems-finding-head { font-size: 13px; } .hems-finding p { margin: 4px 0; }
table.hems-ev { table-layout: fixed; width: 100%; }
table.hems-ev th { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; white-space: nowrap; width: 7em; }
table.hems-ev td, table.hems-ev th { border: none; } table.hems-ev td { overflow-wrap: anywhere; }
pre.hems-body, pre.hems-curl, pre.hems-headers { background: #f4f4f4; padding: 6px; margin: 4px 0;
  white-space: pre-wrap; word-break: break-all; color: #222; }
pre.hems-body .ln { color: #999; display: inline-block; width: 3.5em; text-align: right; margin-right: 8px; }
pre.hems-body mark { background: #ffe082; }
.status-failed { color: #c62828; font-weight: bold; } .status-warning { color: #ef6c00; font-weight: bold; }
.status-passed { color: #2e7d32; } .status-skipped { color: #777; } .status-info { color: #1565c0; }
.status-not_exercised { color: #6a1b9a; font-style: italic; }
.hems-noproof { color: #c62828; font-weight: bold; } .hems-proof { font-size: 11px; }
.hems-session { margin: 10px 0 18px; } .hems-session h3, .hems-good h3 { font-size: 13px; font-weight: normal;
  overflow-wrap: anywhere; }
.hems-good { display: flex; flex-wrap: wrap; gap: 8px 18px; } .hems-good h3 { flex-basis: 100%; }
figure.hems-small-session { margin: 0; max-width: 100%; }
figure.hems-small-session figcaption { font-size: 11px; max-width: 480px; overflow-wrap: anywhere; }
svg.hems-timeline { display: block; max-width: 100%; height: auto; }
.hems-leak { color: #c62828; }
td.col-statement, td.col-citation { font-size: 11px; color: #333; }
.hems-spec li, .hems-notes li { color: #222; overflow-wrap: anywhere; }
table.hems-catalogue { width: 100%; table-layout: fixed; border-collapse: collapse; }
table.hems-catalogue td, table.hems-catalogue th { border: 1px solid #e6e6e6; padding: 4px 6px; vertical-align: top;
  text-align: left; color: #222; overflow-wrap: anywhere; }
table.hems-catalogue col.c-id { width: 6.5em; } table.hems-catalogue col.c-level { width: 5.5em; }
table.hems-catalogue col.c-basis { width: 6em; } table.hems-catalogue col.c-statement { width: 24%; }
table.hems-catalogue col.c-citation { width: 20%; } table.hems-catalogue col.c-judged { width: 6.5em; }
@media print {
  @page { size: A4 portrait; margin: 12mm 10mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { display: block; font-size: 9px; }
  .filters, .collapse, #show_all_details, #hide_all_details, .summary__reload, .controls { display: none !important; }
  .hems-banner { font-size: 14px; }
  .hems-banner, table.hems-meta tr, .hems-coverage, svg.hems-timeline, figure.hems-small-session,
    tr.hems-row, .hems-attention li { break-inside: avoid; }
  .hems-session { break-inside: avoid; margin: 4px 0 8px; }
  h2, h3 { break-after: avoid; }
  table.hems-catalogue td, table.hems-catalogue th { padding: 2px 3px; font-size: 8px; }
  table.hems-catalogue col.c-id { width: 5.6em; } table.hems-catalogue col.c-level { width: 5.2em; }
  table.hems-catalogue col.c-basis { width: 5.4em; } table.hems-catalogue col.c-judged { width: 6em; }
  td.col-statement, td.col-citation, .hems-proof { font-size: 8px; }
  .hems-finding { padding: 3px 6px; margin: 4px 0; }
}
"""


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"<code>{escape(text)}</code>"


STATUS_WORDS = {"not_exercised": "not exercised"}  # a status as people read it (summary.json keeps the key)


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def banner(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    checks = ", ".join(f"{n} {status_words(status)}" for status, n in counts["checks"].items())
    levels = ", ".join(f"{n} {level}" for level, n in counts["findings_by_level"].items()) or "no findings"
    return (f'<div class="hems-banner hems-verdict-{summary["exit_code"]}" id="hems-verdict">'
            f'{escape(summary["verdict"].upper())} <small>exit {summary["exit_code"]} · checks: {escape(checks)} · '
            f'findings: {escape(levels)}</small></div>')


# What a reader looks at first, in this order: (status, heading), each check linked to its row in the tables.
ATTENTION = (("failed", "Failed"), ("warning", "Warnings (SHOULD findings)"),
             ("not_exercised", "Not exercised (judged nothing they could fail on)"),
             ("accepted", "Accepted by the baseline"), ("skipped", "Skipped"))


def attention_list(summary: dict[str, Any], *, linked: bool = True) -> str:
    """The checks to look at, grouped by status, each linked to its row (`linked`: pytest-html's rows have no
    anchors): failed, warnings, not exercised, accepted, skipped (a check that failed with some findings
    accepted stays under failed)."""
    checks = every_check(summary)
    groups = []
    for status, heading in ATTENTION:
        items = "".join((f'<li><a href="#check-{escape(c["id"])}">{escape(c["id"])}</a> ' if linked else
                         f'<li><b>{escape(c["id"])}</b> ') + f'{escape(c["level"])}: '
                        f'{escape(c["statement"])} <i>— {escape(_why(c))}</i></li>'
                        for c in checks if c.get("status") == status)
        if items:
            count = sum(c.get("status") == status for c in checks)
            groups.append(f'<h3 id="hems-{status.replace("_", "-")}">{heading} ({count})</h3><ul>{items}</ul>')
    body = "".join(groups) or "<p>Every check passed or only noted information.</p>"
    return f'<div class="hems-attention" id="hems-attention"><h2>Checks to look at</h2>{body}</div>'


def _why(check: dict[str, Any]) -> str:
    """What a check of the list at the top needs or found, its status being the heading above it."""
    if check["status"] == "skipped":
        return str(check["skip_reason"])
    if check["status"] == "not_exercised":
        return f"needs {check['needs']}"
    accepted = "".join(f"; accepted until {e['expires']}: {e['reason']}" for e in check.get("accepted_by", []))
    return f"{check['findings_total']} finding(s){accepted}"


def metadata_table(summary: dict[str, Any]) -> str:
    meta = summary["metadata"]
    spec = meta["spec"]
    rows = [("Target", meta.get("target_url")), ("Inputs", " ".join(meta.get("inputs", [])) or None),
            ("Spec", f"{spec['title']} {spec['version']}"), ("Spec SHA-256", spec["sha256"]),
            ("Spec file", spec["path"]), ("Suite", f"{meta['suite']} {meta['suite_version']}"),
            ("Profile", meta.get("profile")), ("Seed", meta.get("seed")), ("Strict", "yes" if meta["strict"] else "no"),
            ("Started (UTC)", meta["started_at"]), ("Duration", f"{meta['duration_s']:.1f} s"),
            ("Readings", json.dumps(meta["readings"]) if meta["readings"] else "the catalogue's defaults"),
            ("Stopped", meta.get("target_error") or None), ("Transient trouble", trouble_line(summary) or ("none absorbed" if "transient" in summary else None))]
    cells = "".join(f"<tr><th>{name}</th><td>{escape(str(value))}</td></tr>" for name, value in rows if value is not None)
    cells += f'<tr><th>Reproduce</th><td>{_code(meta["command"])}</td></tr>'
    return f'<table class="hems-meta" id="hems-metadata">{cells}</table>'


def spec_and_notes(summary: dict[str, Any]) -> str:
    out = []
    if summary.get("spec_findings"):
        items = "".join(
            f"<li>{escape(s['message'])} ({s['count']}×"
            + (f"; e.g. {escape(s['example']['method'])} {escape(s['example']['url'])} → {s['example']['status']}"
               if s.get("example") else "") + ")</li>" for s in summary["spec_findings"])
        out.append(f'<div class="hems-spec"><h2>Findings about the spec (information, outside the verdict)</h2>'
                   f"<ul>{items}</ul></div>")
    if summary.get("notes"):
        out.append('<div class="hems-notes"><h2>Notes</h2><ul>'
                   + "".join(f"<li>{escape(n)}</li>" for n in summary["notes"]) + "</ul></div>")
    if summary.get("baseline"):
        out.append(f'<div class="hems-notes" id="hems-baseline"><h2>Baseline ({escape(summary["baseline"]["file"])})'
                   f"</h2><ul>{''.join(f'<li>{escape(line)}</li>' for line in account_lines(summary['baseline']))}"
                   "</ul></div>")
    return "".join(out)


def evidence_sections(summary: dict[str, Any]) -> str:
    """What the run saw (the coverage table) and its sessions drawn as timelines; empty for older summaries."""
    coverage = coverage_html(summary["coverage"]) if summary.get("coverage") else ""
    return coverage + timelines_html(summary.get("sessions") or {})


def finding_groups_html(summary: dict[str, Any]) -> str:
    """check: identical findings across payloads, one row per group (summary.json's finding_groups)."""
    data = summary.get("finding_groups") or {}
    rows = "".join(f"<tr><td>{escape(g['check'])}</td><td>{escape(g['level'])}</td><td>{_code(g['pointer'] or '/')}</td>"
                   f"<td>{escape(g['message'])}</td><td>{g['count']}</td>"
                   f"<td>{', '.join(_code(loc) for loc in g['locations'])}"
                   f"{' and more' if g['count'] > len(g['locations']) else ''}</td></tr>"
                   for g in data.get("groups") or [])
    rows += "".join(f"<tr><td>{escape(o['check'])}</td><td>{escape(o['level'])}</td><td></td>"
                    f"<td>in other groups</td><td>{o['count']}</td><td></td></tr>" for o in data.get("other") or [])
    return ('<h2>Findings by group</h2><table class="hems-groups" id="hems-groups"><thead><tr><th>ID</th><th>Level</th>'
            "<th>Pointer</th><th>Message</th><th>Findings</th><th>First payloads</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>") if rows else ""


def excerpt_html(excerpt: dict[str, Any]) -> str:
    start, (low, high) = excerpt["first_line"], excerpt["marked"] or (0, -1)
    lines = []
    for number, line in enumerate(excerpt["lines"], start=start):
        text = f'<span class="ln">{number}</span>{escape(line)}'
        lines.append(f"<mark>{text}</mark>" if low <= number <= high else text)
    if excerpt["more"]:
        lines.append('<span class="ln">…</span>')
    if start > 1:
        lines.insert(0, '<span class="ln">…</span>')
    return '<pre class="hems-body">' + "\n".join(lines) + "</pre>"


def _one_line(finding: dict[str, Any]) -> str:
    request, response = finding.get("request"), finding.get("response")
    where = finding.get("source") or (f"{request['method']} {request['url']} → {response['status']}"
                                      if request and response else "")
    if finding.get("requests", 1) > 1:
        where += f" and {finding['requests'] - 1} more request(s)"
    return (f"<li>{escape(finding['level'])} {_code(finding['pointer'] or '/')}: {escape(finding['message'])}"
            + (f" <small>[{escape(where)}]</small>" if where else "") + "</li>")


def finding_html(finding: dict[str, Any]) -> str:
    """One finding with its evidence: the request, the response, expected vs actual, a reproduction."""
    rows = [("Expected", _code(finding["expected"])), ("Actual", _code(finding["actual"]))]
    request, response = finding.get("request"), finding.get("response")
    if finding.get("source"):
        rows.append(("Payload", escape(finding["source"])))
    if request:
        note = f" <small>({escape(request['note'])})</small>" if request.get("note") else ""
        rows.append(("Request", f"{escape(request['method'])} {_code(request['url'])}{note}"))
    if response:
        timing = f" · {response['elapsed_ms']} ms" if "elapsed_ms" in response else ""
        rows.append(("Response", f"HTTP {response['status']}{timing}"))
    if finding.get("requests", 1) > 1:
        seen = "".join(f"<li>{escape(s['method'])} {_code(s['url'])} → {s['status']}"
                       + (f" <small>({escape(s['note'])})</small>" if s.get("note") else "") + "</li>"
                       for s in finding.get("seen_in", []))
        listed = len(finding.get("seen_in", []))
        more = f"<li>{finding['requests'] - listed} more</li>" if finding["requests"] > listed else ""
        rows.append(("Seen in", f"{finding['requests']} requests<ul>{seen}{more}</ul>"))
    if finding.get("also"):
        rows.append(("Same cause", "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in finding["also"]) + "</ul>"))
    table = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    parts = [f'<div class="hems-finding lvl-{escape(finding["level"])}">',
             f'<div class="hems-finding-head"><b>{escape(finding["id"])}</b> {escape(finding["level"])} '
             f'{_code(finding["pointer"] or "/")}</div>',
             f"<p>{escape(finding['message'])}</p>", f'<table class="hems-ev">{table}</table>']
    if response and response.get("headers"):
        headers = "\n".join(f"{name}: {value}" for name, value in response["headers"].items())
        parts.append(f'<details><summary>Response headers</summary><pre class="hems-headers">{escape(headers)}'
                     "</pre></details>")
    if finding.get("excerpt"):
        label = "Response body" if response else "Payload"
        parts.append(f"<div>{label} around {_code(finding['excerpt']['pointer'] or '/')}:</div>"
                     + excerpt_html(finding["excerpt"]))
    if finding.get("curl"):
        parts.append('<div>Reproduce (HEMS_TOKEN=$(hems-conformance token --config FILE) gives a fresh token; for a token '
                     'request export HEMS_CLIENT_SECRET and '
                     f'HEMS_PASSWORD):</div><pre class="hems-curl">{escape(finding["curl"])}</pre>')
    return "".join(parts) + "</div>"


def findings_html(check: dict[str, Any]) -> str:
    findings = check["findings"]
    full = [finding_html(f) for f in findings if "excerpt" in f]
    rest = "".join(_one_line(f) for f in findings if "excerpt" not in f)
    more = check["findings_total"] - len(findings)
    tail = f"<ul>{rest}</ul>" if rest else ""
    if more > 0:
        tail += f"<p>{more} more finding(s) counted; evidence is kept for the first {len(findings)}.</p>"
    return "".join(full) + tail


def status_text(check: dict[str, Any]) -> str:
    if check["status"] == "skipped":
        return f"skipped: {check['skip_reason']}"
    if check["status"] == "not_exercised":
        return f"{status_words(check['status'])}: needs {check['needs']}"
    accepted = "".join(f"; accepted until {e['expires']}: {e['reason']}" for e in check.get("accepted_by", []))
    if check["status"] == "failed" and check.get("accepted_by"):  # a partial acceptance: say how much
        accepted = f"; {check.get('findings_accepted', 0)} accepted{accepted}"
    if check["findings_total"]:
        return f"{status_words(check['status'])} ({check['findings_total']} finding(s){accepted})"
    return status_words(check["status"])


# --- the page ---


def report_page(summary: dict[str, Any], summary_sha256: str = "") -> str:
    """The whole report of `run` or `check` as one self-contained page (no script needed), read top-down: banner,
    the checks to look at, metadata (and the SHA-256 of the summary.json it was written with), one row per check
    with its evidence, the findings about the spec and the notes, then what the run saw and its sessions; one set
    of counts."""
    siblings = summary["siblings"] if isinstance(summary.get("siblings"), dict) else {}
    sibling_rows = _check_rows(siblings.get("checks") or [])
    sibling_table = (f'<h2>Sibling routes ({escape(str(siblings.get("contract", "spec/siblings.yaml")))})</h2>'
                     f'<table class="hems-catalogue hems-siblings" id="hems-siblings">'
                     f'{_HEAD.format(judged="Responses judged")}<tbody>{sibling_rows}</tbody></table>'
                     if sibling_rows else "")
    errors = summary.get("input_errors", [])
    error_list = "".join(f"<li>{_code(e['source'])}: {escape(e['message'])}</li>" for e in errors)
    meta = summary["metadata"]
    title = f"hems-conformance {summary['kind']}: {meta['spec']['title']} {meta['spec']['version']}"
    judged = "Responses judged" if summary["kind"] == "run" else "Payloads judged"
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"/>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"/><title>{escape(title)}</title>'
            f"<style>body {{ font-family: Helvetica, Arial, sans-serif; font-size: 12px; }}{STYLE}</style></head>"
            f'<body><h1 id="title">{escape(title)}</h1>{banner(summary)}{attention_list(summary)}'
            + (f"<h2>Input errors ({summary['counts']['input_errors']})</h2><ul>{error_list}</ul>" if errors else "")
            + f"{metadata_table(summary)}{_seal(summary_sha256)}{finding_groups_html(summary)}"
            f'<h2>Catalogue</h2><table class="hems-catalogue" id="hems-catalogue">{_HEAD.format(judged=judged)}'
            f"<tbody>{_check_rows(summary['checks'])}</tbody></table>{sibling_table}{spec_and_notes(summary)}"
            f"{evidence_sections(summary)}</body></html>\n")


def _seal(summary_sha256: str) -> str:
    return f'<p class="hems-seal">{SEAL_LABEL} <code>{escape(summary_sha256)}</code></p>' if summary_sha256 else ""


_HEAD = ('<colgroup><col class="c-id"/><col class="c-level"/><col class="c-basis"/><col class="c-statement"/>'
         '<col class="c-citation"/><col class="c-status"/><col class="c-judged"/><col class="c-proof"/></colgroup>'
         "<thead><tr><th>ID</th><th>Level</th><th>Basis</th><th>Statement</th><th>Spec citation</th><th>Status</th>"
         "<th>{judged}</th><th>Proof it can fail</th></tr></thead>")


def _check_rows(checks: list[dict[str, Any]]) -> str:
    """One row per check with its evidence below it (the catalogue's table and the sibling routes' alike)."""
    rows = []
    for check in checks:
        rows.append(f'<tr class="hems-row" id="check-{escape(check["id"])}"><td>{escape(check["id"])}</td>'
                    f"<td>{escape(check['level'])}</td><td>{escape(check['basis'])}</td>"
                    f"<td>{escape(check['statement'])}</td>"
                    f"<td><small>{escape(check['citation'])}</small></td>"
                    f'<td class="col-status status-{check["status"]}">{escape(status_text(check))}</td>'
                    f"<td>{check['judged']}</td><td class=\"col-proof\">{proof_html(check.get('proof', {}))}</td></tr>")
        if check["findings"]:
            rows.append(f'<tr class="hems-evidence"><td colspan="8">{findings_html(check)}</td></tr>')
    return "".join(rows)
