"""`hems-conformance replay REPORT_DIR [CHECK_ID ...]`: re-send the requests behind a recorded run's failing
findings and judge the answers again with the same checks. A developer fixing one bug gets an answer in seconds.
Every finding counts, not only those kept as evidence: summary.json's `replay` section records the request behind
each (a report without it offers its kept findings, the rest counted as not replayable), and the last line says
"k of n finding(s) replayed" with n the failing checks' findings in summary.json.

A report is untrusted input (it travels as a CI artefact anyone may edit), and replay sends fresh credentials:
they come only from the target config given with `--config`, never from a path the report names. Every URL is
rebuilt from that config's base_url plus the recorded path and query, after refusing `..` segments, userinfo,
any origin other than the recorded target's and any path off the routes a run sends that method to (exit 2, before
anything is sent); only the methods a run sends go out, with no recorded header but the case files' own probes, and
at most `--max-requests` requests. The spec is the pinned one or `--spec`, never a path the report names.
Catalogue invariants and the live checks judged on every response can be judged from one answer, and so can a
procedure's finding about one answer's status (OBJ-003: one GET answered 200), by the statuses the run recorded
beside it (without the procedure's other requests: a moved session's control read is not repeated); any other
finding of a procedure (a sequence of requests) is reported as not replayable and does not count as fixed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.clipping import clip, printable
from conformance.contract.cross import LIST_PATH
from conformance.contract.spec import SESSION_PATH, load_contract
from conformance.errors import UsageError
from conformance.live.registry import LiveCheck, load_checks
from conformance.live.response_checks import Request, ResponseContext, catalogue_check
from conformance.live.runner import LiveRun, RunOptions
from conformance.live.target import joined, load_target
from conformance.report.baseline import session_of_url
from conformance.report.compare import load_summary
from conformance.report.records import REPLAY_PER_CHECK, TRANSPORT_HEADERS, Exchange, Status, Statuses

FIXED, FAILING, UNKNOWN = "fixed", "still failing", "not replayable"
_REDACTED = "[REDACTED]"
MAX_REQUESTS = 1000  # the most findings one replay re-sends, whatever the report or --max-requests says


@dataclass(frozen=True)
class Outcome:
    check: str
    status: str
    what: str  # the request as sent (or, not sent, as recorded), in one line
    detail: str
    findings: int = 1  # the findings of the check it stands for

    def line(self) -> str:
        more = f" [{self.findings} findings]" if self.findings > 1 else ""
        return f"{self.status.upper():<15} {self.check} {self.what}: {self.detail}{more}"


def _summary(report_dir: str) -> dict[str, Any]:
    """The recorded run's summary.json (read as `report compare` reads it); only a finished run holds requests."""
    summary = load_summary(report_dir)
    if summary.get("kind") != "run":
        raise UsageError(f"{report_dir} is not the summary of a finished `hems-conformance run` (replay needs "
                         "recorded requests)")
    return summary


def _config_path(summary: dict[str, Any], config: str | None) -> str:
    """`--config`, required: a report names its run's config, but a report is untrusted, and the config chooses
    which credentials are sent where."""
    if config:
        return config
    recorded = summary.get("metadata", {}).get("target_config")
    hint = f" (the run used {clip(recorded, 200)!r}: pass it if you trust it)" if isinstance(recorded, str) and recorded else ""
    raise UsageError(f"replay needs --config FILE, the target config whose credentials it may send{hint}")


def _allowed_methods(checks: Sequence[LiveCheck]) -> frozenset[str]:
    """The methods a run sends to the session endpoint: GET, and the case files' probes of undeclared methods."""
    return frozenset({"GET", *(m for check in checks for m in check.case.params.get("methods", ()))})


def _probe_headers(checks: Sequence[LiveCheck]) -> frozenset[tuple[str, str]]:
    """(lower-case name, value) of every header a case file sends as a probe (a malformed token, another scheme)."""
    return frozenset((name.lower(), value) for check in checks for probe in check.case.params.get("headers", ())
                     for name, value in probe.items())


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _fits(below: str, template: str) -> bool:
    """`below` has the segments of the route `template`, its literal ones as they are ({name}: any one segment)."""
    segments, expected = below.split("/"), template.split("/")
    return len(segments) == len(expected) and all(e.startswith("{") or s == e for s, e in zip(segments, expected, strict=True))


def rebased(url: str, recorded_base: str, base_url: str, routes: Sequence[str] = ()) -> str:
    """The recorded `url` sent to `base_url` instead: the path below the recorded target's base and the query
    (the fragment dropped). UsageError for a URL outside the recorded target (another origin, userinfo, a path
    outside its base, a `..` segment, control characters) or, when `routes` are given, on none of those route
    templates, which a run never records: a tampered report."""
    def refuse(why: str) -> UsageError:
        return UsageError(f"refusing to replay {clip(url, 120)!r}: {why} (a tampered report?); nothing was sent")

    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise refuse("it holds spaces or control characters")
    try:
        parts, base = urlsplit(url), urlsplit(recorded_base)
        origins = _origin(url), _origin(recorded_base)
    except ValueError as exc:
        raise refuse(f"not a URL ({exc})") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise refuse("it carries userinfo")
    if parts.scheme not in ("http", "https") or origins[0] != origins[1]:
        raise refuse(f"it is not on the recorded target {clip(recorded_base, 120)!r}")
    prefix = base.path.rstrip("/")
    if not (parts.path == prefix or parts.path.startswith(prefix + "/")):
        raise refuse(f"its path is outside the recorded target's base path {prefix!r}")
    below = parts.path[len(prefix):]
    if any(unquote(segment) in (".", "..") for segment in below.split("/")):
        raise refuse("its path has a '.' or '..' segment")
    if routes and not any(_fits(below, route) for route in routes):
        raise refuse("its path is on no route a run sends this method to")
    query = parts.query  # the recorded base's own query (a gateway's ?code=...) is --config's base_url's to give
    if base.query and (query == base.query or query.startswith(base.query + "&")):
        query = query[len(base.query) + 1:]
    return joined(base_url, below + (f"?{query}" if query else ""))


def _failing(summary: dict[str, Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    failing = [c for c in summary.get("checks", []) if c.get("status") == Status.FAILED.value]
    ids = {c["id"] for c in failing}
    unknown = [check_id for check_id in wanted if check_id not in ids]
    if unknown:
        raise UsageError(f"{_printable(unknown[0])} is not a failing check of this report (failing: "
                         f"{_printable(', '.join(sorted(ids))) or 'none'})")
    return [c for c in failing if not wanted or c["id"] in wanted]


def _recorded(summary: dict[str, Any], failing: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The recorded requests of the failing checks (each with its check and how many findings it showed), and
    per check the findings without one: from the `replay` section, or from the kept findings of a report written
    before it (the rest of their findings then have none)."""
    ids = [check["id"] for check in failing]
    section = summary.get("replay")
    if isinstance(section, dict):
        requests = [r for r in section.get("requests") or [] if isinstance(r, dict) and r.get("check") in ids]
        unrecorded = section.get("unrecorded")
        missing = {check_id: unrecorded.get(check_id, 0) if isinstance(unrecorded, dict) else 0 for check_id in ids}
    else:
        requests = [{"check": check["id"], **finding.get("request", {}), "findings": 1} if
                    isinstance(finding.get("request"), dict) else {"check": check["id"], "findings": 1}
                    for check in failing for finding in check.get("findings", [])]
        missing = {check["id"]: check.get("findings_total", 0) - len(check.get("findings", [])) for check in failing}
    for check_id, count in [*((r.get("check"), r.get("findings")) for r in requests), *missing.items()]:
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise UsageError(f"{_printable(str(check_id))}: a recorded count of findings is not a number (a tampered "
                             "report?); nothing was sent")
    return requests, {check_id: n for check_id, n in missing.items() if n}


def _statuses(entry: dict[str, Any]) -> Statuses:
    """The statuses a finding judged on the status alone accepts, as recorded; UsageError if they are not."""
    recorded = entry.get("statuses") or []
    if not isinstance(recorded, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
            for pair in recorded):
        raise UsageError(f"{_printable(str(entry.get('check')))}: its recorded statuses are not status ranges (a "
                         "tampered report?); nothing was sent")
    return tuple((low, high) for low, high in recorded)


def _status_text(statuses: Statuses) -> str:
    return " or ".join(str(low) if low == high else f"{low}-{high}" for low, high in statuses)


@dataclass(frozen=True)
class Planned:
    """One recorded request as replay will send it: rebuilt, checked, its headers reduced to the probes."""

    check: str
    what: str
    method: str
    url: str
    tenant: str | None
    headers: dict[str, str]
    findings: int = 1
    statuses: Statuses = ()  # judged on the status alone (a procedure's finding): these are right


def _printable(text: str) -> str:
    """Recorded text for one output line: control characters escaped, clipped."""
    return clip(printable(text), 300)


class Replayer:
    """One target, its client and judge, and the checks that can judge a single answer."""

    def __init__(self, summary: dict[str, Any], config: str, spec: str | None = None) -> None:
        meta = summary.get("metadata", {})
        contract = load_contract(spec)  # never a path the report names: a report is untrusted
        recorded_spec = meta.get("spec") if isinstance(meta.get("spec"), dict) else {}
        self.warnings = [] if recorded_spec.get("sha256") in (None, contract.sha256) else [
            f"the run judged against another spec (SHA-256 {_printable(str(recorded_spec['sha256']))[:64]}) than "
            f"this replay ({contract.sha256}): give the run's with --spec FILE"]
        target = load_target(config, default_token_url=contract.token_url)
        self.run = LiveRun(target, contract, RunOptions(strict=bool(meta.get("strict"))))
        self.checks: dict[str, LiveCheck] = {}
        for check in load_checks():
            self.run.add_case(check.case, check.on_every_response)
            self.checks[check.id] = check
        self.methods = _allowed_methods(list(self.checks.values()))
        self.probes = _probe_headers(list(self.checks.values()))
        recorded = meta.get("target_url")
        if not isinstance(recorded, str) or not recorded:
            raise UsageError("the report names no target_url: its requests cannot be rebuilt for --config's base_url")
        self.recorded_base = recorded
        self.context = ResponseContext(self.run.judge, self.run.ledger, self.run.level_of, target.max_body_bytes)

    def close(self) -> None:
        self.run.close()

    def plan(self, request: dict[str, Any]) -> Planned | Outcome:
        """The request to send again, or why it is not replayable; UsageError for a request a run never sends
        (another origin, method or header: a tampered report), so that nothing is sent at all."""
        check_id, findings, statuses = str(request.get("check")), int(request["findings"]), _statuses(request)
        if "url" not in request:
            return Outcome(check_id, UNKNOWN, "-", "the finding records no request", findings)
        method, url, tenant = request.get("method", "GET"), str(request.get("url", "")), request.get("tenant")
        if check_id not in CATALOGUE and getattr(self.checks.get(check_id), "on_every_response", None) is None \
                and not statuses:
            return Outcome(check_id, UNKNOWN, _printable(f"{method} {url}"),
                           "judged by a procedure, not by one answer: re-run `hems-conformance run`", findings)
        methods = {"GET"} if check_id in CATALOGUE else self.methods  # payload invariants judge GET answers only
        if method not in methods:
            raise UsageError(f"refusing to replay method {_printable(str(method))!r} for {check_id}: a run sends only "
                             f"{', '.join(sorted(methods))} for it (a tampered report?); nothing was sent")
        what = _printable(f"{method} {url}")
        recorded = request.get("headers") or {}
        if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()) or \
                not (tenant is None or isinstance(tenant, str)):
            raise UsageError(f"{check_id}: {what}: its recorded headers or tenant are not text (a tampered report?); "
                             "nothing was sent")
        if url.endswith("…"):
            return Outcome(check_id, UNKNOWN, what, "its URL was clipped in the report", findings)
        # the session endpoint for every method a run sends there; the list route (GET) as discovery reads it
        url = rebased(url, self.recorded_base, self.run.config.base_url,
                      (SESSION_PATH, LIST_PATH) if method == "GET" else (SESSION_PATH,))
        if "tenant" not in request:
            return Outcome(check_id, UNKNOWN, what, "the report does not say whose credentials it carried", findings)
        headers: dict[str, str] = {}
        if tenant is not None:  # the tenant's fresh token instead of anything recorded
            if tenant not in self.run.client.tokens:
                return Outcome(check_id, UNKNOWN, what,
                               f"it carried tenant {_printable(tenant.upper())}'s credentials, which the config does not have",
                               findings)
        elif any(_REDACTED in v or v.endswith("…") for k, v in recorded.items() if k.lower() not in TRANSPORT_HEADERS):
            return Outcome(check_id, UNKNOWN, what, "it carried credentials the report does not hold", findings)
        else:
            headers = {k: v for k, v in recorded.items() if (k.lower(), v) in self.probes}
        return Planned(check_id, _printable(f"{method} {url}"), str(method), url, tenant, headers, findings, statuses)

    def replay(self, planned: Planned) -> Outcome:
        """Send the planned request and judge its answer; the outcome names the URL as sent."""
        check_id, what, findings = planned.check, planned.what, planned.findings
        sent = self.run.client.send(planned.method, planned.url, tenant=planned.tenant, headers=planned.headers,
                                    note="replay")
        detail = f"HTTP {sent.status}, X-Request-ID {sent.request_id}"
        if planned.statuses:  # a procedure's finding about this answer's status
            right = any(low <= sent.status <= high for low, high in planned.statuses)
            return Outcome(check_id, FIXED if right else FAILING, what,
                           f"answered {sent.status}, expected {_status_text(planned.statuses)} ({detail})", findings)
        judged = self.run.ledger.records[check_id].judged
        evidence = self._judge(check_id, sent)
        if self.run.ledger.records[check_id].judged == judged:  # e.g. a 401 where the run got a 200: not a fix
            return Outcome(check_id, UNKNOWN, what, f"the answer gave {check_id} nothing to judge ({detail})", findings)
        if evidence:
            return Outcome(check_id, FAILING, what, f"{evidence[0].finding.message} ({detail})", findings)
        return Outcome(check_id, FIXED, what, f"no finding ({detail})", findings)

    def _judge(self, check_id: str, exchange: Exchange) -> list[Any]:
        # only FUZ-002's check reads `malformed`, and the recorded request it replays was a malformed one
        request = Request(exchange, session_of_url(exchange.url), malformed=("path parameters",))
        if check_id in CATALOGUE:
            evidence = catalogue_check(request, self.context)
        else:
            respond = self.checks[check_id].on_every_response
            assert respond is not None, "plan() keeps the response checks only"
            evidence = respond(request, self.context, check_id)
        strict = self.run.options.strict
        return [e for e in evidence if e.finding.check_id == check_id and e.finding.level.fails(strict)]


def outcomes(report_dir: str, check_ids: Sequence[str], config: str | None, max_requests: int | None = None,
             spec: str | None = None, warn: IO[str] | None = None) -> Iterator[Outcome]:
    """Every recorded request checked first (a tampered one stops the replay before anything is sent), then sent
    again, at most `max_requests` of them (default: as many as the report recorded, never more than
    MAX_REQUESTS); then, per check, the findings the report recorded no request for."""
    if max_requests is not None and not 1 <= max_requests <= MAX_REQUESTS:
        raise UsageError(f"--max-requests must be from 1 to {MAX_REQUESTS}, got {max_requests}")
    summary = _summary(report_dir)
    failing = _failing(summary, check_ids)
    if not failing:
        return
    replayer = Replayer(summary, _config_path(summary, config), spec)
    if warn is not None:
        for warning in replayer.warnings:
            warn.write(f"hems-conformance: warning: {warning}\n")
    try:
        requests, unrecorded = _recorded(summary, failing)
        plans = [replayer.plan(request) for request in requests]
        cap = min(max_requests or len(plans) or 1, MAX_REQUESTS)
        sent = 0
        for plan in plans:
            if isinstance(plan, Planned):
                sent += 1
                outcome = replayer.replay(plan) if sent <= cap else Outcome(
                    plan.check, UNKNOWN, plan.what, f"not sent: replay sends at most {cap} request(s) (--max-requests, "
                    f"at most {MAX_REQUESTS})", plan.findings)
            else:
                outcome = plan
            yield replace(outcome, check=_printable(outcome.check), what=replayer.run.redactor.text(outcome.what),
                          detail=replayer.run.redactor.text(outcome.detail))
        for check_id, count in unrecorded.items():
            yield Outcome(_printable(check_id), UNKNOWN, "-", "no recorded request (past the "
                          f"{REPLAY_PER_CHECK} a report records per check, or shown by no single request)", count)
    finally:
        replayer.close()


def replay_command(report_dir: str, check_ids: Sequence[str], config: str | None, out: IO[str],
                   max_requests: int | None = None, spec: str | None = None, warn: IO[str] | None = None) -> int:
    """One status line per request sent (the URL as sent) or finding not replayable, then the count of findings,
    n being the failing checks' findings in summary.json; 0 when every one is replayed and fixed, 1 otherwise."""
    counted = {FIXED: 0, FAILING: 0, UNKNOWN: 0}
    for outcome in outcomes(report_dir, check_ids, config, max_requests, spec, warn):
        counted[outcome.status] += outcome.findings
        out.write(outcome.line() + "\n")
        out.flush()
    total = sum(counted.values())
    if not total:
        out.write("hems-conformance replay: no failing finding in this report\n")
        return 0
    out.write(f"hems-conformance replay: {counted[FIXED] + counted[FAILING]} of {total} finding(s) replayed: "
              f"{counted[FIXED]} fixed, {counted[FAILING]} still failing; {counted[UNKNOWN]} not replayable\n")
    return 0 if counted[FIXED] == total else 1
