"""The sibling routes of the session endpoint, as Podero's API reference describes them (spec/siblings.yaml):
the list of a wallbox's sessions over inclusive UTC days, paged by limit and offset, and its running session.

Pure helpers for `server.py`: reading the list route's query the way Django Ninja does (422 naming each bad
parameter) and choosing what a page and `current` hold. The deployment decides who may see what.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from conformance.contract.payload import parse_instant
from conformance.reference.dataset import StoredSession

MAX_LIMIT, DEFAULT_LIMIT = 200, 50
_EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)


class QueryError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid query parameters")
        self.errors = errors


def _missing(name: str) -> dict[str, Any]:
    return {"type": "missing", "loc": ["query", name], "msg": "Field required"}


def _day(query: Mapping[str, str], name: str, errors: list[dict[str, Any]]) -> datetime.date | None:
    if name not in query:
        errors.append(_missing(name))
        return None
    try:
        if len(query[name]) == 10:
            return datetime.date.fromisoformat(query[name])
    except ValueError:
        pass
    errors.append({"type": "date_from_datetime_parsing", "loc": ["query", name],
                   "msg": "Input should be a valid date in the format YYYY-MM-DD"})
    return None


def _integer(query: Mapping[str, str], name: str, default: int, low: int, high: int | None,
             errors: list[dict[str, Any]]) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.append({"type": "int_parsing", "loc": ["query", name],
                       "msg": "Input should be a valid integer, unable to parse string as an integer"})
        return default
    if value < low or (high is not None and value > high):
        bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        errors.append({"type": "greater_than_equal" if value < low else "less_than_equal", "loc": ["query", name],
                       "msg": f"Input should be {bound}"})
    return value


def parse_window(query: Mapping[str, str], *, ranges: bool = True) -> tuple[datetime.date, datetime.date, int, int]:
    """(from, to, limit, offset) of a list request, or QueryError listing every bad parameter (422). Without
    `ranges` (the fault list-paging-unchecked), limit and offset out of range are clamped, not refused."""
    errors: list[dict[str, Any]] = []
    first, last = _day(query, "from", errors), _day(query, "to", errors)
    limit = _integer(query, "limit", DEFAULT_LIMIT, 1 if ranges else -2**63, MAX_LIMIT if ranges else None, errors)
    offset = _integer(query, "offset", 0, 0 if ranges else -2**63, None, errors)
    if errors or first is None or last is None:
        raise QueryError(errors)
    return first, last, min(max(limit, 1), MAX_LIMIT), max(offset, 0)


def started_day(stored: StoredSession) -> datetime.date | None:
    instant = parse_instant(stored.payload["session"].get("started_at"))
    return instant.astimezone(datetime.UTC).date() if instant else None


def in_window(sessions: Iterable[StoredSession], first: datetime.date, last: datetime.date) -> list[StoredSession]:
    """The sessions started on the inclusive UTC days first..last, oldest first (a stable order to page)."""
    chosen = [s for s in sessions if (day := started_day(s)) is not None and first <= day <= last]
    return sorted(chosen, key=lambda s: (parse_instant(s.payload["session"]["started_at"]), s.session_id))


def running(sessions: Iterable[StoredSession]) -> StoredSession | None:
    """The wallbox's running session: the latest started of those without ended_at (an unreadable start counts
    as the earliest)."""
    ongoing = [s for s in sessions if s.payload["session"].get("ended_at") is None]
    return max(ongoing, key=lambda s: parse_instant(s.payload["session"]["started_at"]) or _EARLIEST, default=None)


def days(sessions: Iterable[StoredSession]) -> tuple[datetime.date, datetime.date]:
    """The first and last UTC day any of the sessions started on (what a discovery window must cover)."""
    found = sorted(day for s in sessions if (day := started_day(s)) is not None)
    return found[0], found[-1]
