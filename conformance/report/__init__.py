"""The reports, as plain data and files: the check records, summary.json, summary.md and GitHub annotations
(`markdown.py`), accepted-failure baselines (`baseline.py`), `report compare`, the HTML pieces and pages,
body excerpts and the secret redactor.

House rules: imports only `conformance.contract` and `conformance.errors`; no pytest, no HTTP. The live
run's pytest-html glue lives in `conformance.live.report_plugin`.
"""
