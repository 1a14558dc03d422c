"""`hems-conformance check`: where recorded payloads come from, judging them as they stream past, the
evidence kept on the way, and the three reports.

House rules: imports only `conformance.report`, `conformance.contract` and `conformance.errors`, so an
offline check loads no HTTP client, no pytest and no Schemathesis.
"""
