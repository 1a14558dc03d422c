"""Cross-endpoint invariants (XEP) and the supplementary contract of the sibling routes (SIB).

The pinned endpoint has two siblings (spec/siblings.yaml): the list of a wallbox's sessions and its running
session. What one route answers must agree with what the others answer for the same session. Each entry
quotes the text it rests on, verbatim from spec/siblings.yaml or spec/openapi.yaml (whitespace folded; '; '
separates places); interpretations go in `reading`. The check functions are pure: they receive parsed
answers and yield `Finding`s with the place and the facts; the live run stamps ID and level.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.contract import pointers
from conformance.contract.catalogue import Invariant
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
    "Paging through a window lists every session once, and total agrees with the pages.",
    "total: type: integer; description: Page size (max 200); description: Offset for pagination",
    "siblings.yaml paths.<list>.get.parameters limit, offset; HEMSSessionList.total",
    "Pages fetched with limit 200 and offsets 0, 200, ...: no session id appears twice, total is the same on every "
    "page, and a walk that reached the end holds total items. A window whose last day is today or later is not "
    "judged for total (sessions may start meanwhile). SHOULD: the reference does not define total in words.",
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
    "As SIB-001, with the pinned spec's HEMSSessionDetail. The inner detail is also judged by the whole catalogue "
    "(ongoing rules).",
    "schema",
)


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


def paging_consistent(pages: Iterable[Any], complete: bool, settled: bool) -> Iterator[Finding]:
    """XEP-002: the pages of one window, in order. `complete`: the walk reached the end (not cut short);
    `settled`: the window lies in the past, so its total cannot change between requests."""
    pages = [p for p in pages if isinstance(p, dict) and isinstance(p.get("items"), list)]
    seen: set[Any] = set()
    for n, page in enumerate(pages):
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
