"""Discovery through the sibling routes: the sessions of each `[[wallboxes]]` entry, and what the routes owe
each other (XEP) and spec/siblings.yaml (SIB).

Before any check, every configured wallbox's list route is paged (limit 200, offset) over the `[discover]`
days; each session found joins its tenant's sessions, so it is judged exactly as a configured one
(invariants, object-level checks, tenant isolation). Each listed ended session's detail is read and compared
with its list item; the wallbox's `current` session is judged when it answers 200 (a 404 means none runs).
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from conformance.contract import cross
from conformance.contract.findings import capped
from conformance.errors import ConfigError, TargetError
from conformance.live.exchange import Exchange
from conformance.live.response_checks import Request, catalogue_check
from conformance.live.target import Discovery, SessionRef, Tenant, WallboxRef

if TYPE_CHECKING:
    from conformance.live.runner import LiveRun


def discover(run: LiveRun) -> None:
    """Add every discovered session to its tenant in `run.config`; judge the sibling routes on the way."""
    window = run.config.discover
    if window is None:
        return
    tenants = [_tenant(run, key, tenant, window) for key, tenant in run.config.tenants()]
    run.config = replace(run.config, tenant=tenants[0], tenant_b=tenants[1] if len(tenants) > 1 else None)


def _tenant(run: LiveRun, key: str, tenant: Tenant, window: Discovery) -> Tenant:
    found: dict[SessionRef, None] = {}
    for wallbox in tenant.wallboxes:
        budget = window.max_sessions - len(found)
        if budget <= 0:
            run.ledger.note(f"discovery stopped at [discover] max_sessions = {window.max_sessions} for tenant "
                            f"{key.upper()}: later wallboxes and sessions were not judged")
            break
        found.update(dict.fromkeys(_listed(run, key, wallbox, window, budget)))
        _current(run, key, wallbox)
    new = tuple(ref for ref in found if ref not in tenant.sessions)
    run.discovered[key] = new
    if not tenant.sessions and not new:
        raise ConfigError(f"discover: the list route lists no session of tenant {key.upper()}'s wallboxes from "
                          f"{window.from_day} to {window.to_day}: widen the window or configure [[sessions]]")
    return replace(tenant, sessions=tenant.sessions + new)


def _get(run: LiveRun, key: str, url: str, note: str, params: dict[str, Any] | None = None) -> Exchange:
    exchange = run.client.send("GET", url, tenant=key, note=note, params=params)
    if exchange.status >= 500:
        raise TargetError(f"GET {exchange.url} answered {exchange.status}: the sibling routes cannot be read")
    return exchange


def _listed(run: LiveRun, key: str, wallbox: WallboxRef, window: Discovery, budget: int) -> list[SessionRef]:
    """Page the list route (XEP-002, SIB-001), compare each ended item with its detail (XEP-001)."""
    url = run.client.url(cross.LIST_PATH.format(**wallbox.path_parameters))
    pages: list[Any] = []
    items: list[Any] = []
    ids: set[Any] = set()  # the distinct session ids listed so far
    complete = repeated = False
    for _ in range(budget):  # each page that does not end the walk adds a session: bounded by the budget
        query = {"from": window.from_day.isoformat(), "to": window.to_day.isoformat(), "limit": cross.PAGE_LIMIT,
                 "offset": len(items)}
        exchange = _get(run, key, url, f"tenant {key.upper()}: list of the wallbox's sessions", query)
        if exchange.status != 200:
            run.usable(exchange, key)
            raise ConfigError(f"discover: the list route answered {exchange.status} for {exchange.url} (is the "
                              f"wallbox right, and does the deployment serve the list route?)")
        _schema(run, "SIB-001", exchange)
        page = exchange.body
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            break
        pages.append(page)
        items += page["items"]
        listed = {_item_id(item) for item in page["items"]} - {None}
        total = page.get("total")
        if not page["items"] or (isinstance(total, int) and len(items) >= total):
            complete = True
            break
        if ids and listed <= ids:  # no session not listed before (an offset ignored): the next page would repeat
            repeated = True
            break
        ids |= listed
        if len(items) >= budget:
            break
    run.ledger.judged("XEP-002")
    _record(run, "XEP-002", cross.paging_consistent(pages, complete, window.to_day < _today()), exchange)
    if repeated:
        run.ledger.note(f"discovery stopped for tenant {key.upper()}: the list route answered offset "
                        f"{len(items) - len(pages[-1]['items'])} with no session it had not listed before (e.g. "
                        f"{exchange.url}); {len(ids)} distinct session(s) were found")
    elif not complete and len(ids) >= budget:
        run.ledger.note(f"discovery stopped at [discover] max_sessions = {window.max_sessions} for "
                        f"tenant {key.upper()}: the list route has more sessions than were judged")
    refs, fields = [], cross.item_fields(run.contract)
    for item in items[:budget]:
        session_id = _item_id(item)
        if session_id is None:
            continue  # SIB-001 reports it
        ref = wallbox.session(session_id)
        refs.append(ref)
        if item.get("ended_at") is not None:
            detail = run.read(ref, tenant=key, note="the detail of a listed session, to compare")
            if detail.status == 200:
                run.ledger.judged("XEP-001")
                _record(run, "XEP-001", cross.item_matches_detail(item, detail.body, fields), detail)
    return refs


def _item_id(item: Any) -> int | None:
    session_id = item.get("id") if isinstance(item, dict) else None
    return None if isinstance(session_id, bool) or not isinstance(session_id, int) else session_id


def _current(run: LiveRun, key: str, wallbox: WallboxRef) -> None:
    """The wallbox's running session: SIB-002, the catalogue (ongoing rules) and XEP-003 on a 200."""
    url = run.client.url(cross.CURRENT_PATH.format(**wallbox.path_parameters))
    exchange = _get(run, key, url, f"tenant {key.upper()}: the wallbox's running session")
    if exchange.status != 200:
        if exchange.status != 404:  # 404: no running session
            run.ledger.note(f"the current route answered {exchange.status} (e.g. {exchange.url}): not judged")
        return
    _schema(run, "SIB-002", exchange)
    running = exchange.body.get("session") if isinstance(exchange.body, dict) else None
    if not isinstance(running, dict):
        return
    for evidence in catalogue_check(Request(replace(exchange, body=running), curl=run.curl(exchange)), run.context):
        run.ledger.add(evidence)
    session_id = running.get("session", {}).get("id") if isinstance(running.get("session"), dict) else None
    if isinstance(session_id, int) and not isinstance(session_id, bool):
        detail = run.read(wallbox.session(session_id), tenant=key, note="the detail of the current session")
        run.ledger.judged("XEP-003")
        _record(run, "XEP-003", cross.current_matches_detail(exchange.body, detail.body), exchange)


def _schema(run: LiveRun, check_id: str, exchange: Exchange) -> None:
    run.ledger.judged(check_id)
    findings, more = run.siblings.problems(check_id, exchange.body)
    _record(run, check_id, findings, exchange, more)


def _record(run: LiveRun, check_id: str, findings: Any, exchange: Exchange, more: int = 0) -> None:
    """The first findings of a check on one answer, with their evidence; the rest (a page of a million bad items)
    and `more` already counted only counted."""
    kept, uncounted = capped(findings)
    for finding in kept:
        run.finding(check_id, finding.message, exchange, pointer=finding.pointer, expected=finding.expected,
                    actual=finding.actual)
    run.ledger.add_counted(check_id, run.level_of(check_id), more + uncounted, exchange)


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()
