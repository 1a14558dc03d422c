"""`hems-conformance replay REPORT_DIR [CHECK_ID ...]`: re-send the requests behind a recorded run's failing
findings and judge the answers again with the same checks. A developer fixing one bug gets an answer in seconds.

A report is untrusted input (it travels as a CI artefact anyone may edit), and replay sends fresh credentials:
they come only from the target config given with `--config`, never from a path the report names. Every URL is
rebuilt from that config's base_url plus the recorded path and query, after refusing `..` segments, userinfo,
any origin other than the recorded target's and any path off the routes a run sends that method to (exit 2, before
anything is sent); only the methods a run sends go out, with no recorded header but the case files' own probes, and
at most `--max-requests` requests. The spec is the pinned one or `--spec`, never a path the report names.
Catalogue invariants and the live checks judged on every response can be judged from one answer; a check
judged by a procedure (a sequence of requests) cannot: it is reported as such and does not count as fixed.
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
from conformance.report.records import Exchange, Status

FIXED, FAILING, UNKNOWN = "fixed", "still failing", "not replayable"
_NOT_REPLAYED_HEADERS = ("user-agent", "x-request-id", "accept-encoding", "connection", "content-length", "host")
_REDACTED = "[REDACTED]"
MAX_REQUESTS = 1000  # the most findings one replay re-sends, whatever the report or --max-requests says


@dataclass(frozen=True)
class Outcome:
    check: str
    status: str
    what: str  # the request, in one line
    detail: str

    def line(self) -> str:
        return f"{self.status.upper():<15} {self.check} {self.what}: {self.detail}"


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


@dataclass(frozen=True)
class Planned:
    """One recorded request as replay will send it: rebuilt, checked, its headers reduced to the probes."""

    check: str
    what: str
    method: str
    url: str
    tenant: str | None
    headers: dict[str, str]


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

    def plan(self, check_id: str, finding: dict[str, Any]) -> Planned | Outcome:
        """The request to send again, or why it is not replayable; UsageError for a request a run never sends
        (another origin, method or header: a tampered report), so that nothing is sent at all."""
        request = finding.get("request")
        if not isinstance(request, dict):
            return Outcome(check_id, UNKNOWN, "-", "the finding records no request")
        method, url, tenant = request.get("method", "GET"), str(request.get("url", "")), request.get("tenant")
        if check_id not in CATALOGUE and getattr(self.checks.get(check_id), "on_every_response", None) is None:
            return Outcome(check_id, UNKNOWN, _printable(f"{method} {url}"),
                           "judged by a procedure, not by one answer: re-run `hems-conformance run`")
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
            return Outcome(check_id, UNKNOWN, what, "its URL was clipped in the report")
        # the session endpoint for every method a run sends there; the list route (GET) as discovery reads it
        url = rebased(url, self.recorded_base, self.run.config.base_url,
                      (SESSION_PATH, LIST_PATH) if method == "GET" else (SESSION_PATH,))
        if "tenant" not in request:
            return Outcome(check_id, UNKNOWN, what, "the report does not say whose credentials it carried")
        headers: dict[str, str] = {}
        if tenant is not None:  # the tenant's fresh token instead of anything recorded
            if tenant not in self.run.client.tokens:
                return Outcome(check_id, UNKNOWN, what,
                               f"it carried tenant {_printable(tenant.upper())}'s credentials, which the config does not have")
        elif any(_REDACTED in v or v.endswith("…") for k, v in recorded.items() if k.lower() not in _NOT_REPLAYED_HEADERS):
            return Outcome(check_id, UNKNOWN, what, "it carried credentials the report does not hold")
        else:
            headers = {k: v for k, v in recorded.items() if (k.lower(), v) in self.probes}
        return Planned(check_id, what, str(method), url, tenant, headers)

    def replay(self, planned: Planned) -> Outcome:
        check_id, what = planned.check, planned.what
        sent = self.run.client.send(planned.method, planned.url, tenant=planned.tenant, headers=planned.headers,
                                    note="replay")
        judged = self.run.ledger.records[check_id].judged
        evidence = self._judge(check_id, sent)
        detail = f"HTTP {sent.status}, X-Request-ID {sent.request_id}"
        if self.run.ledger.records[check_id].judged == judged:  # e.g. a 401 where the run got a 200: not a fix
            return Outcome(check_id, UNKNOWN, what, f"the answer gave {check_id} nothing to judge ({detail})")
        if evidence:
            return Outcome(check_id, FAILING, what, f"{evidence[0].finding.message} ({detail})")
        return Outcome(check_id, FIXED, what, f"no finding ({detail})")

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
    again, at most `max_requests` of them (default: as many as the report has findings, never more than
    MAX_REQUESTS)."""
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
        plans = [replayer.plan(check["id"], finding) for check in failing for finding in check.get("findings", [])]
        cap = min(max_requests or len(plans), MAX_REQUESTS)
        sent = 0
        for plan in plans:
            if isinstance(plan, Planned):
                sent += 1
                outcome = replayer.replay(plan) if sent <= cap else Outcome(
                    plan.check, UNKNOWN, plan.what, f"not sent: replay sends at most {cap} request(s) (--max-requests, "
                    f"at most {MAX_REQUESTS})")
            else:
                outcome = plan
            yield replace(outcome, check=_printable(outcome.check), what=replayer.run.redactor.text(outcome.what),
                          detail=replayer.run.redactor.text(outcome.detail))
    finally:
        replayer.close()


def replay_command(report_dir: str, check_ids: Sequence[str], config: str | None, out: IO[str],
                   max_requests: int | None = None, spec: str | None = None, warn: IO[str] | None = None) -> int:
    """One status line per replayed finding; 0 when every one is fixed, 1 when any is not."""
    counted = {FIXED: 0, FAILING: 0, UNKNOWN: 0}
    for outcome in outcomes(report_dir, check_ids, config, max_requests, spec, warn):
        counted[outcome.status] += 1
        out.write(outcome.line() + "\n")
        out.flush()
    total = sum(counted.values())
    if not total:
        out.write("hems-conformance replay: no failing finding with a recorded request in this report\n")
        return 0
    out.write(f"hems-conformance replay: {counted[FIXED]} of {total} finding(s) fixed, {counted[FAILING]} still failing, "
              f"{counted[UNKNOWN]} not replayable\n")
    return 0 if counted[FIXED] == total else 1
