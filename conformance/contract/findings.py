"""The one finding value: which check, at which level, where (a JSON pointer), what, expected vs actual.

A catalogue check yields findings with only the place and the facts; whoever runs it (the judge for an
invariant, the live run for a live check) stamps the check ID and the level it was judged at. The same
value then travels to every report: live evidence wraps it, nothing copies its fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any, TypeVar

from conformance.contract.levels import Level

T = TypeVar("T")
FINDINGS_BUILT = 10  # per check and body: as many as a report keeps with evidence; the rest are only counted


@dataclass(frozen=True)
class Finding:
    pointer: str
    message: str
    expected: Any = None
    actual: Any = None
    check_id: str = ""
    level: Level = Level.MUST

    def stamped(self, check_id: str, level: Level) -> Finding:
        # a copy of the fields, not dataclasses.replace or the frozen constructor (two and six times a guarded
        # setattr): archives with dense findings stamp every one of them
        stamped = object.__new__(Finding)
        fields = stamped.__dict__
        fields.update(self.__dict__)
        fields["check_id"], fields["level"] = check_id, level
        return stamped

    def to_dict(self) -> dict[str, Any]:
        """The finding in `check --format json` (whose key for the check has always been "invariant")."""
        data = asdict(self)
        return {"invariant": data.pop("check_id"), "level": self.level.value, **{k: data[k] for k in
                                                                                ("pointer", "message", "expected", "actual")}}

    def line(self) -> str:
        return f"{self.check_id} {self.level.value} {self.pointer or '/'}: {self.message}"


def capped(found: Iterable[T], keep: int = FINDINGS_BUILT) -> tuple[list[T], int]:
    """The first `keep` findings (or errors to build them from) of a stream, and how many more it held: counted,
    never kept, so a body with 100,000 broken items costs the memory of `keep` findings."""
    found = iter(found)
    kept = list(islice(found, keep))
    return (kept, 0) if len(kept) < keep else (kept, sum(1 for _ in found))  # most checks find nothing
