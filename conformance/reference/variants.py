"""Legitimate variations of the reference deployment: correct in ways the reference is not.

Real deployments differ from the reference without being wrong: 403 instead of 404 across tenants,
tokens that live seconds, rate limiting, other UTC offsets, whole numbers written as floats, extra
properties. `hems-conformance serve --variant NAME` turns each on; the suite must stay quiet on every
one (tests/live/test_run.py proves it). Payload variants are pure functions applied to the served bodies.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from conformance.contract.payload import parse_instant
from conformance.errors import UsageError

PayloadTransform = Callable[[dict[str, Any]], dict[str, Any]]
_PLUS_TWO = timezone(timedelta(hours=2))
_TIME_FIELDS = ("started_at", "ended_at", "time")


def _walk(value: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Visit every object, innermost first, so what a visit adds is never walked into."""
    if isinstance(value, dict):
        for item in value.values():
            _walk(item, visit)
        visit(value)
    elif isinstance(value, list):
        for item in value:
            _walk(item, visit)


def _transformed(visit: Callable[[dict[str, Any]], None]) -> PayloadTransform:
    def transform(payload: dict[str, Any]) -> dict[str, Any]:
        changed = copy.deepcopy(payload)
        _walk(changed, visit)
        return changed

    return transform


def _offsets(row: dict[str, Any]) -> None:
    """Every date-time as the same instant in +02:00, with milliseconds."""
    for name in _TIME_FIELDS:
        instant = parse_instant(row.get(name))
        if instant is not None:
            row[name] = instant.astimezone(_PLUS_TWO).isoformat(timespec="milliseconds")


def _floats(row: dict[str, Any]) -> None:
    """Every integer (ids, counters, phases) written as a float: 7 -> 7.0, valid for `type: integer`."""
    for name, value in row.items():
        if isinstance(value, int) and not isinstance(value, bool):
            row[name] = float(value)


def _extras(row: dict[str, Any]) -> None:
    """An undeclared property on every object: the schema does not forbid additional properties."""
    row["x_vendor_note"] = {"source": "variant extra-properties", "rev": 3}


RATE_LIMIT_EVERY = 40  # a few 429s in a quick run; each costs its Retry-After in real time


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    transform: PayloadTransform | None = None


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("forbidden-across-tenants", "another tenant's session is answered 403 instead of 404"),
        Variant("forbidden-not-found", "every session the caller cannot read, unknown ones included, is 403, not 404"),
        Variant("malformed-token-400", "a malformed Bearer credential is 400 invalid_request (RFC 6750 §3.1), not 401"),
        Variant("short-lived-tokens", "access tokens live 3 s (the client must refresh them)"),
        Variant("rate-limited", f"every {RATE_LIMIT_EVERY}th request to the session endpoint is 429 with Retry-After: 1"),
        Variant("offset-timestamps", "date-times in +02:00 with milliseconds instead of Z", _transformed(_offsets)),
        Variant("float-numbers", "whole numbers written as floats (7.0), ids and counters included",
                _transformed(_floats)),
        Variant("extra-properties", "an undeclared property on every object", _transformed(_extras)),
        Variant("served-at-stamp", "every 200 carries an undeclared x_served_at: the time of that read"),
        Variant("podero-token", "Podero's routes: /oauth2/token/ (HTTP Basic, JSON body; routed as Django with "
                "APPEND_SLASH: /oauth2/token is a 301, never a token) and the spec's tokenUrl reading a JSON "
                "TokenInput, 36000 s tokens with scope \"read write\"; the sibling list and current routes (the "
                "written config discovers through them)"),
    )
}
SHORT_TOKEN_TTL_S = 3.0
PODERO_TOKEN_TTL_S = 36000.0


class Variants:
    """The variants a deployment runs with; `on(name)` refuses names that are not in the table."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = tuple(dict.fromkeys(names))
        unknown = [n for n in self.names if n not in VARIANTS]
        if unknown:
            raise UsageError(f"unknown variant {unknown[0]!r} (see --list-variants)")

    def on(self, name: str) -> bool:
        if name not in VARIANTS:
            raise KeyError(name)
        return name in self.names

    def transform(self, payload: dict[str, Any]) -> dict[str, Any]:
        for name in self.names:
            transform = VARIANTS[name].transform
            if transform is not None:
                payload = transform(payload)
        return payload


def variant_table() -> str:
    width = max(map(len, VARIANTS))
    rows = [f"{'variant':<{width}} | what the deployment does (legitimately)", f"{'-' * width}-+-{'-' * 40}"]
    rows += [f"{v.name:<{width}} | {v.description}" for v in VARIANTS.values()]
    return "\n".join(rows) + "\n"
