"""The catalogue inside plain `schemathesis run`, for teams that already run Schemathesis:

    SCHEMATHESIS_HOOKS=conformance.schemathesis_hooks schemathesis run spec/openapi.yaml --url URL ...

registers the check `hems_catalogue`: every 200 is judged by the same `Judge` that `hems-conformance check`
and `run` use, and MUST findings fail (SHOULD findings are left to `hems-conformance`, which can report
warnings). `hems-conformance run` adds what plain Schemathesis cannot: the live cases, anchoring on real
sessions, and a verdict that tells the spec's gaps from the deployment's faults.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import schemathesis

from conformance.contract.judge import Judge
from conformance.contract.levels import Level


@cache
def _judge() -> Judge:
    return Judge()


@schemathesis.check
def hems_catalogue(ctx: Any, response: Any, case: Any) -> None:
    """A 200 of the HEMS session endpoint keeps every MUST invariant of the catalogue."""
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None  # not JSON: Schemathesis' own content-type and schema checks report that
    failing = [f for f in _judge().judge(body).findings if f.level is Level.MUST]
    if failing:
        raise AssertionError("\n".join(f.line() for f in failing[:10]))
    return None
