"""The contract and its judge: the pinned spec, the verdict vocabulary, the readings a user may choose,
levels, the payload view, the invariant catalogue, the judge (with its schema errors listed in bounded memory),
the payload cases (`payload_cases`) and the docs generator.

House rules: this room imports nothing of the package but `conformance.errors`, so whatever judges a
payload (`check`, `run`, the Schemathesis hook, a partner's own code) gets the same verdict from it,
and none of it talks HTTP, pytest or the reference deployment.
"""
