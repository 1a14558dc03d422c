"""Hypothesis strategies for semantically consistent HEMSSessionDetail payloads, for partners' mocks and tests.

A payload is not assembled field by field: the strategies draw a `conformance.model.loop.Scenario` (the PV
surplus at each decision point, how the wallbox answers each command, how the session ends) with
`conformance.model.loop.draw_scenario` and run the controller over it with `simulate`, the same model the
reference deployment serves. So counters match verdicts, references resolve, verdicts match their
evidence and timestamps are ordered: every payload passes every invariant of the catalogue, while
covering the legitimate variation (other UTC offsets, fractional seconds, null savings, ongoing
sessions, sessions with no decisions yet). Every choice is a Hypothesis choice, so a failing example
shrinks to a shorter, simpler session.

Usage::

    from hypothesis import given, settings
    from conformance.strategies import hems_session_details

    @settings(max_examples=50, deadline=None)
    @given(hems_session_details(outcome="charged_from_solar", session_ids=(1000, 1999)))
    def test_mock_serves_what_it_stores(payload):
        mock.store(payload)  # your mock's seeding hook
        assert client.get(url_for(payload["session"]["id"])).json() == payload

Options (keyword-only, all optional):

- ``ended``: True for ended sessions only, False for ongoing ones (``ended_at`` and ``outcome`` null).
- ``outcome``: ``charged_from_solar``, ``no_surplus``, ``steering_ineffective``, ``aborted`` or
  ``ongoing``. Certain by construction when ``shape`` is left open; with an explicit ``shape`` the
  sessions that did not end that way are filtered out.
- ``shape``: the day's PV surplus: ``sunny``, ``cloudy``, ``weak`` (never enough to start) or ``sunset``.
- ``readings``: (low, high) decision points the loop runs through, default (0, 60).
- ``session_ids``: (low, high) for ``session.id``.
- ``command_ids``: (low, high) that every command id of the session lies in (a session's ids are
  consecutive).

Bad option values raise ValueError when the strategy is built, before any example is drawn.
Outside a test, `conformance.model.loop.RandomDraw` over a seeded `random.Random` gives payloads of the same
model deterministically: ``simulate(draw_scenario(RandomDraw(random.Random(seed)), session_id, first_id))``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from conformance.model.loop import RandomDraw, Scenario, draw_scenario, simulate

__all__ = ["ID_RANGE", "HypothesisDraw", "hems_session_details", "scenarios"]

T = TypeVar("T")
ID_RANGE = (1, 2**31 - 1)  # a signed 32-bit serial, the common database id


class HypothesisDraw:
    """`conformance.model.loop.Draw` over the `draw` of a composite strategy: each choice is shrinkable."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def choice(self, options: Sequence[T]) -> T:
        return self._draw(st.sampled_from(options))


def _id_range(name: str, bounds: tuple[int, int], spare: int = 0) -> tuple[int, int]:
    """The range to draw the first id from so that `spare` more consecutive ids stay inside `bounds`."""
    low, high = bounds
    if not low <= high - spare:
        need = f"room for {spare + 1} consecutive ids (readings high + 1)" if spare else "low <= high"
        raise ValueError(f"{name} {bounds}: needs {need}")
    return low, high - spare


def scenarios(
    *,
    ended: bool | None = None,
    outcome: str | None = None,
    shape: str | None = None,
    readings: tuple[int, int] = (0, 60),
    session_ids: tuple[int, int] = ID_RANGE,
    command_ids: tuple[int, int] = ID_RANGE,
) -> st.SearchStrategy[Scenario]:
    """Scenarios of the loop model (what the sun and the wallbox do); options as for `hems_session_details`."""
    options: dict[str, Any] = {"ended": ended, "shape": shape, "outcome": outcome, "readings": readings}
    draw_scenario(RandomDraw(random.Random(0)), 1, 1, **options)  # bad options fail here, not at the first example
    # A session dispatches at most one command per decision point, plus the finalize stop.
    first_ids = _id_range("command_ids", command_ids, spare=readings[1])
    return _scenarios(_id_range("session_ids", session_ids), first_ids, options)


@st.composite
def _scenarios(draw: st.DrawFn, session_ids: tuple[int, int], first_ids: tuple[int, int],
               options: dict[str, Any]) -> Scenario:
    source = HypothesisDraw(draw)
    return draw_scenario(source, source.integer(*session_ids), source.integer(*first_ids), **options)


def _outcome(payload: dict[str, Any]) -> str:
    session = payload["session"]
    return session["outcome"] if session["ended_at"] is not None else "ongoing"


def hems_session_details(
    *,
    ended: bool | None = None,
    outcome: str | None = None,
    shape: str | None = None,
    readings: tuple[int, int] = (0, 60),
    session_ids: tuple[int, int] = ID_RANGE,
    command_ids: tuple[int, int] = ID_RANGE,
) -> st.SearchStrategy[dict[str, Any]]:
    """Conformant HEMSSessionDetail payloads (JSON-ready dicts), simulated by the loop model."""
    payloads = scenarios(ended=ended, outcome=outcome, shape=shape, readings=readings, session_ids=session_ids,
                         command_ids=command_ids).map(simulate)
    if outcome is not None and shape is not None:
        payloads = payloads.filter(lambda payload: _outcome(payload) == outcome)
    return payloads
