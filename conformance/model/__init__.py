"""The steering-loop model: what a wallbox charging from solar surplus does, simulated into payloads, and
the mutations that break one invariant each.

House rules: imports only `conformance.contract` (the verdict vocabulary, the payload view, readings)
and `conformance.errors`; never the judge or the catalogue's checks, so generated data is not shaped
by the code that judges it.
"""
