"""The traceability matrix: every normative unit of the spec, with the checks that enforce it or why none can.

A unit is one line of an enum description (`CHARGED_FROM_SOLAR - ...`), one sentence of any other description
or summary, one `required` list, one `enum` (its values), one `format`, one security requirement or one token URL;
the charter's three invariants (`CHARTER`, normative for this project whatever the spec's wording) and the units
of spec/siblings.yaml (the list and current routes, enforced by the XEP and SIB checks) are units of their own. A catalogue
invariant enforces a description unit when one of its verbatim quotes lies inside the unit (or the unit
inside the quote); `_TABLE` adds the live cases and the structural units, and gives the reason for every
unit no check can enforce. `tests/contract/test_trace.py` fails on a unit with neither, so a new sentence of the
spec cannot slip through; `diff` tells the release gate which units a newer spec changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from conformance.contract import pointers
from conformance.contract.catalogue import CATALOGUE, CHARTER, Invariant
from conformance.contract.cross import CROSS
from conformance.contract.spec import bundled_spec_path, read_document
from conformance.contract.standards import CLAUSES

_ENUM_LINE = re.compile(r"[A-Z][A-Z_]*[A-Z]\s+-\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc)\.$")
_QUOTE_SEPARATOR = re.compile(r"; | ?\(\.\.\.\) ?")
_MIN_QUOTE = 20  # shorter quotes ("decision timeline") name a thing, not a statement: they match too much


def _fold(text: str) -> str:
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    """The sentences of a prose paragraph ("e.g." does not end one)."""
    pieces: list[str] = []
    for piece in _SENTENCE_END.split(_fold(text)):
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] += " " + piece
        elif piece:
            pieces.append(piece)
    return pieces


def description_units(text: str) -> list[str]:
    """A description cut into units: each enum line with its indented continuation, each sentence of the rest."""
    units: list[str] = []
    prose: list[str] = []
    enum_line: list[str] | None = None

    def flush_prose() -> None:
        units.extend(sentences(" ".join(prose)))
        prose.clear()

    for line in text.split("\n"):
        if _ENUM_LINE.match(line):
            flush_prose()
            enum_line = [line]
            units.append("")
        elif enum_line is not None and line[:1].isspace() and line.strip():
            enum_line.append(line)
        else:
            enum_line = None
            if line.strip():
                prose.append(line)
            else:
                flush_prose()
        if enum_line is not None:
            units[-1] = _fold(" ".join(enum_line))
    flush_prose()
    return units


def spec_units(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(pointer, text) of every unit of an OpenAPI document, in document order."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                here = (*path, str(key))
                if key in ("description", "summary") and isinstance(value, str):
                    found.extend((pointers.join(here), unit) for unit in description_units(value))
                elif key == "required" and isinstance(value, list):
                    found.append((pointers.join(here), "required: " + ", ".join(map(str, value))))
                elif key == "enum" and isinstance(value, list):  # a value added or renamed is a change to revisit
                    found.append((pointers.join(here), "enum: " + ", ".join(map(str, value))))
                elif key in ("format", "tokenUrl") and isinstance(value, str):
                    found.append((pointers.join(here), f"{key}: {value}"))
                elif key == "security" and isinstance(value, list):
                    names = [name for requirement in value if isinstance(requirement, Mapping) for name in requirement]
                    found.append((pointers.join(here), "security: " + (", ".join(names) if names else "[]")))
                else:
                    walk(value, here)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, str(i)))

    walk(document, ())
    return found


def _quotes(entries: Iterable[Invariant]) -> dict[str, list[str]]:
    """Each check's verbatim quotes, cut into sentences, long enough to say something."""
    quotes = {}
    for inv in entries:
        pieces = [s for q in _QUOTE_SEPARATOR.split(inv.spec) for s in sentences(q)]
        quotes[inv.id] = [_fold(p) for p in pieces if len(p) >= _MIN_QUOTE]
    return quotes


def _traced(units: Iterable[tuple[str, str]], quotes: dict[str, list[str]],
            table: Callable[[str, str], tuple[tuple[str, ...], str | None]], source: str = "") -> list[Row]:
    """A row per unit: the checks whose quotes lie in it (or it in them) plus the table's, else the table's reason."""
    rows = []
    for pointer, text in units:
        unit = _fold(text)
        checks = [check for check, pieces in quotes.items() if any(p in unit or unit in p for p in pieces)]
        extra, reason = table(pointer, text)
        checks += [c for c in extra if c not in checks]
        rows.append(Row(source + pointer, text, sorted(checks, key=_check_order), None if checks else reason))
    return rows


_OP = "/paths/~1api~1partners~1v2.0~1org~1{org_id}~1users~1{user_id}~1wallboxes~1{wallbox_id}~1hems-sessions~1{session_id}/get"
_SCHEMAS = "/components/schemas"
_AUTH = ("AUTH-001", "AUTH-002", "AUTH-003", "AUTH-004", "AUTH-005")
_TOKEN = ("TOK-001", "TOK-002", "TOK-003", "TOK-004")
_INTERNAL = "internal data source, not observable through the API"
_INTRO = "introduces the values below; each value's own line is traced"
_ENUM = (("SCH-001",), None)  # the schema refuses a value outside an enum; each value's meaning is its description line's

# (pointer, start of the unit's text) -> (checks beyond the quoting invariants, reason when there are none).
# A unit matches the longest key whose pointer equals its own and whose text starts it.
_TABLE: dict[tuple[str, str], tuple[tuple[str, ...], str | None]] = {
    ("/info/description", ""): ((), "describes the Partner API as a whole, not this endpoint's behaviour"),
    ("/security", "security: []"): (("AUTH-001",), None),
    (f"{_OP}/summary", "Get one standalone"): (("RSP-001",), None),
    (f"{_OP}/parameters/0/description", ""): (("OBJ-002", "OBJ-004"), None),
    (f"{_OP}/parameters/0/schema/description", ""): (("OBJ-002", "OBJ-004"), None),
    (f"{_OP}/parameters/0/schema/format", ""): (("FUZ-002",), None),
    (f"{_OP}/parameters/1/description", ""): (("OBJ-002", "OBJ-003"), None),
    (f"{_OP}/parameters/1/schema/description", ""): (("OBJ-002", "OBJ-003"), None),
    (f"{_OP}/parameters/1/schema/format", ""): (("FUZ-002",), None),
    (f"{_OP}/parameters/2/description", ""): (("OBJ-002", "OBJ-003"), None),
    (f"{_OP}/parameters/2/schema/description", ""): (("OBJ-002", "OBJ-003"), None),
    (f"{_OP}/parameters/2/schema/format", ""): (("FUZ-002",), None),
    (f"{_OP}/parameters/3/description", ""): (("RSP-001", "OBJ-001"), None),
    (f"{_OP}/parameters/3/schema/description", ""): (("RSP-001", "OBJ-001"), None),
    (f"{_OP}/responses/200/description", ""): (("RSP-001", "RSP-002"), None),
    (f"{_OP}/security", ""): ((*_AUTH, "OBJ-004"), None),
    (f"{_SCHEMAS}/HEMSSessionDetail/required", ""): (("SCH-001",), None),
    (f"{_SCHEMAS}/HEMSSessionItem/required", ""): (("SCH-001",), None),
    (f"{_SCHEMAS}/HEMSDecisionItem/required", ""): (("SCH-001",), None),
    (f"{_SCHEMAS}/HEMSCommandItem/required", ""): (("SCH-001",), None),
    (f"{_SCHEMAS}/HEMSSessionItem/properties/started_at/format", ""): (("SCH-002",), None),
    (f"{_SCHEMAS}/HEMSSessionItem/properties/ended_at/anyOf/0/format", ""): (("SCH-002",), None),
    (f"{_SCHEMAS}/HEMSDecisionItem/properties/time/format", ""): (("SCH-002",), None),
    (f"{_SCHEMAS}/HEMSCommandItem/properties/time/format", ""): (("SCH-002",), None),
    (f"{_SCHEMAS}/HEMSDecisionItem/description", "Typed view"): ((), _INTERNAL),
    (f"{_SCHEMAS}/SmartChargingDecisionKind/description", "What a Smart Charging"): ((), _INTRO),
    (f"{_SCHEMAS}/SmartChargingDecisionKind/description", "Smart Charging vertical only"): (
        (), "scope of the enum across Podero's verticals: this endpoint serves wallboxes only"),
    (f"{_SCHEMAS}/SmartChargingDecisionKind/description", "One row per decision point"): (("REF-003",), None),
    (f"{_SCHEMAS}/SmartChargingDecisionKind/description", "Values are device-neutral"): (
        (), "a future direction (the EV path, PLF-700): nothing this endpoint serves today"),
    (f"{_SCHEMAS}/SmartChargingDecisionKind/description", "STEP "): (("KND-002",), None),
    (f"{_SCHEMAS}/SmartChargingDecisionKind/description", "STOP "): (("KND-003",), None),
    (f"{_SCHEMAS}/SteeringOutcome/description", "Per-command verdict"): (("CNT-004", "EVD-001", "EVD-008"), None),
    (f"{_SCHEMAS}/SteeringOutcome/description", "REJECTED"): (("EVD-004", "EVD-005", "EVD-007"), None),
    (f"{_SCHEMAS}/SteeringOutcome/description", "UNREACHABLE"): (("EVD-004", "EVD-007"), None),
    (f"{_SCHEMAS}/SteeringOutcome/description", "TIMEOUT"): (("EVD-004", "EVD-007"), None),
    (f"{_SCHEMAS}/SteeringOutcome/description", "NOT_CAPABLE"): (("EVD-004", "EVD-007"), None),
    ("/components/securitySchemes/OAuth2/flows/password/tokenUrl", ""): (_TOKEN, None),
    ("/components/securitySchemes/OAuth2/flows/clientCredentials/tokenUrl", ""): (_TOKEN, None),
}


@dataclass(frozen=True)
class Row:
    """One unit of the spec and what enforces it."""

    pointer: str
    text: str
    checks: list[str] = field(default_factory=list)
    reason: str | None = None
    change: str | None = None  # only in a comparison: added, changed, removed or unchanged
    was: str | None = None  # a changed unit's text in the pinned spec
    revisit: list[str] = field(default_factory=list)  # a changed or removed unit's checks in the pinned spec

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.change is None:
            del data["change"], data["was"], data["revisit"]
        elif self.change not in ("changed", "removed"):
            del data["was"], data["revisit"]
        return data


def _table_key(pointer: str, text: str) -> tuple[str, str] | None:
    keys = [key for key in _TABLE if key[0] == pointer and text.startswith(key[1])]
    return max(keys, key=lambda key: len(key[1])) if keys else None


def table_keys_used(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The `_TABLE` keys some unit of `document` uses (a test keeps the table free of dead entries)."""
    return {key for pointer, text in spec_units(document) if (key := _table_key(pointer, text)) is not None}


def table_check_ids() -> set[str]:
    return {check for checks, _ in _TABLE.values() for check in checks}


def trace(document: Mapping[str, Any]) -> list[Row]:
    """Every unit of `document` with its checks (catalogue quotes plus `_TABLE`) or its reason, then the sibling
    routes' (spec/siblings.yaml) and the charter's."""
    rows = _enum_readers(_traced(spec_units(document), _quotes(CATALOGUE.values()), _table_entry))
    return rows + sibling_rows() + charter_rows()


def _enum_readers(rows: list[Row]) -> list[Row]:
    """An enum's row also names the checks that enforce its schema's description (the values' meanings): a value a
    newer spec adds or renames is a reading of each of them to revisit."""
    described: dict[str, set[str]] = {}
    for row in rows:
        if row.pointer.endswith("/description"):
            described.setdefault(row.pointer.rsplit("/", 1)[0], set()).update(row.checks)
    return [replace(row, checks=sorted(set(row.checks) | described.get(row.pointer.rsplit("/", 1)[0], set()),
                                       key=_check_order)) if row.text.startswith("enum: ") else row for row in rows]


def _table_entry(pointer: str, text: str) -> tuple[tuple[str, ...], str | None]:
    if text.startswith("enum: "):
        return _ENUM
    key = _table_key(pointer, text)
    return _TABLE[key] if key is not None else ((), None)


SIBLINGS_SOURCE = "siblings.yaml#"  # the pointers of the sibling routes' units (spec/siblings.yaml)
_LIST = "/paths/~1api~1partners~1v2.0~1org~1{org_id}~1users~1{user_id}~1wallboxes~1{wallbox_id}~1hems-sessions/get"
_CURRENT = _LIST.replace("hems-sessions/get", "hems-sessions~1current/get")
_SENT = "a parameter the suite sends from the configuration ([[wallboxes]], [discover]); not a behaviour to judge"
_SIBLING_TABLE: dict[tuple[str, str], tuple[tuple[str, ...], str | None]] = {
    (f"{_LIST}/summary", ""): (("SIB-001", "XEP-002"), None),
    (f"{_LIST}/parameters/3/schema/format", ""): ((), _SENT),
    (f"{_LIST}/parameters/4/schema/format", ""): ((), _SENT),
    (f"{_LIST}/responses/200/description", ""): (("SIB-001",), None),
    (f"{_LIST}/security", ""): ((), "the sibling routes are read with each tenant's own token; authentication is "
                                     "judged on the pinned endpoint (AUTH-*)"),
    (f"{_CURRENT}/responses/200/description", ""): (("SIB-002",), None),
    (f"{_CURRENT}/security", ""): ((), "the sibling routes are read with each tenant's own token; authentication is "
                                        "judged on the pinned endpoint (AUTH-*)"),
    ("/components/parameters/org_id/schema/format", ""): ((), _SENT),
    ("/components/parameters/org_id/description", ""): ((), _SENT),
    ("/components/parameters/user_id/schema/format", ""): ((), _SENT),
    ("/components/parameters/user_id/description", ""): ((), _SENT),
    ("/components/parameters/wallbox_id/schema/format", ""): ((), _SENT),
    ("/components/parameters/wallbox_id/description", ""): ((), _SENT),
    ("/components/schemas/HEMSSessionList/required", ""): (("SIB-001",), None),
    ("/components/schemas/HEMSCurrentSession/required", ""): (("SIB-002",), None),
}


def sibling_rows(document: Mapping[str, Any] | None = None) -> list[Row]:
    """The units of spec/siblings.yaml (the list and current routes), each with the XEP and SIB checks that quote
    it or `_SIBLING_TABLE`'s, or the reason none can."""
    if document is None:
        document = read_document(bundled_spec_path("siblings.yaml"), "the sibling contract")[0]
    return _traced(spec_units(document), _quotes(CROSS.values()),
                   lambda pointer, text: _ENUM if text.startswith("enum: ") else
                   _SIBLING_TABLE.get((pointer, ""), ((), None)), SIBLINGS_SOURCE)


CHARTER_SOURCE = "charter#"  # the pointers of the charter's units: charter#/0 .. charter#/2


def charter_rows() -> list[Row]:
    """The charter's three invariants, each with the checks that enforce it."""
    return [Row(f"{CHARTER_SOURCE}/{n}", text, sorted(checks, key=_check_order))
            for n, (text, checks) in enumerate(CHARTER.items())]


def with_standards(rows: list[Row]) -> list[Row]:
    """The spec's rows, then one per observable clause of an adopted standard (`standards.CLAUSES`), whose pointer
    names the standard and section; they do not change with the spec, so a comparison leaves them unmarked."""
    change = "unchanged" if any(row.change for row in rows) else None
    return rows + [Row(clause.where, clause.text, sorted(clause.checks, key=_check_order),
                       None if clause.checks else clause.reason, change) for clause in CLAUSES]


def _check_order(check: str) -> tuple[int, str]:
    ids = list(CATALOGUE)
    return (ids.index(check), "") if check in CATALOGUE else (len(ids), check)


def diff(pinned: Mapping[str, Any], newer: Mapping[str, Any]) -> list[Row]:
    """The newer spec's rows, each marked against the pinned spec by pointer and position, then the removed ones.

    A changed or removed unit names the checks that enforced it in the pinned spec: the readings to revisit.
    """
    old: dict[str, list[Row]] = {}
    for row in trace(pinned):
        old.setdefault(row.pointer, []).append(row)
    seen: dict[str, int] = {}
    rows = []
    for row in trace(newer):
        n = seen[row.pointer] = seen.get(row.pointer, -1) + 1
        before = old.get(row.pointer, [])
        if n >= len(before):
            rows.append(replace(row, change="added"))
        elif before[n].text == row.text:
            rows.append(replace(row, change="unchanged"))
        else:
            rows.append(replace(row, change="changed", was=before[n].text, revisit=before[n].checks))
    for pointer, pinned_rows in old.items():
        rows += [replace(row, checks=[], reason=None, change="removed", revisit=row.checks)
                 for row in pinned_rows[seen.get(pointer, -1) + 1:]]
    return rows


def open_units(rows: list[Row]) -> list[Row]:
    """The units a person must look at: untraced ones (no check, no reason: a blind spot), and changed or removed
    ones whose checks' readings rest on the old text."""
    return [row for row in rows if row.revisit or (not row.checks and not row.reason and row.change != "removed")]


# --- rendering ---

_MARK = {"added": "+", "changed": "~", "removed": "-", "unchanged": " "}


def _enforced(row: Row) -> str:
    if row.change == "removed":
        enforced = "removed"
    elif row.checks:
        enforced = ", ".join(row.checks)
    else:
        enforced = f"no check: {row.reason}" if row.reason else "UNTRACED"
    return enforced + (f"; revisit {', '.join(row.revisit)}" if row.revisit else "")


def render_text(rows: list[Row]) -> str:
    lines = []
    for row in rows:
        mark = f"{_MARK[row.change]} " if row.change else ""
        was = f"\n    was: {row.was}" if row.was else ""
        lines.append(f"{mark}{row.pointer}\n    {row.text}{was}\n    -> {_enforced(row)}")
    return "\n".join(lines) + "\n" + _summary(rows) + "\n"


def _summary(rows: list[Row]) -> str:
    traced = sum(1 for r in rows if r.checks)
    reasoned = sum(1 for r in rows if not r.checks and r.reason)
    untraced = sum(1 for r in rows if not r.checks and not r.reason and r.change != "removed")
    text = f"{len(rows)} unit(s): {traced} with checks, {reasoned} with a reason why none, {untraced} untraced"
    changes = [f"{sum(1 for r in rows if r.change == c)} {c}" for c in ("added", "changed", "removed")]
    return text + ("; versus the pinned spec: " + ", ".join(changes) if any(r.change for r in rows) else "")


def render_json(rows: list[Row]) -> str:
    return json.dumps([row.to_dict() for row in rows], indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(rows: list[Row]) -> str:
    out = [
        "# Traceability: every unit of the spec and what enforces it",
        "",
        "Generated by `hems-conformance trace --format markdown`; `tests/contract/test_trace.py` keeps this file in sync",
        "with `spec/openapi.yaml` and the catalogue, and fails when a unit has neither a check nor a reason.",
        "Do not edit by hand.",
        "",
        "A unit is one line of an enum description, one sentence of any other description or summary, one",
        "`required` list, one `enum` (its values), one `format`, one security requirement or one token URL; the",
        "units of",
        "`spec/siblings.yaml` (`siblings.yaml#...`: the list and current routes) and the charter's three",
        "invariants (`charter#/N`: counters, references, outcomes) are units too, the charter normative whatever",
        "the spec says. Checks are catalogue",
        "invariants (`hems-conformance invariants`) and live cases (`cases/live/`). With `--spec NEWER.yaml`",
        "the command marks the units a newer spec added, changed or removed: the readings to revisit.",
        "After the spec's units come the observable clauses of the standards the spec adopts (RFC 6749, 6750,",
        "9110, 9111 and the OWASP API Security Top 10), each quoted under its standard and section",
        "(`conformance/contract/standards.py`), with the checks that hold it at its own level or why none can.",
        "",
        _summary(rows) + ".",
        "",
    ]
    for pointer, group in _grouped(rows):
        out += [f"## `{pointer}`", "", "| unit | enforced by |", "| --- | --- |"]
        out += [f"| {_changed(row)}{_cell(row.text)} | {_cell(_enforced(row))} |" for row in group]
        out.append("")
    return "\n".join(out)


def _changed(row: Row) -> str:
    if row.change in (None, "unchanged"):
        return ""
    return f"**{row.change}**" + (f" (was: {_cell(row.was)})" if row.was else "") + ": "


def _grouped(rows: list[Row]) -> Iterator[tuple[str, list[Row]]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.pointer, []).append(row)
    yield from groups.items()
