"""Discovery through the sibling routes: the sessions of each `[[wallboxes]]` entry, and what the routes owe
each other (XEP) and spec/siblings.yaml (SIB).

Before any check, every configured wallbox's list route is paged (limit 200, offset) over the `[discover]`
days; each session found joins its tenant's sessions, so it is judged exactly as a configured one
(invariants, object-level checks, tenant isolation). Each listed ended session's detail is read and compared
with its list item; the wallbox's `current` session is judged when it answers 200 (a 404 means none runs).
The list route is then judged as Podero documents it: the window again with a small limit (total), the
one-day windows of the first and last start day and the day after (inclusive UTC days), limit and offset
out of range.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance.contract import cross
from conformance.contract.findings import Finding, capped
from conformance.contract.levels import Level
from conformance.errors import ConfigError, TargetError
from conformance.live.client import TRANSIENT_STATUSES
from conformance.live.target import Discovery, SessionRef, TenantConfig, WallboxRef
from conformance.report.records import Evidence, Exchange

if TYPE_CHECKING:
    from conformance.live.runner import LiveRun

SMALL_WALK_ITEMS = 60  # items the small-page walk of XEP-002 reads at most (30 requests with limit 2)
PROBE_ITEMS = 400  # items a one-day window of XEP-004 reads at most


def discover(run: LiveRun) -> None:
    """Add every discovered session to its tenant in `run.config`; judge the sibling routes on the way."""
    window = run.config.discover
    if window is None:
        return
    tenants = []
    for key, tenant in run.config.tenants():
        try:
            tenants.append(_tenant(run, key, tenant, window))
        except _BoundToTenantA:
            run.ledger.note("tenant B was left out of the run: its token reads tenant A's wallbox (OBJ-006), so "
                            "nothing it reads would tell the tenants apart")
    run.config = replace(run.config, tenant=tenants[0], tenant_b=tenants[1] if len(tenants) > 1 else None)


class _BoundToTenantA(Exception):
    """Tenant B's discovery failed because its token is tenant A's (reported as OBJ-006, not as a bad config)."""


_ISOLATION = "OBJ-006"


def _bound_to_tenant_a(run: LiveRun, key: str) -> bool:
    """Before blaming the configuration for tenant B's failing discovery: whether B's token reads tenant A's first
    wallbox (or session). If it does, that is a tenant-isolation finding, recorded here."""
    owner = run.config.tenant
    if key != "b" or _ISOLATION not in run.cases or not owner.wallboxes and not owner.sessions:
        return False
    if owner.wallboxes:
        window = run.config.discover
        url = run.client.url(cross.LIST_PATH.format(**owner.wallboxes[0].path_parameters))
        query = {"from": window.from_day.isoformat(), "to": window.to_day.isoformat()} if window else None
        exchange = _get(run, key, url, "tenant B's token on tenant A's wallbox: is it bound to A?", query)
        leaked = exchange.status == 200 and bool(exchange.body.get("items") if isinstance(exchange.body, dict) else True)
    else:
        exchange = run.read(owner.sessions[0], tenant=key, note="tenant B's token on tenant A's session: bound to A?")
        leaked = exchange.status == 200
    run.ledger.judged(_ISOLATION)
    if leaked:
        run.finding(_ISOLATION, "tenant B's own discovery failed, and its token reads tenant A's wallbox: the token "
                                "endpoint issued tenant B a token bound to tenant A", exchange,
                    expected="403 or 404", actual=exchange.status)
    return leaked


def _tenant(run: LiveRun, key: str, tenant: TenantConfig, window: Discovery) -> TenantConfig:
    found: dict[SessionRef, None] = {}
    for wallbox in tenant.wallboxes:
        budget = window.max_sessions - len(found)
        if budget <= 0:
            run.ledger.note(f"discovery stopped at [discover] max_sessions = {window.max_sessions} for tenant "
                            f"{key.upper()}: later wallboxes and sessions were not judged")
            break
        refs, whole = _listed(run, key, wallbox, window, budget)
        found.update(dict.fromkeys(refs))
        running = _current(run, key, wallbox)
        if whole is not None:
            _windows(run, key, wallbox, window, whole, running)
    new = tuple(ref for ref in found if ref not in tenant.sessions)
    run.discovered[key] = new
    if not tenant.sessions and not new:
        if _bound_to_tenant_a(run, key):
            raise _BoundToTenantA
        raise ConfigError(f"discover: the list route lists no session of tenant {key.upper()}'s wallboxes from "
                          f"{window.from_day} to {window.to_day}: widen the window or configure [[sessions]]")
    return replace(tenant, sessions=tenant.sessions + new)


def _get(run: LiveRun, key: str, url: str, note: str, params: dict[str, Any] | None = None) -> Exchange:
    exchange = run.client.send("GET", url, tenant=key, note=note, params=params)
    run.judge_sibling(exchange)
    if exchange.status >= 500:
        raise TargetError(f"GET {exchange.url} answered {exchange.status}: the sibling routes cannot be read")
    return exchange


@dataclass
class _Walk:
    """The pages of one walk over a window, in order, and how it ended."""

    pages: list[Any] = field(default_factory=list)
    exchange: Exchange | None = None  # the last answer
    complete: bool = False  # reached the end (an empty or a last short page)
    repeated: bool = False  # stopped on a page with no session not listed before (an offset ignored)
    ids: set[Any] = field(default_factory=set)  # the distinct session ids listed

    @property
    def items(self) -> list[Any]:
        return [item for page in self.pages for item in page["items"]]


def _walk(run: LiveRun, key: str, url: str, first: datetime.date, last: datetime.date, limit: int,
          budget: int) -> _Walk:
    """Page the list route over first..last with `limit` until an empty page or a short one total does not contradict,
    a page listing no session not listed before, or `budget` items. Each answer is judged by SIB-001 and SIB-003."""
    walk = _Walk()
    items = 0
    for _ in range(budget + 1):  # each page that does not end the walk adds a session not listed before
        query = {"from": first.isoformat(), "to": last.isoformat(), "limit": limit, "offset": items}
        walk.exchange = exchange = _get(run, key, url, f"tenant {key.upper()}: list of the wallbox's sessions", query)
        if exchange.status != 200:
            run.usable(exchange, key)
            if _bound_to_tenant_a(run, key):
                raise _BoundToTenantA
            raise ConfigError(f"discover: the list route answered {exchange.status} for {exchange.url} (is the "
                              f"wallbox right, and does the deployment serve the list route?)")
        _schema(run, "SIB-001", exchange)
        run.ledger.judged("SIB-003", len(cross.listed_items(exchange.body)))  # an empty list judges no session
        _record(run, "SIB-003", cross.listed_in_window(exchange.body, first, last), exchange)
        page = exchange.body
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            break
        walk.pages.append(page)
        items += len(page["items"])
        listed = {_item_id(item) for item in page["items"]} - {None}
        total = _json_integer(page.get("total"))
        promised = total is not None and items < total  # more than read so far
        if not page["items"] or (len(page["items"]) < limit and not promised):  # the end (total is XEP-002's)
            walk.complete = True
            walk.ids |= listed
            break
        if walk.ids and listed <= walk.ids:  # no session not listed before (an offset ignored): the next would repeat
            walk.repeated = True
            break
        walk.ids |= listed
        if items >= budget:
            break
    return walk


def _listed(run: LiveRun, key: str, wallbox: WallboxRef, window: Discovery,
            budget: int) -> tuple[list[SessionRef], list[Any] | None]:
    """Page the list route (SIB-001, SIB-003) with limit 200 for discovery and with a small limit for XEP-002,
    compare each ended item with its detail (XEP-001). Returns the sessions found, and every listed item when
    the walk reached the end (else None)."""
    url = run.client.url(cross.LIST_PATH.format(**wallbox.path_parameters))
    walk = _walk(run, key, url, window.from_day, window.to_day, cross.PAGE_LIMIT, budget)
    items, complete = walk.items, walk.complete
    small = _walk(run, key, url, window.from_day, window.to_day, cross.SMALL_LIMIT, min(budget, SMALL_WALK_ITEMS))
    run.ledger.judged("XEP-002")
    _record(run, "XEP-002", cross.paging_consistent(small.pages, small.complete, window.to_day < _today(),
                                                    cross.SMALL_LIMIT), small.exchange)
    # discovery's own walk: a session listed twice there (total is the small walk's to judge: one defect, one finding)
    _record(run, "XEP-002", cross.paging_consistent(walk.pages, complete, settled=False), walk.exchange)
    if walk.repeated and walk.exchange is not None:  # a repeated page was answered
        run.ledger.note(f"discovery stopped for tenant {key.upper()}: the list route answered offset "
                        f"{len(items) - len(walk.pages[-1]['items'])} with no session it had not listed before (e.g. "
                        f"{walk.exchange.url}); {len(walk.ids)} distinct session(s) were found")
    elif not complete and len(walk.ids) >= budget:
        run.ledger.note(f"discovery stopped at [discover] max_sessions = {window.max_sessions} for "
                        f"tenant {key.upper()}: the list route has more sessions than were judged")
    refs, fields, ended = [], cross.item_fields(run.contract), []
    for item in items[:budget]:
        session_id = _item_id(item)
        if session_id is None:
            continue  # SIB-001 reports it
        refs.append(wallbox.session(session_id))
        if item.get("ended_at") is not None:
            ended.append((item, refs[-1]))

    def compare(entry: tuple[Any, SessionRef]) -> None:
        item, ref = entry
        detail = run.read(ref, tenant=key, note="the detail of a listed session, to compare")
        if detail.status == 200:
            run.ledger.judged("XEP-001")
            _pin(run, detail, detail.body, _record(run, "XEP-001", cross.item_matches_detail(item, detail.body,
                                                                                             fields), detail))

    run.concurrently(compare, ended)
    return refs, items if complete else None


def _item_id(item: Any) -> int | None:
    return _json_integer(item.get("id") if isinstance(item, dict) else None)


def _json_integer(value: Any) -> int | None:
    """A JSON integer as JSON Schema reads one (7.0 is 7: a deployment writing whole numbers as floats is
    conformant), else None; a boolean is none."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None if isinstance(value, bool) or not isinstance(value, int) else value


def _windows(run: LiveRun, key: str, wallbox: WallboxRef, window: Discovery, whole: list[Any],
             running: Any) -> None:
    """XEP-004: the one-day windows of the first and the last day a listed session started on agree with the whole
    window, and the running session is listed; the day after the last start day lists none of them (SIB-003).
    SIB-004: a limit over 200 and a negative offset are refused."""
    url = run.client.url(cross.LIST_PATH.format(**wallbox.path_parameters))
    started = sorted(day for item in whole if (day := cross.started_day(item)) is not None)
    probes = dict.fromkeys((started[0], started[-1], started[-1] + datetime.timedelta(days=1))) if started else {}
    days: dict[datetime.date, list[Any]] = {}
    exchange = None
    for day in probes:
        probe = _walk(run, key, url, day, day, cross.PAGE_LIMIT, PROBE_ITEMS)
        exchange = probe.exchange
        if probe.complete:
            days[day] = probe.items
    if days or running is not None:
        run.ledger.judged("XEP-004")
        _record(run, "XEP-004", cross.windows_agree(whole, days, window.from_day, window.to_day,
                                                    settled=window.to_day < _today(), running=running), exchange)
    query = {"from": window.from_day.isoformat(), "to": window.to_day.isoformat()}
    for bad in cross.BAD_PAGING:
        asked = run.client.send("GET", url, tenant=key, params=query | bad,
                                note=f"tenant {key.upper()}: list with {', '.join(f'{k}={v}' for k, v in bad.items())}")
        if asked.status in TRANSIENT_STATUSES:  # still, after retries: infrastructure, never the route's refusal or not
            raise TargetError(f"GET {asked.url} answered {asked.status}: the sibling routes cannot be read")
        run.ledger.judged("SIB-004")
        _record(run, "SIB-004", cross.paging_refused([(bad, asked.status)]), asked)


def _current(run: LiveRun, key: str, wallbox: WallboxRef) -> Any:
    """The wallbox's running session: SIB-002, the catalogue (ongoing rules) and XEP-003 on a 200. Returns its
    session object (None without one), for XEP-004."""
    url = run.client.url(cross.CURRENT_PATH.format(**wallbox.path_parameters))
    exchange = _get(run, key, url, f"tenant {key.upper()}: the wallbox's running session")
    if exchange.status != 200:
        if exchange.status != 404:  # 404: no running session
            run.ledger.note(f"the current route answered {exchange.status} (e.g. {exchange.url}): not judged")
        return None
    sib = _schema(run, "SIB-002", exchange)
    running = exchange.body.get("session") if isinstance(exchange.body, dict) else None
    if not isinstance(running, dict):
        return None
    _pin(run, exchange, running, [f for f in sib if f.pointer.startswith("/session/")], within="/session")
    _running_session(run, exchange, running)
    session_id = _json_integer(running["session"].get("id") if isinstance(running.get("session"), dict) else None)
    if session_id is not None:
        detail = run.read(wallbox.session(session_id), tenant=key, note="the detail of the current session")
        run.ledger.judged("XEP-003")
        _pin(run, exchange, running, _record(run, "XEP-003", cross.current_matches_detail(exchange.body, detail.body),
                                             exchange), within="/session")
    return running.get("session")


def _running_session(run: LiveRun, exchange: Exchange, running: dict[str, Any]) -> None:
    """XEP-005: the catalogue on the session `current` serves, reported under XEP-005 with pointers into the
    `current` body (its schema is SIB-002's); drawn as a timeline with those findings."""
    run.ledger.judged("XEP-005")
    if run.level_of("XEP-005") is Level.OFF:
        return
    judged = run.judge.judge(running)
    findings = list(cross.current_findings(judged.findings))
    curl = run.curl(exchange)
    for finding in findings:
        run.ledger.add(Evidence(finding, exchange, curl))
    _pin(run, exchange, running, findings, within="/session")
    more = sum(n for (check_id, _), n in judged.more.items() if not check_id.startswith("SCH-"))
    run.ledger.add_counted("XEP-005", run.level_of("XEP-005"), more, exchange)  # past the findings built: counted


def _schema(run: LiveRun, check_id: str, exchange: Exchange) -> list[Finding]:
    run.ledger.judged(check_id)
    findings, more = run.siblings.problems(check_id, exchange.body)
    return _record(run, check_id, findings, exchange, more)


def _record(run: LiveRun, check_id: str, findings: Any, exchange: Exchange | None, more: int = 0) -> list[Finding]:
    """The first findings of a check on one answer, with their evidence, returned stamped; the rest (a page of a
    million bad items) and `more` already counted only counted."""
    kept, uncounted = capped(findings)
    stamped = [finding.stamped(check_id, run.level_of(check_id)) for finding in kept]
    for finding in stamped:
        run.finding(check_id, finding.message, exchange, pointer=finding.pointer, expected=finding.expected,
                    actual=finding.actual)
    run.ledger.add_counted(check_id, run.level_of(check_id), more + uncounted, exchange)
    return stamped


def _pin(run: LiveRun, exchange: Exchange, detail: Any, findings: list[Finding], within: str = "") -> None:
    """Draw the session a cross-endpoint or sibling finding is about (`detail`, a HEMSSessionDetail) with the
    findings pinned; `within`: the prefix of their pointers before the session's own (the `current` body's)."""
    if not findings or run.level_of(findings[0].check_id) is Level.OFF or run.judge.judge(detail).view is None:
        return  # nothing to pin, or a session of a shape its timeline cannot be drawn from
    path = urlsplit(exchange.url).path
    pinned = [replace(f, pointer=f.pointer.removeprefix(within)) for f in findings]
    run.sessions.pin(path, f"session {detail['session']['id']} ({path})", detail, pinned)


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()
