"""The reports, as plain data and files: the plain records a run or a check produces (`records.py`: exchanges,
evidence and its sightings, spec findings, check records), summary.json built from them once for `run` and
`check` alike (`summary.py`, its JSON Schema `summary.schema.json`), the writer list of every format
(`writers.py`), JUnit (`junit.py`), GitLab Code Quality (`codequality.py`), summary.md and GitHub annotations
(`markdown.py`), accepted-failure baselines (`baseline.py`), `report compare` and `report verify`, the HTML pieces
and pages, body excerpts and the secret redactor.

House rules: imports only `conformance.contract` and `conformance.errors`; no pytest, no HTTP. The live
run's pytest-html glue lives in `conformance.live.report_plugin`.
"""
