"""The fuzzing glue: Schemathesis generates requests from the spec, anchored on the configured sessions.

Positive generation keeps known parents (org, user, wallbox) so the ids it invents land next to real
data; negative generation breaks path parameters (malformed UUIDs, non-integer ids, odd encodings). As
Schemathesis invents the session id too, negative requests also break one parameter at a time of the first
configured sessions (a known session under a malformed parent must not be served either). Requests are
generated first, with a fixed seed, then sent (concurrently with `--workers`, recorded in plan order), so the
same seed always sends the same requests and reports the same findings.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from conformance.contract.cross import CURRENT

if TYPE_CHECKING:
    from conformance.live.live_cases import LiveCase
    from conformance.live.runner import LiveRun

INT64_MAX = 2**63 - 1
_GENERATING = threading.Lock()
_GENERATED: weakref.WeakKeyDictionary[Any, dict[bool, list[Any]]] = weakref.WeakKeyDictionary()  # per run
ANCHORED_SESSIONS = 3  # configured sessions whose every path parameter is broken once, in negative mode
MALFORMED = {"org_id": "not-a-uuid", "user_id": "not-a-uuid", "wallbox_id": "not-a-uuid", "session_id": "not-an-integer"}


@dataclass(frozen=True)
class Budget:
    positive: int
    negative: int


BUDGETS = {"quick": Budget(25, 25), "ci": Budget(120, 120), "thorough": Budget(1000, 1000)}


def _anchors(run: LiveRun) -> list[dict[str, Any]]:
    """Known parents of tenant A's sessions, deduplicated, in configuration order."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for ref in run.config.tenant.sessions:
        key = (ref.org_id, ref.user_id, ref.wallbox_id)
        seen.setdefault(key, {"org_id": ref.org_id, "user_id": ref.user_id, "wallbox_id": ref.wallbox_id})
    return list(seen.values())


def _strategy(run: LiveRun, negative: bool) -> st.SearchStrategy[Any]:
    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    anchors = _anchors(run)
    partial = [
        {k: v for k, v in anchor.items() if k in kept}
        for anchor in anchors[:3]
        for kept in (("org_id", "user_id", "wallbox_id"), ("org_id", "user_id"), ("org_id",))
    ]
    return st.sampled_from(partial).flatmap(
        lambda fixed: run.operation.as_strategy(generation_mode=mode, path_parameters=fixed)
    )


def generate(run: LiveRun, negative: bool, count: int) -> list[Any]:
    """`count` cases, the same for the same seed (Hypothesis generation only: no shrinking, no database)."""
    cases: list[Any] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(run.options.seed * 2 + negative)
    @given(case=_strategy(run, negative))
    def collect(case: Any) -> None:
        cases.append(case)

    collect()
    return [case for case in cases if not names_a_route(case)][:count]


def planned(run: LiveRun, negative: bool) -> list[Any]:
    """The run's generated cases of one mode. Both modes are generated once, positive first, whichever fuzz
    procedure asks first and on whatever thread: Hypothesis runs one test at a time, and what it generates for
    one mode depends on what it generated before, so a fixed order keeps the same seed sending the same requests
    for any --workers."""
    budget = BUDGETS[run.options.profile]
    with _GENERATING:
        if run not in _GENERATED:
            _GENERATED[run] = {mode: generate(run, mode, budget.negative if mode else budget.positive)
                               for mode in (False, True)}
        return _GENERATED[run][negative]


def generate_before_procedures(run: LiveRun) -> None:
    """Generate both modes' cases now, on one thread, before the run's procedures start concurrently. Schemathesis
    builds an operation's strategies and schemas lazily, in caches the other procedures' threads use at the same
    time (`Case()`, response validation); generating while they run let a race fail one draw under load, which
    Hypothesis reports as FlakyFailure when its replay passes: a run with no verdict (exit 3) that was no fault of
    the target's."""
    planned(run, False)


def names_a_route(case: Any) -> bool:
    """A generated session id that is the name of a sibling route (`.../hems-sessions/current`): the request
    would reach that route, so it is no malformed session id and is never sent as one."""
    return str(case.path_parameters.get("session_id")) == CURRENT


def anchored_negatives(run: LiveRun) -> list[tuple[Any, tuple[str, ...]]]:
    """Each path parameter of the first configured sessions broken alone: (case, the malformed parameter)."""
    return [(run.session_case(ref.path_parameters | {name: value}), (name,))
            for ref in run.config.tenant.sessions[:ANCHORED_SESSIONS] for name, value in MALFORMED.items()]


def _mutated(st_case: Any) -> tuple[str, ...]:
    """The path parameters Schemathesis broke in a negative case, as its metadata names them."""
    mutations = getattr(st_case.meta.phase.data, "mutations", ()) if st_case.meta else ()
    return tuple(dict.fromkeys(m.parameter for m in mutations if m.parameter)) or tuple(MALFORMED)


def explore(run: LiveRun, case: LiveCase, negative: bool) -> None:
    requests = [(st_case, _mutated(st_case) if negative else ()) for st_case in planned(run, negative)]
    if negative:
        requests += anchored_negatives(run)
    note = "Schemathesis negative generation" if negative else "Schemathesis positive generation"

    def exercise(request: tuple[Any, tuple[str, ...]]) -> None:
        st_case, malformed = request
        exchange = run.send_case(st_case, malformed=malformed, note=note)
        run.ledger.judged(case.id)
        _unbounded_id_finding(run, st_case, exchange, negative)

    run.concurrently(exercise, requests)


def _unbounded_id_finding(run: LiveRun, st_case: Any, exchange: Any, negative: bool) -> None:
    """A rejected id beyond int64: correct behaviour, but the spec's bare `integer` allows it."""
    status = exchange.status
    session_id = st_case.path_parameters.get("session_id")
    if (not negative and isinstance(session_id, int) and abs(session_id) > INT64_MAX
            and status in (400, 404, 422)):
        run.ledger.spec_finding(
            "session-id-unbounded",
            "session_id beyond int64 is rejected (correctly), but the spec declares an unbounded integer: "
            "plain Schemathesis reports this as 'schema-valid request rejected'",
            exchange,
        )
