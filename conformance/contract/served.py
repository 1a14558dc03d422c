"""Which session a response serves: the path's session_id against the body's session.id.

A live run knows the path it requested; a recording (a HAR file) carries it too. Both judge it here, so a
response gets the same finding whichever way it reaches the suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from conformance.contract.findings import Finding
from conformance.contract.levels import Level


@dataclass(frozen=True)
class ServedCheck:
    """The check under which `served_session` findings are reported, as its owner (a live case) declares it."""

    id: str
    level: Level
    statement: str
    cite: str


def path_pattern(template: str) -> re.Pattern[str]:
    """A regular expression for the concrete paths of an OpenAPI path template, one group per parameter."""
    parts = re.split(r"\{([^}/]+)\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(pattern + "/?")


def path_parameters(pattern: re.Pattern[str], path: str) -> dict[str, str] | None:
    """The parameters of a concrete path (percent-decoded), or None if the path is not the template's."""
    match = pattern.fullmatch(path)
    return None if match is None else {name: unquote(value) for name, value in match.groupdict().items()}


def served_session(body: Any, path_session_id: Any) -> Finding | None:
    """An unstamped finding when the body serves another session than the path names; None when it serves that
    one or nothing can be said (no JSON object, no path id, a path id that is no integer)."""
    if not isinstance(body, dict) or path_session_id is None:
        return None
    served = body.get("session", {}).get("id") if isinstance(body.get("session"), dict) else None
    try:
        expected = int(str(path_session_id))
    except ValueError:
        return None
    if _by_value(served) != expected:
        return Finding("/session/id", f"path names session {expected}, body serves {served!r}", expected, served)
    return None


def _by_value(session_id: Any) -> Any:
    """The session an id names, whatever its JSON type: "7" names session 7 (its type is SCH-001's, one defect,
    one finding), "8" another session; 7.0 equals 7 as it is."""
    if isinstance(session_id, str):
        try:
            return int(session_id)
        except ValueError:
            return session_id
    return session_id
