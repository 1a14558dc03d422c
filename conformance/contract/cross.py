"""Cross-endpoint invariants (XEP) and the supplementary contract of the sibling routes (SIB).

The pinned endpoint has two siblings (spec/siblings.yaml): the list of a wallbox's sessions and its running
session. What one route answers must agree with what the others answer for the same session. Each entry
quotes the text it rests on, verbatim from spec/siblings.yaml or spec/openapi.yaml (whitespace folded; '; '
separates places); interpretations go in `reading`. The check functions are pure: they receive parsed
answers and yield `Finding`s with the place and the facts; the live run stamps ID and level.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.contract import pointers
from conformance.contract.catalogue import CATALOGUE, Invariant
from conformance.contract.clipping import MESSAGE_LIMIT, clip
from conformance.contract.findings import Finding, capped
from conformance.contract.levels import Level
from conformance.contract.payload import parse_instant
from conformance.contract.schema_errors import SchemaErrors
from conformance.contract.spec import SESSION_PATH, Contract, bundled_spec_path, read_document
from conformance.errors import ContractError

LIST_PATH = SESSION_PATH.rsplit("/", 1)[0]
CURRENT = "current"  # the last segment of the current route: a route, never a session id
CURRENT_PATH = f"{LIST_PATH}/{CURRENT}"
PAGE_LIMIT = 200  # the list route's largest page (limit: maximum: 200)
SMALL_LIMIT = 2  # the page size XEP-002 walks with: a total that is only the page's length shows on page 2
_DAY = datetime.timedelta(days=1)
_PINNED_REF = "openapi.yaml#"

FAMILIES = {
    "XEP": "Cross-endpoint: list, current and detail agree",
    "SIB": "Sibling routes against spec/siblings.yaml (supplementary contract)",
}
CROSS: dict[str, Invariant] = {}


def _entry(id: str, level: Level, statement: str, spec: str, source: str, reading: str, basis: str) -> None:
    CROSS[id] = Invariant(id=id, family=id.split("-")[0], level=level, statement=statement, spec=" ".join(spec.split()),
                          source=source, check=None, basis=basis, reading=" ".join(reading.split()))


_entry(
    "XEP-001", Level.SHOULD,
    "A list item of an ended session equals the session object the detail route serves for the same id.",
    "List standalone HEMS steering sessions for a wallbox; $ref: 'openapi.yaml#/components/schemas/HEMSSessionItem'; "
    "session: $ref: '#/components/schemas/HEMSSessionItem'",
    "siblings.yaml HEMSSessionList.items; openapi.yaml HEMSSessionDetail.session",
    "Both routes answer the same schema for the same session, so an ended session (whose figures are final) reads "
    "the same on both. Compared as parsed JSON in the properties HEMSSessionItem declares (undeclared extras may "
    "differ): key order and 7 vs 7.0 aside, date-times as instants. Ongoing "
    "sessions are left out (their figures move between the two reads). SHOULD: Podero's text names the same "
    "schema but does not say the two are one record.",
    "schema",
)
_entry(
    "XEP-002", Level.SHOULD,
    "Paging through a window lists every session once, no page holds more than limit items, and total is the "
    "same on every page and equals the items counted over all pages.",
    "total: type: integer; description: Page size (max 200); description: Offset for pagination",
    "siblings.yaml paths.<list>.get.parameters limit, offset; HEMSSessionList.total",
    f"Pages fetched with limit {SMALL_LIMIT} and offsets 0, {SMALL_LIMIT}, ... (a small page, so a total that counts "
    "only the page shows), besides discovery's walk with limit 200: no session id appears twice, no page holds more "
    "than limit items, total is the same on every page, and a walk that reached the end holds total items. A window "
    "whose last day is today or later is not judged for total (sessions may start meanwhile). SHOULD: the "
    "reference does not define total in words.",
    "schema",
)
_entry(
    "XEP-003", Level.SHOULD,
    "The current session is running (ended_at null), and its id and started_at agree with the detail route.",
    "Get the currently running standalone HEMS session for a wallbox; session: $ref: "
    "'openapi.yaml#/components/schemas/HEMSSessionDetail'",
    "siblings.yaml paths.<current>.get",
    "\"Currently running\" reads as ended_at null. The detail of the same id is read right after; it may have "
    "ended meanwhile, so only id and started_at (an instant) are compared. A 404 means no running session and is "
    "not judged.",
    "normative",
)
_entry(
    "XEP-004", Level.SHOULD,
    "Windows agree: a session listed for the whole window is listed for the one-day window of the day it started, "
    "and the reverse; the current session is listed when it started inside the window.",
    "description: Inclusive lower bound day (UTC, YYYY-MM-DD); description: Inclusive upper bound day (UTC, "
    "YYYY-MM-DD); summary: Get the currently running standalone HEMS session for a wallbox",
    "siblings.yaml paths.<list>.get.parameters from, to; paths.<current>.get.summary",
    "Both bounds are inclusive days, so the one-day windows of the first and the last day a listed session started "
    "on (from = to = that day) list exactly the sessions of the whole window that started that day: a deployment "
    "that reads `to` as exclusive lists nothing for a one-day window, and one that drops or adds a day shows it "
    "here. The running session `current` serves is listed when its started_at lies inside the window (else it is "
    "never judged as a listed session). The reverse direction is judged only for a window in the past (sessions "
    "may start meanwhile). SHOULD: Podero's text bounds days, not which instant of a session they bound.",
    "normative",
)
_entry(
    "XEP-005", Level.MUST,
    "The running session `current` serves keeps the catalogue's invariants (ongoing rules).",
    "session: $ref: 'openapi.yaml#/components/schemas/HEMSSessionDetail'",
    "siblings.yaml HEMSCurrentSession.session",
    "The body is a HEMSCurrentSession: its `session` is a HEMSSessionDetail, judged by the whole catalogue as the "
    "detail route's answers are, its findings reported here (never under the detail route's IDs): each names the "
    "catalogue invariant it comes from and keeps that invariant's level for a running session, its pointer relative "
    "to the `current` body (/session/...). The schema of the whole body is SIB-002's.",
    "schema",
)
_entry(
    "SIB-001", Level.MUST,
    "A 200 of the list route validates against HEMSSessionList.",
    "$ref: '#/components/schemas/HEMSSessionList'; required: - total - items",
    "siblings.yaml paths.<list>.get.responses.200",
    "JSON Schema 2020-12, formats on, with the pinned spec's HEMSSessionItem. The supplementary contract is written "
    "from Podero's API reference, not pinned: lower it with [judge.levels] if the reference changes.",
    "schema",
)
_entry(
    "SIB-002", Level.MUST,
    "A 200 of the current route validates against HEMSCurrentSession.",
    "$ref: '#/components/schemas/HEMSCurrentSession'; required: - session",
    "siblings.yaml paths.<current>.get.responses.200",
    "As SIB-001, with the pinned spec's HEMSSessionDetail; pointers are relative to the `current` body. The inner "
    "detail's invariants are XEP-005's.",
    "schema",
)
_entry(
    "SIB-003", Level.SHOULD,
    "Every session the list route lists started within its window: from 00:00Z up to (not including) the day after "
    "to, 00:00Z.",
    "description: Inclusive lower bound day (UTC, YYYY-MM-DD); description: Inclusive upper bound day (UTC, "
    "YYYY-MM-DD)",
    "siblings.yaml paths.<list>.get.parameters from, to",
    "Inclusive UTC days: a session started at 23:59:59.999Z on to is inside, one started at 00:00Z the day after is "
    "not, whatever offset its started_at is written in (compared as instants). Judged on every list answer the run "
    "reads (discovery, the small-page walk and the one-day windows of XEP-004, among them the day after the last "
    "start day). SHOULD: the text bounds days but does not say they bound started_at (a deployment might list "
    "sessions that overlap the window).",
    "normative",
)
_entry(
    "SIB-004", Level.SHOULD,
    "The list route refuses a limit over 200 and a negative offset (4xx).",
    "maximum: 200 minimum: 1; description: Page size (max 200); minimum: 0 type: integer; description: Offset for "
    "pagination",
    "siblings.yaml paths.<list>.get.parameters limit, offset",
    "limit=201 and offset=-1 are outside the declared ranges: Django Ninja (whose defaults the reference shows) answers "
    "422; any 4xx is a refusal. A 2xx serves a page the reference rules out, a 5xx is no refusal either. SHOULD: a "
    "deployment clamping limit to 200 contradicts no sentence, only the declared range.",
    "schema",
)

# What each check needs to be exercised: while it judged nothing, a run reports it "not exercised" with this,
# never "passed" (tests/contract/test_needs.py).
CROSS_NEEDS: dict[str, str] = {
    "XEP-001": "a listed ended session whose detail answered 200",
    "XEP-002": "a list answer (200) of a wallbox in [[wallboxes]]",
    "XEP-003": "a `current` answer (200) holding a session with an integer id",
    "XEP-004": "a listed session or a running one (a `current` answer holding a session)",
    "XEP-005": "a `current` answer (200) holding a session object",
    "SIB-001": "a list answer (200) of a wallbox in [[wallboxes]]",
    "SIB-002": "a `current` answer (200): a running session",
    "SIB-003": "a listed session (a list answer with items)",
    "SIB-004": "a wallbox in [[wallboxes]] whose list route answers",
}


# --- the supplementary contract ---


def _local_refs(value: Any) -> Any:
    """References into the pinned spec (`openapi.yaml#/...`) as local ones: the schemas are merged."""
    if isinstance(value, dict):
        return {k: (v.replace(_PINNED_REF, "#", 1) if k == "$ref" and isinstance(v, str) else _local_refs(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_local_refs(v) for v in value]
    return value


@dataclass(frozen=True)
class SiblingContract:
    """spec/siblings.yaml over the pinned spec's components: a validator per sibling route's 200."""

    path: Path
    sha256: str
    document: dict[str, Any] = field(repr=False)
    components: dict[str, Any] = field(repr=False)

    @cached_property
    def _validators(self) -> dict[str, Any]:
        schemas = self.components.get("schemas", {}) | _local_refs(self.document["components"]["schemas"])
        root = {"components": {"schemas": schemas}}
        return {check_id: SchemaErrors(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": f"#/components/schemas/{name}"} | root,
            validate_formats=True) for check_id, name in (("SIB-001", "HEMSSessionList"), ("SIB-002", "HEMSCurrentSession"))}

    def problems(self, check_id: str, body: Any) -> tuple[list[Finding], int]:
        """Schema findings of a 200 body of the route `check_id` judges (SIB-001 list, SIB-002 current): the first
        FINDINGS_BUILT, and how many more there are (counted, never built: a page may hold a million bad items)."""
        validator = self._validators[check_id]
        if validator.is_valid(body):
            return [], 0
        errors, more = capped(validator.errors(body))
        return [Finding(pointers.join((*place, *error.instance_path)), clip(error.message, MESSAGE_LIMIT),
                        "per spec/siblings.yaml at " + pointers.join(error.schema_path), None)
                for place, error in errors], more


def load_siblings(contract: Contract, path: str | Path | None = None) -> SiblingContract:
    sibling_path = Path(path) if path is not None else bundled_spec_path("siblings.yaml")
    document, sha256 = read_document(sibling_path, "the sibling contract")
    if not isinstance(document, dict) or not isinstance(document.get("components", {}).get("schemas"), dict):
        raise ContractError(f"{sibling_path}: no components.schemas in the sibling contract")
    return SiblingContract(sibling_path, sha256, document,
                           contract.document.get("components", {}))


# --- the cross-endpoint checks ---


def _same(a: Any, b: Any) -> bool:
    """Equal as parsed JSON, date-times as instants."""
    instants = parse_instant(a), parse_instant(b)
    if None not in instants:
        return instants[0] == instants[1]
    return a == b


def item_fields(contract: Contract) -> tuple[str, ...]:
    """The properties HEMSSessionItem declares: what XEP-001 compares (undeclared extras may differ)."""
    return tuple(contract.document["components"]["schemas"].get("HEMSSessionItem", {}).get("properties", {}))


def item_matches_detail(item: Any, detail: Any, fields: Iterable[str]) -> Iterator[Finding]:
    """XEP-001: an ended session's list item against the detail's session object, in the declared `fields`."""
    session = detail.get("session") if isinstance(detail, dict) else None
    if not isinstance(item, dict) or not isinstance(session, dict) or session.get("ended_at") is None:
        return
    for key in fields:
        if not _same(item.get(key), session.get(key)):
            yield Finding(f"/session/{key}", f"list item and detail of session {session.get('id')!r} differ at {key}",
                          expected=session.get(key), actual=item.get(key))


def paging_consistent(pages: Iterable[Any], complete: bool, settled: bool, limit: int = PAGE_LIMIT) -> Iterator[Finding]:
    """XEP-002: the pages of one window, in order, read with `limit`. `complete`: the walk reached the end (not
    cut short); `settled`: the window lies in the past, so its total cannot change between requests."""
    pages = [p for p in pages if isinstance(p, dict) and isinstance(p.get("items"), list)]
    seen: set[Any] = set()
    for n, page in enumerate(pages):
        if len(page["items"]) > limit:
            yield Finding("/items", f"page {n + 1} holds {len(page['items'])} items, asked for limit={limit}",
                          expected=f"<= {limit} items", actual=len(page["items"]))
        for i, item in enumerate(page["items"]):
            key = item.get("id") if isinstance(item, dict) else None
            if key in seen:
                yield Finding(f"/items/{i}/id", f"session {key!r} is listed twice (again on page {n + 1})",
                              expected="each session once", actual=key)
            seen.add(key)
    totals = [p.get("total") for p in pages]
    if settled and len(set(map(repr, totals))) > 1:
        yield Finding("/total", "total changes from page to page", expected=totals[0], actual=totals)
    elif settled and complete and totals and totals[0] != len(seen):
        yield Finding("/total", f"total says {totals[0]!r}, the pages list {len(seen)} sessions",
                      expected=len(seen), actual=totals[0])


def current_matches_detail(current: Any, detail: Any) -> Iterator[Finding]:
    """XEP-003: the running session of `current` against the detail route's answer for its id."""
    running = current.get("session") if isinstance(current, dict) else None
    session = running.get("session") if isinstance(running, dict) else None
    if not isinstance(session, dict):
        return
    if session.get("ended_at") is not None:
        yield Finding("/session/session/ended_at", "the current session has ended", expected=None,
                      actual=session.get("ended_at"))
    other = detail.get("session") if isinstance(detail, dict) else None
    if not isinstance(other, dict):
        return
    for key in ("id", "started_at"):
        if not _same(session.get(key), other.get(key)):
            yield Finding(f"/session/session/{key}", f"current and detail disagree on {key}",
                          expected=other.get(key), actual=session.get(key))


# --- the list route's window (SIB-003, XEP-004) and paging parameters (SIB-004) ---


def window_instants(first: datetime.date, last: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[from 00:00Z, to + 1 day 00:00Z): the instants inclusive UTC days from..to cover."""
    start = datetime.datetime.combine(first, datetime.time(), datetime.UTC)
    return start, datetime.datetime.combine(last + _DAY, datetime.time(), datetime.UTC)


def started_day(item: Any) -> datetime.date | None:
    """The UTC day a listed session started on; None when started_at is no date-time with an offset."""
    started = parse_instant(item.get("started_at")) if isinstance(item, dict) else None
    return started.astimezone(datetime.UTC).date() if started is not None and started.tzinfo else None


def listed_items(page: Any) -> list[Any]:
    """The items of a list answer; none when it has no list of items (SIB-001's)."""
    return page["items"] if isinstance(page, dict) and isinstance(page.get("items"), list) else []


def listed_in_window(page: Any, first: datetime.date, last: datetime.date) -> Iterator[Finding]:
    """SIB-003: every item of one list answer for the window first..last started inside it."""
    low, high = window_instants(first, last)
    for i, item in enumerate(listed_items(page)):
        day = started_day(item)
        if day is not None and not first <= day <= last:
            yield Finding(f"/items/{i}/started_at", f"session {item.get('id')!r} started outside the window "
                          f"from={first} to={last} (inclusive UTC days)",
                          expected=f"{low.isoformat()} <= started_at < {high.isoformat()}", actual=item["started_at"])


def _ids_by_day(items: Iterable[Any]) -> dict[datetime.date, set[Any]]:
    found: dict[datetime.date, set[Any]] = {}
    for item in items:
        day = started_day(item)
        if day is not None:
            found.setdefault(day, set()).add(item.get("id"))
    return found


def windows_agree(whole: Iterable[Any], days: Mapping[datetime.date, Iterable[Any]], first: datetime.date,
                  last: datetime.date, *, settled: bool, running: Any = None) -> Iterator[Finding]:
    """XEP-004: the items of the whole window first..last (all of them: a walk that reached the end) against the
    items listed for one-day windows (`days`: day -> items), and the `running` session object of `current`."""
    whole = list(whole)
    listed = _ids_by_day(whole)
    for day, items in sorted(days.items()):
        shown = _ids_by_day(items).get(day, set())
        for missing in sorted(listed.get(day, set()) - shown, key=repr):
            yield Finding("/items", f"session {missing!r} is listed for from={first} to={last} but not for the "
                          f"one-day window from={day} to={day}, the day it started",
                          expected=f"listed for {day}..{day}", actual="not listed")
        if settled and first <= day <= last:
            for extra in sorted(shown - listed.get(day, set()), key=repr):
                yield Finding("/items", f"session {extra!r} is listed for the one-day window from={day} to={day} "
                              f"but not for from={first} to={last}", expected=f"listed for {first}..{last}",
                              actual="not listed")
    running_day = started_day(running)
    if running_day is not None and first <= running_day <= last \
            and running.get("id") not in {i.get("id") for i in whole if isinstance(i, dict)}:
        yield Finding("/items", f"the running session {running.get('id')!r} (current) started on {running_day}, inside "
                      f"from={first} to={last}, but is not listed", expected="listed", actual="not listed")


BAD_PAGING = ({"limit": PAGE_LIMIT + 1}, {"offset": -1})  # what SIB-004 sends (with a valid window)


def paging_refused(answers: Iterable[tuple[Mapping[str, Any], int]]) -> Iterator[Finding]:
    """SIB-004: each (query parameters out of range, status answered) is refused with a 4xx."""
    for query, status in answers:
        if not 400 <= status < 500:
            asked = ", ".join(f"{k}={v}" for k, v in query.items())
            yield Finding("", f"{asked} answered {status}, not a refusal", expected="4xx (e.g. 422)", actual=status)


def current_findings(judged: Iterable[Finding]) -> Iterator[Finding]:
    """XEP-005: the catalogue's findings on the session of a `current` body, each under XEP-005 at its own level,
    naming its invariant, its pointer relative to the body; schema findings are left to SIB-002."""
    for finding in judged:
        if CATALOGUE[finding.check_id].family != "SCH":
            yield Finding(f"/session{finding.pointer}", f"{finding.check_id}: {finding.message}", finding.expected,
                          finding.actual, "XEP-005", finding.level)
