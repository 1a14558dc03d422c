"""The reference deployment behind `hems-conformance serve`: the server, its data set, OAuth2 token
endpoint, faults that break it on purpose and legitimate variants.

House rules: imports only `conformance.model`, `conformance.contract`'s vocabulary and payload helpers,
and `conformance.errors`. It keeps its own copy of the route and never imports the judge or the
catalogue: an implementation that shares code with its judge proves less.
"""
