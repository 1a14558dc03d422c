"""Throughput of the full judgement vs plain `jsonschema` validation of the same payloads.

    /work/venv/bin/python bench/bench_check.py [--seconds 3] [--count 200] [--long 20]

The full judgement is `Judge.judge`: the response schema with formats on (jsonschema-rs, compiled once) plus
every semantic invariant of the catalogue. The baseline is what a partner would write without this suite:
`jsonschema.Draft202012Validator` with a `FormatChecker` (rfc3339-validator installed, so date-time is
checked), built once. Both see the same parsed payloads, so JSON parsing is left out of both. The goal from
issue 2: the full judgement at least as fast as the baseline alone (ratio >= 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import jsonschema_rs
import payloads
from jsonschema import Draft202012Validator

from conformance.contract.catalogue import SEMANTIC
from conformance.contract.judge import Judge


def rate(work: Callable[[Any], object], bodies: list[Any], seconds: float, max_rounds: int) -> float:
    """Payloads per second over whole passes through `bodies`, after one warm-up pass; bounded in time and rounds."""
    for body in bodies:
        work(body)
    done, start = 0, time.perf_counter()
    for _ in range(max_rounds):
        for body in bodies:
            work(body)
        done += len(bodies)
        if time.perf_counter() - start >= seconds:
            break
    return done / (time.perf_counter() - start)


def baseline_validator(schema: dict[str, Any]) -> Draft202012Validator:
    if "date-time" not in Draft202012Validator.FORMAT_CHECKER.checkers:
        sys.exit("jsonschema cannot check date-time here: pip install rfc3339-validator")
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def sanity(judge: Judge, validator: Draft202012Validator, bodies: list[Any]) -> None:
    """Both sides accept every benchmark payload, and both reject a broken date-time: they do the same job."""
    for body in bodies:
        assert not judge.judge(body).findings and not list(validator.iter_errors(body))
    broken = {**bodies[0], "session": {**bodies[0]["session"], "started_at": "2026-06-01 09:00"}}
    assert judge.judge(broken).ids == ["SCH-002"]
    assert [e.validator for e in validator.iter_errors(broken)] == ["format"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per measurement (default 3)")
    parser.add_argument("--max-rounds", type=int, default=1000, help="passes per measurement at most")
    parser.add_argument("--count", type=int, default=200, help="realistic payloads (default 200)")
    parser.add_argument("--long", type=int, default=20, help="long payloads (default 20)")
    args = parser.parse_args(argv)

    judge = Judge()
    validator = baseline_validator(judge.contract.response_schema)
    rs = jsonschema_rs.validator_for(judge.contract.response_schema, validate_formats=True)  # as the judge does
    sets = {"realistic": payloads.realistic(args.count), "long": payloads.long_sessions(args.long)}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"jsonschema {version('jsonschema')}, jsonschema-rs {version('jsonschema-rs')}")
    for name, bodies in sets.items():
        sanity(judge, validator, bodies)
        print(f"{name}: {payloads.describe(bodies)}")
        full = rate(judge.judge, bodies, args.seconds, args.max_rounds)
        plain = rate(lambda body: list(validator.iter_errors(body)), bodies, args.seconds, args.max_rounds)
        schema_only = rate(lambda body: list(rs.iter_errors(body)), bodies, args.seconds, args.max_rounds)
        for label, value in ((f"full judgement (schema + {len(SEMANTIC)} invariants)", full),
                             ("plain jsonschema (Draft202012Validator + FormatChecker)", plain),
                             ("for reference: schema step alone (jsonschema-rs, formats on)", schema_only)):
            print(f"  {label:62} {value:10.1f} payloads/s")
        print(f"  ratio full judgement / plain jsonschema: {full / plain:.1f}x "
              f"({'goal met' if full >= plain else 'GOAL MISSED'}: full judgement >= plain jsonschema)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
