"""Judging a live deployment: the target config, the HTTP client (its exchanges are report records), the ledger,
the live cases (data, `live_cases`), their procedures and the checks judged on every response
(`response_checks`), bound to the cases in a registry (`registry`), Schemathesis fuzzing, the run, its
pytest items and report plugin, `run`'s launcher, and `replay` of a run's failing requests.

House rules: imports `conformance.reference` (to start the bundled deployment), `conformance.report`,
`conformance.contract` and `conformance.errors`; nothing imports this room but the faces. `live_cases.py`
stays light (no HTTP, no pytest) because the CLI reads live case IDs for `check` from it.
"""
