"""What the judged payloads held, and what each invariant needs to see before its pass means anything.

A check that never met what it judges (EVD-003 without a phase_switch_ineffective command, OUT-003 without a
no_surplus session) passes vacuously: reports show it as "not exercised", with the data it would need. The
coverage counts are also the report's table of the breadth of the evidence behind a verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from conformance.contract.payload import SessionView
from conformance.contract.vocabulary import FAILURE_VERDICTS

BY_OUTCOME, BY_ENDED, BY_KIND, BY_DISPATCHED = "sessions by outcome", "ongoing vs ended", "decisions by kind", "decisions dispatched"
BY_VERDICT, BY_DISPATCH, BY_PHASE = "commands by verdict", "dispatch statuses", "phase counts"
GROUPS = (BY_OUTCOME, BY_ENDED, BY_KIND, BY_DISPATCHED, BY_VERDICT, BY_DISPATCH, BY_PHASE)


def _word(value: Any) -> str:
    return "null" if value is None else str(value)


# (rows, field) counted as the payload has them; `to_dict` turns them into the groups' words. Decision kinds,
# dispatched decisions and command verdicts are counted from the view's groups, which the judge built anyway.
_COUNTED = (("decisions", "phases"), ("commands", "dispatch_status"), ("commands", "commanded_phases"))
_FIELDS = (("decisions", "decision"), ("decisions", "dispatched"), ("commands", "outcome"), *_COUNTED)


class Coverage:
    """Counts over the sessions judged; a session read twice (same `key`) counts once. Values are counted as the
    payload holds them (Counter.update over itemgetter runs in C), and named only when asked."""

    def __init__(self) -> None:
        self._raw: dict[tuple[str, str], Counter[Any]] = {field: Counter() for field in _FIELDS}
        self._outcomes: Counter[Any] = Counter()
        self._ongoing: Counter[bool] = Counter()
        self._seen: set[Hashable] = set()

    def add(self, view: SessionView, key: Hashable | None = None) -> None:
        if key is not None:
            if key in self._seen:
                return
            self._seen.add(key)
        self._outcomes[view.session["outcome"]] += 1
        self._ongoing[view.ongoing] += 1
        raw, payload = self._raw, view.payload
        for value, rows in view.kinds.items():
            raw["decisions", "decision"][value] += len(rows)
        dispatched = len(view.dispatched)
        for flag, count in ((True, dispatched), (False, len(view.decisions) - dispatched)):
            if count:
                raw["decisions", "dispatched"][flag] += count
        for value, rows in view.verdicts.items():
            raw["commands", "outcome"][value] += len(rows)
        for field in _COUNTED:
            raw[field].update(map(itemgetter(field[1]), payload[field[0]]))

    def merge(self, later: Coverage) -> Coverage:
        """These counts plus `later`'s (another part of a run, whose keyed sessions are not among these), in place."""
        for field, counter in self._raw.items():
            counter.update(later._raw[field])
        self._outcomes.update(later._outcomes)
        self._ongoing.update(later._ongoing)
        self._seen |= later._seen
        return self

    def to_dict(self) -> dict[str, dict[str, int]]:
        raw = self._raw
        phases = {f"decision {_word(k)}": n for k, n in raw["decisions", "phases"].items() if k is not None}
        phases |= {f"command {_word(k)}": n for k, n in raw["commands", "commanded_phases"].items() if k is not None}
        groups = {BY_OUTCOME: {_word(k): n for k, n in self._outcomes.items()},
                  BY_ENDED: {"ongoing" if k else "ended": n for k, n in self._ongoing.items()},
                  BY_KIND: {_word(k): n for k, n in raw["decisions", "decision"].items()},
                  BY_DISPATCHED: {"dispatched" if k else "not dispatched": n for k, n in raw["decisions", "dispatched"].items()},
                  BY_VERDICT: {_word(k): n for k, n in raw["commands", "outcome"].items()},
                  BY_DISPATCH: {_word(k): n for k, n in raw["commands", "dispatch_status"].items()},
                  BY_PHASE: phases}
        return {group: dict(sorted(groups[group].items())) for group in GROUPS}


@dataclass(frozen=True)
class Need:
    """What a check judges: one of `values` in a coverage group (any, when empty), said in words."""

    group: str
    values: tuple[str, ...]
    text: str


def _verdicts(*verdicts: str) -> Need:
    return Need(BY_VERDICT, verdicts, f"a command whose outcome is {' or '.join(verdicts)}")


def _kinds(*kinds: str) -> Need:
    return Need(BY_KIND, kinds, f"a {' or '.join(kinds)} decision")


def _outcome(outcome: str) -> Need:
    return Need(BY_OUTCOME, (outcome,), f"an ended session whose outcome is {outcome}")


SESSION = Need(BY_ENDED, (), "a session (a 200 or payload the catalogue could read)")
COMMANDS = Need(BY_VERDICT, (), "a session with commands")
DECISIONS = Need(BY_KIND, (), "a session with decisions")
DISPATCHES = Need(BY_DISPATCHED, ("dispatched",), "a dispatched decision")
ENDED_SESSION = Need(BY_ENDED, ("ended",), "an ended session")
ONGOING_SESSION = Need(BY_ENDED, ("ongoing",), "an ongoing session (ended_at null)")

# Every invariant declares what it needs (tests/contract/test_needs.py judges each on data lacking it and finds it "not
# exercised", never "passed"); the schema, the counters' signs and the signs of quantities judge every session.
NEEDS: dict[str, Need] = {
    "SCH-001": SESSION,
    "SCH-002": SESSION,
    "CNT-001": SESSION,
    "CNT-002": _verdicts("applied"),
    "CNT-003": _verdicts("accepted_ineffective", "phase_switch_ineffective"),
    "CNT-004": COMMANDS,
    "REF-001": DISPATCHES,
    "REF-002": DISPATCHES,
    "REF-003": DISPATCHES,
    "REF-004": _kinds("hold", "skip"),
    "REF-005": COMMANDS,
    "REF-006": Need(BY_DISPATCHED, ("not dispatched",), "a decision that is not dispatched"),
    "KND-001": _kinds("start"),
    "KND-002": _kinds("step", "stop"),
    "KND-003": _kinds("stop"),
    "KND-004": _kinds("step"),
    "OUT-001": _outcome("charged_from_solar"),
    "OUT-002": _outcome("steering_ineffective"),
    "OUT-003": _outcome("no_surplus"),
    "OUT-004": _outcome("no_surplus"),
    "OUT-005": ONGOING_SESSION,
    "OUT-006": ENDED_SESSION,
    "OUT-007": _outcome("charged_from_solar"),
    "OUT-008": _outcome("steering_ineffective"),
    "EVD-001": _verdicts("applied"),
    "EVD-002": _verdicts("unverified"),
    "EVD-003": _verdicts("phase_switch_ineffective"),
    "EVD-004": COMMANDS,
    "EVD-005": COMMANDS,
    "EVD-006": _verdicts("accepted_ineffective"),
    "EVD-007": _verdicts(*sorted(FAILURE_VERDICTS)),
    "EVD-008": _verdicts("applied"),
    "EVD-009": _verdicts("phase_switch_ineffective"),
    "TIM-001": ENDED_SESSION,
    "TIM-002": DECISIONS,
    "TIM-003": COMMANDS,
    "TIM-004": DECISIONS,
    "TIM-005": DISPATCHES,
    "IDN-001": COMMANDS,
    "PHY-001": Need(BY_PHASE, (), "a decision or command with a phase count"),
    "PHY-002": COMMANDS,
    "PHY-003": COMMANDS,
    "PHY-004": SESSION,
    "PHY-005": COMMANDS,
    "PHY-006": DECISIONS,
}


def unexercised(coverage: Coverage) -> dict[str, str]:
    """Invariant ID -> what the data would need, for every invariant the judged sessions never exercised."""
    seen = coverage.to_dict()
    return {check_id: need.text for check_id, need in NEEDS.items()
            if not any(n for value, n in seen[need.group].items() if not need.values or value in need.values)}
