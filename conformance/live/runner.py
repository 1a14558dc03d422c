"""One live run against a target: the client, the ledger, and the way every request is sent and judged.

The pytest plugin drives a `LiveRun` item by item; `hems-conformance run` is pytest with that plugin.
"""

from __future__ import annotations

import functools
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import schemathesis

from conformance.contract.catalogue import CATALOGUE, Invariant
from conformance.contract.coverage import Coverage
from conformance.contract.cross import CROSS, load_siblings
from conformance.contract.findings import Finding
from conformance.contract.judge import Judge, Judgement
from conformance.contract.levels import Level
from conformance.contract.payload import SessionView
from conformance.contract.spec import SESSION_PATH, Contract
from conformance.errors import ConfigError, TargetError, UsageError
from conformance.live.client import REQUEST_ID, TRANSIENT_STATUSES, NoAnswer, Stopped, TargetClient
from conformance.live.ledger import Ledger
from conformance.live.live_cases import LiveCase
from conformance.live.response_checks import (
    Request,
    ResponseCheck,
    ResponseContext,
    judge_every_check,
    no_server_error,
    uuid_hex,
)
from conformance.live.target import AUTH_TABLES, SessionRef, TargetConfig, WallboxRef
from conformance.report.baseline import Acceptance, Baseline, BaselineDays, session_of_url
from conformance.report.records import (
    SIBLING_KIND,
    STATUS_CAUSE,
    CheckRecord,
    Evidence,
    Exchange,
    Statuses,
    declared_need,
    mark_unexercised,
)
from conformance.report.redaction import PLACEHOLDER
from conformance.report.timeline import SessionSample, session_identity

T = TypeVar("T")
R = TypeVar("R")
PROFILES = ("quick", "ci", "thorough")
DEFAULT_WORKERS = 16  # requests in flight at once unless --workers says otherwise (a 429 halves it, see client.Pace)
RUN_BUDGETS_S = {"quick": 600.0, "ci": 1800.0, "thorough": 5400.0}  # max_run_s unless configured
EXIT_INTERRUPTED = 130
_VERDICT_REACHED = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
VERDICT_OR_INTERRUPTED = (*_VERDICT_REACHED, pytest.ExitCode.INTERRUPTED)  # pytest's codes the run's code replaces
_SECRET_VARIABLES = {"password": "${HEMS_PASSWORD}", "refresh_token": "${HEMS_REFRESH_TOKEN}"}  # else the secret's
_SHELL_SPECIAL = re.compile(r'[\\"`]|\$(?!\{?HEMS_)')  # what double quotes would not keep literal


def no_verdict(pytest_status: int) -> int:
    """pytest stopped before the run reached a verdict: interrupted (130), or its own usage or internal error (2)."""
    return EXIT_INTERRUPTED if pytest_status == pytest.ExitCode.INTERRUPTED else 2


@dataclass(frozen=True)
class ReportOptions:
    """Where a run's reports go and what they record: they travel with the run, not through pytest's argv."""

    folder: Path | None = None  # None: no report files (plain pytest without --hems-report-dir)
    command: str = ""  # the command line that reproduces the run
    page: bool = False  # also report.html (the page `check` writes), beside summary.json and summary.md


@dataclass(frozen=True)
class RunOptions:
    profile: str = "ci"
    seed: int = 0
    strict: bool = False
    workers: int = DEFAULT_WORKERS
    baseline: Baseline | None = None  # accepted failures (--baseline)
    baseline_days: BaselineDays = BaselineDays()  # how far ahead it warns of expiry (--baseline-warn-days)
    record_failures: bool = False  # keep today's unaccepted failures for --baseline-update
    reports: ReportOptions | None = None  # None: from the pytest options (--hems-report-dir, ...)


class LiveRun:
    """Everything one run shares: target, contract, judge, client, ledger, options."""

    def __init__(self, config: TargetConfig, contract: Contract, options: RunOptions) -> None:
        self.config, self.contract, self.options = config, contract, options
        self.judge = Judge(contract, config.settings)
        self.client = TargetClient(config, on_retry=self._retried, connections=options.workers,
                                   max_run_s=config.max_run_s or RUN_BUDGETS_S[options.profile], seed=options.seed)
        self.redactor = self.client.redactor
        self.ledger = Ledger(Acceptance(options.baseline, warn_days=options.baseline_days.warn,
                                        recording=options.record_failures) if options.baseline else None)
        self.cases: dict[str, LiveCase] = {}
        self.halted = ""  # why the run stopped before a verdict (one line), and its exit code (2 or 3)
        self.halt_code = 0
        self.verdict: int | None = None  # the run's exit code, once its session finished with one (conclude)
        self.ran: set[str] = set()  # the checks whose items ran (not deselected, not only collected)
        self._preflown = False
        self._procedures: dict[str, tuple[str, Exception]] | None = None  # per check: (whose error, error), once run
        self._stopped_by = ""  # the procedure whose error stopped the others
        self.started = time.time()
        self.schema = schemathesis.openapi.from_dict(contract.document)
        self.operation = self.schema[SESSION_PATH]["GET"]
        self.siblings = load_siblings(contract)
        self.discovered: dict[str, tuple[SessionRef, ...]] = {}  # per tenant: the sessions only discovery found
        for invariant in self.invariants:
            kind = SIBLING_KIND if invariant.family == "SIB" else "invariant"
            self.ledger.register(CheckRecord(invariant.id, kind, self.level_of(invariant.id), invariant.statement,
                                             f"{invariant.spec} ({invariant.source})", invariant.basis,
                                             need=declared_need(invariant.id)))
            self._say_if_lowered(invariant.id, invariant.level)
        self.coverage = Coverage()  # what the sessions served held, each session counted once
        self.sessions = SessionSample(once=True)  # the sessions the report draws
        self._seen_lock = threading.Lock()
        self._own_paths: tuple[tuple[SessionRef, ...], frozenset[str]] = ((), frozenset())
        self.context = ResponseContext(self.judge, self.ledger, self.level_of, config.max_body_bytes,
                                       self._saw_session)
        self._response_checks: list[tuple[str, ResponseCheck]] = []

    def add_case(self, case: LiveCase, on_every_response: ResponseCheck | None = None) -> None:
        """Take a live case into the run; `on_every_response` judges every response from now on."""
        if case.id in CATALOGUE or self.cases.get(case.id, case) != case:
            raise ConfigError(f"{case.file}: live case id {case.id} is already taken")
        if case.id not in self.cases and on_every_response is not None:
            self._response_checks.append((case.id, on_every_response))
        self.cases[case.id] = case
        self.ledger.register(CheckRecord(case.id, case.kind, self.level_of(case.id), case.statement, case.cite))
        self._say_if_lowered(case.id, case.level)

    def _say_if_lowered(self, check_id: str, default: Level) -> None:
        """A check whose basis gives it a level (an adopted standard's MUST stays MUST) may be lowered in
        [judge.levels]; the report says so, so a reader never mistakes the configured level for the standard's."""
        configured = self.config.settings.level_of(check_id, default)
        order = list(Level)
        if order.index(configured) > order.index(default):
            self.ledger.note(f"{check_id} is {default.value} by its basis; [judge.levels] lowers it to "
                             f"{configured.value} in this run")

    def close(self) -> None:
        self.client.close()

    @property
    def invariants(self) -> list[Invariant]:
        """The catalogue, and the cross-endpoint and sibling checks when the run reads the sibling routes."""
        return [*CATALOGUE.values(), *(CROSS.values() if self.config.discover else ())]

    def level_of(self, check_id: str) -> Level:
        entry = CATALOGUE.get(check_id) or CROSS.get(check_id)
        default = entry.level if entry is not None else self.cases[check_id].level
        return self.config.settings.level_of(check_id, default)

    @property
    def auth_enabled(self) -> bool:
        return self.config.tenant.auth.grant != "none"

    # --- concurrency ---

    def concurrently(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`work` on each item, up to --workers at once, recorded in the ledger as if done one after the other in
        item order (Ledger.journaled): the verdict and the reports are the same for any --workers. An exception
        ends the run: it stops the client at once (TargetClient.stop), and the first one in item order is raised
        once what came before it is recorded; what came after is dropped."""
        items = list(items)
        if self.options.workers <= 1 or len(items) <= 1:
            return [work(item) for item in items]
        results: list[R] = []

        def attempt(item: T) -> R:
            try:
                return work(item)
            except Exception as exc:  # it ends the run: the other threads send no more from now on
                self.client.stop(exc)
                raise

        with ThreadPoolExecutor(max_workers=min(self.options.workers, len(items))) as pool:
            futures = [pool.submit(self.ledger.journaled, functools.partial(attempt, item)) for item in items]
            try:
                for future in futures:
                    entries, result, error = future.result()
                    self.ledger.replay(entries)
                    if error is not None:
                        raise error
                    results.append(result)  # type: ignore[arg-type]
            finally:
                for future in futures:
                    future.cancel()
        return results

    def run_procedures(self, planned: list[tuple[str, Callable[[], None]]]) -> None:
        """Every procedure of the session, once, concurrently (see `concurrently`), in the order of their items;
        then the error of `planned[i]`, for the item that asks, so that a run that stops reads as with one worker:
        the checks before the failing one judged, it and those after not. Each procedure keeps its own order
        (token expiry, AUTH-005's wait)."""
        if self._procedures is None:
            self._procedures = {}

            def perform(entry: tuple[str, Callable[[], None]]) -> None:
                try:
                    entry[1]()
                except Exception as exc:
                    if exc is self.client.stopped or self.client.stopped is None:  # this one stopped the others
                        self._stopped_by = entry[0]
                    self.client.stop(exc)
                    raise _ProcedureFailed(entry[0], exc) from None

            try:
                self.concurrently(perform, planned)
            except _ProcedureFailed as failed:  # the error that stopped the others, not their Stopped
                stopped = isinstance(failed.error, Stopped) and self.client.stopped is not None
                self._procedures[failed.name] = (self._stopped_by, self.client.stopped) if stopped \
                    else (failed.name, failed.error)  # type: ignore[assignment]

    def procedure_error(self, name: str) -> tuple[str, Exception] | None:
        """(the check whose procedure raised it, the error) where `name`'s procedure did not finish."""
        return (self._procedures or {}).get(name)

    # --- sending ---

    def session_case(self, path_parameters: dict[str, Any]) -> Any:
        return self.operation.Case(path_parameters=path_parameters)

    def send_case(self, case: Any, *, tenant: str | None = "a", headers: dict[str, str] | None = None,
                  public: bool = False, malformed: tuple[str, ...] = (), note: str = "") -> Exchange:
        """Send a Schemathesis case and judge the answer with every response check. `public`: `headers` are a case
        file's probe values (see Redactor.headers)."""
        base = urlsplit(self.config.base_url)
        origin = f"{base.scheme}://{base.netloc}"  # the path is joined to base_url as it was written, below
        kwargs = case.as_transport_kwargs(base_url=origin)
        sent_headers = {k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "x-schemathesis-testcaseid"}
        sent_headers.update(headers or {})
        url = self.config.url(kwargs["url"][len(origin):])
        try:
            exchange = self.client.send(kwargs["method"], url, tenant=tenant, headers=sent_headers, note=note,
                                        public=public, params=kwargs.get("params") or None)
        except NoAnswer as silence:
            return self._no_answer(silence, note, tenant)
        if exchange.status in TRANSIENT_STATUSES:
            self._still_answering(f"{exchange.method} {exchange.url} answered {exchange.status}")
        self.judge_response(case, exchange, malformed=malformed)
        return exchange

    def _still_answering(self, trouble: str) -> None:
        """Transient trouble persisted on one request through every retry. If a configured session now fails too
        (after its own retries), the target as a whole stopped answering: exit 3 naming the trouble. Otherwise it
        is the target's answer to that request, judged as any other."""
        ref = self.config.tenant.sessions[0]
        url = self.client.url(SESSION_PATH.format(**ref.path_parameters))
        try:
            probe = self.client.send("GET", url, note="is the deployment up?")
        except NoAnswer as silence:
            raise TargetError(f"{trouble}, and a configured session gets no answer either ({silence.cause}): "
                              "the target stopped answering") from None
        if probe.status in TRANSIENT_STATUSES:
            why = ("the deployment behind the gateway is down" if probe.status in (502, 504) else
                   "the target is unavailable or rate limits everything")
            same = "so does a configured session" if trouble.endswith(f" {probe.status}") else \
                f"a configured session answers {probe.status}"
            raise TargetError(f"{trouble}, and {same}: {why}")

    def _no_answer(self, silence: NoAnswer, note: str, tenant: str | None) -> Exchange:
        """One request got no answer through every retry while the target answers others: the request broke the
        server, a finding of the check that judges server errors. Returned as an exchange without a status (0)
        that no other check judges; the procedure's own findings on it are grouped under that one."""
        self._still_answering(f"{silence.method} {silence.url}: {silence.cause}")
        exchange = Exchange(method=silence.method, url=silence.url, request_headers=silence.headers, status=0,
                            headers={}, text="", elapsed_ms=0.0, note=note,
                            request_id=silence.headers.get(REQUEST_ID, ""), tenant=tenant)
        check_id = next((i for i, check in self._response_checks if check is no_server_error), None)
        if check_id is not None:
            self.ledger.judged(check_id)
            self.finding(check_id, f"no answer: {silence.cause}, on every attempt", exchange, expected="an answer",
                         actual=silence.cause, cause=STATUS_CAUSE)
        return exchange

    def read(self, ref: SessionRef, *, tenant: str | None = "a", headers: dict[str, str] | None = None,
             public: bool = False, override: dict[str, Any] | None = None, note: str = "") -> Exchange:
        parameters = ref.path_parameters | (override or {})
        return self.send_case(self.session_case(parameters), tenant=tenant, headers=headers, public=public, note=note)

    def judge_response(self, case: Any, exchange: Exchange, *, malformed: tuple[str, ...]) -> None:
        request = Request(exchange, case.path_parameters.get("session_id"), malformed, self.curl(exchange))
        judge_every_check(request, self.context, self._response_checks)
        if 400 <= exchange.status < 500 and exchange.status != 429:
            self.ledger.spec_finding(
                f"undocumented-{exchange.status}",
                f"{exchange.status} is correct here but undocumented: the spec lists only 200 for this operation",
                exchange,
            )

    def judge_sibling(self, exchange: Exchange) -> None:
        """An answer of a route beside the session endpoint (the list and current routes): judged by the live
        cases' response checks (a 401's challenge, internals in errors, cache directives, ids in errors, ...) as
        the session endpoint's answers are; the catalogue is not run on it (discovery judges those bodies)."""
        request = Request(exchange, curl=self.curl(exchange))
        for check_id, check in self._response_checks:
            for evidence in check(request, self.context, check_id):
                self.ledger.add(evidence)

    def curl(self, exchange: Exchange, token_variable: str = "$HEMS_TOKEN") -> str:
        """A reproduction with shell variables where secrets were: $HEMS_TOKEN (a fresh token), and for the token
        endpoint the form it sent and its Basic credentials with ${HEMS_CLIENT_SECRET} and ${HEMS_PASSWORD}; a
        query string that held a secret is sent with -G and --data-urlencode, as the request did."""
        parts = ["curl", "-sS", "-X", exchange.method]
        for name, value in exchange.request_headers.items():
            if name.lower() in ("user-agent", "x-request-id", "accept-encoding", "connection", "content-length"):
                continue
            if name.lower() == "authorization" and value.lower().startswith("bearer "):
                value = value.replace(PLACEHOLDER, token_variable)
            parts += ["-H", f"{name}: {value}"]
        if exchange.request_basic:
            parts += ["-u", exchange.request_basic.replace(PLACEHOLDER, "${HEMS_CLIENT_SECRET}")]
        url, query = exchange.url, []  # query: (name, value) pairs moved out of the URL for curl -G
        if PLACEHOLDER in urlsplit(url).query and not exchange.request_form:
            url, query = urlsplit(url)._replace(query="").geturl(), parse_qsl(urlsplit(url).query, keep_blank_values=True)
            parts.append("-G")
        for key, value in (*exchange.request_form, *query):
            variable = _SECRET_VARIABLES.get(key, "${HEMS_CLIENT_SECRET}")
            parts += ["--data-urlencode", f"{key}={value.replace(PLACEHOLDER, variable)}"]
        parts.append(url)
        return " ".join(map(_shell_word, parts))

    def preflight(self, discover: Callable[[LiveRun], None]) -> None:
        """Once, before any check: `discover` (the sessions of [[wallboxes]], see discovery.py), then each tenant
        reads its first session. A target that redirects it
        or refuses the tenant's credentials with 401 cannot be judged; reading that as a conformance failure
        of every check would mislead (exit 3, or exit 2 where the configuration is at fault)."""
        if self._preflown:
            return
        self._preflown = True
        discover(self)
        self.context.resource_ids = frozenset(_parent_ids(self.config))
        for key, tenant in self.config.tenants():
            exchange = self.read(tenant.sessions[0], tenant=key, note=f"tenant {key.upper()}: first read, before any check")
            self.usable(exchange, key)

    def usable(self, exchange: Exchange, tenant: str) -> None:
        """Raise if this answer to one of the tenant's reads says the run cannot go on (see preflight)."""
        _usable(exchange, dict(self.config.tenants())[tenant].auth.grant, AUTH_TABLES[tenant])

    # --- recording ---

    def _own_path(self, path: str) -> bool:
        """Whether `path` is the own path of a configured or discovered session (trailing slash, case and
        percent-encoding aside): a session served under any other path (moved under another user or wallbox,
        malformed parents) is a leak, named on its drawing, never another session."""
        def plain(text: str) -> str:
            return unquote(text).rstrip("/").lower()

        refs = tuple(ref for _, tenant in self.config.tenants() for ref in tenant.sessions)
        if self._own_paths[0] != refs:  # discovery adds sessions before the first read: computed once or twice
            self._own_paths = (refs, frozenset(plain(urlsplit(self.client.url(SESSION_PATH.format(
                **ref.path_parameters))).path) for ref in refs))
        return plain(path) in self._own_paths[1]

    def _saw_session(self, exchange: Exchange, judgement: Judgement) -> None:
        """A 200 read as a session: counted in the coverage once (by the session's identity, whatever path served
        it), offered to the sample of drawn sessions (a read under a path not its own as a leak)."""
        path = urlsplit(exchange.url).path
        own = self._own_path(path)

        if self.ledger.acceptance is not None:  # a baseline entry naming this session can be stale now
            self.ledger.acceptance.saw_session(session_of_url(exchange.url))

        def seen() -> None:
            with self._seen_lock:
                self.coverage.add(SessionView(exchange.body), session_identity(exchange.body))
            self.sessions.add(path, f"session {exchange.body['session']['id']} ({path})", exchange.body,
                              judgement.findings, own=own)

        self.ledger.later(seen)  # in plan order, as the findings (the sample keeps the first sessions it is offered)

    def settle_coverage(self) -> None:
        """Mark the catalogue invariants the sessions served never exercised (call once the requests are done)."""
        mark_unexercised(self.ledger.records, self.coverage)

    def finding(self, check_id: str, message: str, exchange: Exchange | None = None, *, pointer: str = "",
                expected: Any = None, actual: Any = None, token_variable: str = "$HEMS_TOKEN",
                cause: str = "", statuses: Statuses = ()) -> None:
        """`token_variable`: what the reproduction's Bearer credential stands for (a refresh token, say); `cause`:
        STATUS_CAUSE for a finding about the answer's status (see Ledger); `statuses`: for a finding judged on
        this one answer's status alone, the statuses that would be right (what `replay` judges again)."""
        finding = Finding(pointer, message, expected, actual, check_id, self.level_of(check_id))
        self.ledger.add(Evidence(finding, exchange, self.curl(exchange, token_variable) if exchange else "",
                                 cause=cause, statuses=statuses))

    def _retried(self, status: int, url: str) -> None:
        """A 429 / 503 the client waited out: correct behaviour, but the spec does not document it."""
        self.ledger.spec_finding(
            f"undocumented-{status}",
            f"{status} with Retry-After is correct here (retried, not a failure) but undocumented: the spec "
            f"lists only 200 for this operation (e.g. {url})",
        )

    def halt(self, error: UsageError | TargetError) -> None:
        """Stop at the first error that makes a verdict impossible: a configuration the target refuses
        (exit 2) or a target that cannot be tested (exit 3). Never a finding, never a pass."""
        if not self.halted:
            self.halt_code = 2 if isinstance(error, UsageError) else 3
            self.halted = " ".join(self.redactor.text(str(error)).split()) or type(error).__name__
            for record in self.ledger.records.values():  # not judged because the run stopped: skipped, not idle
                if not record.judged and not record.skipped:
                    self.ledger.skip(record.id, "nothing to judge: the run stopped before this check")

    def conclude(self, pytest_status: int) -> int | None:
        """The session finished: the run's exit code replaces pytest's, held here and nowhere else. Where pytest
        itself stopped the session (usage error, nothing collected) there is none, and its own code stands."""
        if pytest_status in VERDICT_OR_INTERRUPTED:
            self.verdict = self.exit_code(pytest_status)
        return self.verdict

    def exit_code(self, pytest_status: int = pytest.ExitCode.OK) -> int:
        """0 / 1 from the ledger, 2 / 3 if halted; pytest's own trouble (interrupted, usage) leaves no verdict."""
        if pytest_status not in _VERDICT_REACHED:
            return no_verdict(pytest_status)
        unrun = sorted(set(self.ledger.records) - self.ran)
        if unrun:  # e.g. -k or --collect-only: a verdict on what did not run would be a lie
            self.halt(UsageError(f"{len(unrun)} of {len(self.ledger.records)} checks did not run (deselected or only "
                                 f"collected: {', '.join(unrun[:3])}{', …' if len(unrun) > 3 else ''}), so no verdict"))
        if self.halted:
            return self.halt_code
        return 1 if self.ledger.failing(self.options.strict) else 0



class _ProcedureFailed(Exception):
    def __init__(self, name: str, error: Exception) -> None:
        super().__init__(name)
        self.name, self.error = name, error


def _parent_ids(config: TargetConfig) -> Iterator[str]:
    """The org, user and wallbox ids of every configured or discovered session and wallbox, as RSP-007 compares them."""
    for _, tenant in config.tenants():
        refs: tuple[SessionRef | WallboxRef, ...] = (*tenant.sessions, *tenant.wallboxes)
        for ref in refs:
            yield from uuid_hex(f"{ref.org_id} {ref.user_id} {ref.wallbox_id}")


def _shell_word(text: str) -> str:
    """One shell word: quoted as it is, or in double quotes where it names a $HEMS_ variable to expand."""
    if "$HEMS_" not in text and "${HEMS_" not in text:
        return shlex.quote(text)
    return '"' + _SHELL_SPECIAL.sub(lambda m: "\\" + m.group(0), text) + '"'


def _usable(exchange: Exchange, grant: str, table: str) -> None:
    """Raise if this answer to a configured read says the run cannot go on (see LiveRun.preflight)."""
    status, challenge = exchange.status, exchange.headers.get("www-authenticate", "")
    if 300 <= status < 400:
        raise TargetError(f"{exchange.method} {exchange.url} answered {status}, a redirect to "
                          f"{exchange.headers.get('location') or 'nowhere'} (not followed: is base_url right?)")
    if status == 401 and grant == "none":
        raise ConfigError(f"{table}.grant = none, but the target answers 401: configure its credentials")
    if status == 401 and grant == "bearer":
        raise ConfigError(f"{table}.token: the target refuses the configured token with 401 (expired or revoked?)")
    if status == 403 and "insufficient_scope" in challenge:
        raise ConfigError(f"{table}.scope: the target answers 403 insufficient_scope to a configured session")
