"""`hems-conformance replay REPORT_DIR [CHECK_ID ...]`: re-send the requests behind a recorded run's failing
findings and judge the answers again with the same checks. A developer fixing one bug gets an answer in seconds.

The report holds no secret, so credentials come from the target config (`--config`, else the config the run
used if it still exists); each request carries the tenant's fresh token, and goes to that config's base_url.
Catalogue invariants and the live checks judged on every response can be judged from one answer; a check
judged by a procedure (a sequence of requests) cannot: it is reported as such and does not count as fixed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from conformance.contract.catalogue import CATALOGUE
from conformance.contract.spec import load_contract
from conformance.errors import UsageError
from conformance.live.checks import LiveCheck, load_checks
from conformance.live.exchange import Exchange
from conformance.live.response_checks import Request, ResponseContext, catalogue_check
from conformance.live.runner import LiveRun, RunOptions
from conformance.live.target import load_target
from conformance.report.baseline import session_of_url
from conformance.report.compare import load_summary
from conformance.report.records import Status

FIXED, FAILING, UNKNOWN = "fixed", "still failing", "not replayable"
_NOT_REPLAYED_HEADERS = ("user-agent", "x-request-id", "accept-encoding", "connection", "content-length", "host")
_REDACTED = "[REDACTED]"


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
    if config:
        return config
    recorded = summary.get("metadata", {}).get("target_config", "")
    if recorded and Path(recorded).is_file():
        return recorded
    raise UsageError("replay needs the target config for fresh credentials: --config FILE (the run's own config "
                     f"{recorded or '(none)'} is not a file here)")


def _failing(summary: dict[str, Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    failing = [c for c in summary.get("checks", []) if c.get("status") == Status.FAILED.value]
    ids = {c["id"] for c in failing}
    unknown = [check_id for check_id in wanted if check_id not in ids]
    if unknown:
        raise UsageError(f"{unknown[0]} is not a failing check of this report (failing: {', '.join(sorted(ids)) or 'none'})")
    return [c for c in failing if not wanted or c["id"] in wanted]


class Replayer:
    """One target, its client and judge, and the checks that can judge a single answer."""

    def __init__(self, summary: dict[str, Any], config: str) -> None:
        meta = summary.get("metadata", {})
        spec = meta.get("spec", {}).get("path")
        contract = load_contract(spec if spec and Path(spec).is_file() else None)
        target = load_target(config, default_token_url=contract.token_url)
        self.run = LiveRun(target, contract, RunOptions(strict=bool(meta.get("strict"))))
        self.checks: dict[str, LiveCheck] = {}
        for check in load_checks():
            self.run.add_case(check.case, check.on_every_response)
            self.checks[check.id] = check
        self.recorded_base = meta.get("target_url", "")
        self.context = ResponseContext(self.run.judge, self.run.ledger, self.run.level_of, target.max_body_bytes)

    def close(self) -> None:
        self.run.close()

    def replay(self, check_id: str, finding: dict[str, Any]) -> Outcome:
        request = finding.get("request")
        if not isinstance(request, dict):
            return Outcome(check_id, UNKNOWN, "-", "the finding records no request")
        what = f"{request.get('method', 'GET')} {request.get('url', '')}"
        if check_id not in CATALOGUE and getattr(self.checks.get(check_id), "on_every_response", None) is None:
            return Outcome(check_id, UNKNOWN, what, "judged by a procedure, not by one answer: re-run `hems-conformance run`")
        if "tenant" not in request:
            return Outcome(check_id, UNKNOWN, what, "the report does not say whose credentials it carried")
        sent = self._send(request)
        if isinstance(sent, str):
            return Outcome(check_id, UNKNOWN, what, sent)
        judged = self.run.ledger.records[check_id].judged
        evidence = self._judge(check_id, sent)
        detail = f"HTTP {sent.status}, X-Request-ID {sent.request_id}"
        if self.run.ledger.records[check_id].judged == judged:  # e.g. a 401 where the run got a 200: not a fix
            return Outcome(check_id, UNKNOWN, what, f"the answer gave {check_id} nothing to judge ({detail})")
        if evidence:
            return Outcome(check_id, FAILING, what, f"{evidence[0].finding.message} ({detail})")
        return Outcome(check_id, FIXED, what, f"no finding ({detail})")

    def _send(self, request: dict[str, Any]) -> Exchange | str:
        """The recorded request sent again, or why it cannot be."""
        url = str(request.get("url", ""))
        if url.endswith("…"):
            return "its URL was clipped in the report"
        if self.recorded_base and url.startswith(self.recorded_base):
            url = self.run.config.url(url[len(self.recorded_base):])  # one slash, whichever base ends with one
        tenant = request.get("tenant")
        headers = {k: v for k, v in (request.get("headers") or {}).items() if k.lower() not in _NOT_REPLAYED_HEADERS}
        if tenant is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}  # a fresh token instead
            if tenant not in self.run.client.tokens:
                return f"it carried tenant {tenant.upper()}'s credentials, which the config does not have"
        elif any(_REDACTED in v or v.endswith("…") for v in headers.values()):
            return "it carried credentials the report does not hold"
        return self.run.client.send(str(request.get("method", "GET")), url, tenant=tenant, headers=headers,
                                    note="replay")

    def _judge(self, check_id: str, exchange: Exchange) -> list[Any]:
        # only FUZ-002's check reads `malformed`, and the recorded request it replays was a malformed one
        request = Request(exchange, session_of_url(exchange.url), malformed=("path parameters",))
        if check_id in CATALOGUE:
            evidence = catalogue_check(request, self.context)
        else:
            evidence = self.checks[check_id].on_every_response(request, self.context, check_id)  # type: ignore[misc]
        strict = self.run.options.strict
        return [e for e in evidence if e.finding.check_id == check_id and e.finding.level.fails(strict)]


def outcomes(report_dir: str, check_ids: Sequence[str], config: str | None) -> Iterator[Outcome]:
    summary = _summary(report_dir)
    failing = _failing(summary, check_ids)
    if not failing:
        return
    replayer = Replayer(summary, _config_path(summary, config))
    try:
        for check in failing:
            for finding in check.get("findings", []):
                outcome = replayer.replay(check["id"], finding)
                yield replace(outcome, detail=replayer.run.redactor.text(outcome.detail))
    finally:
        replayer.close()


def replay_command(report_dir: str, check_ids: Sequence[str], config: str | None, out: IO[str]) -> int:
    """One status line per replayed finding; 0 when every one is fixed, 1 when any is not."""
    counted = {FIXED: 0, FAILING: 0, UNKNOWN: 0}
    for outcome in outcomes(report_dir, check_ids, config):
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
