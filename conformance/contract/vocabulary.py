"""The spec's command-verdict vocabulary: the SteeringOutcome values, their groups, and dispatch words.

Its own module because the catalogue, the readings, the loop model and the reference deployment all
speak it, and none of them should import another to get it.
"""

from __future__ import annotations

import re

VERDICTS = (
    "applied",
    "accepted_ineffective",
    "phase_switch_ineffective",
    "unverified",
    "rejected",
    "unreachable",
    "timeout",
    "not_capable",
)
VERIFICATION_VERDICTS = frozenset({"applied", "accepted_ineffective", "phase_switch_ineffective", "unverified"})
FAILURE_VERDICTS = frozenset({"rejected", "unreachable", "timeout", "not_capable"})

# dispatch_status (compared through status_key) -> the CSMS CommandStatus it stands for. The first five are
# the enum the SteeringOutcome text says its first entries mirror; the two aliases are OCPP wire words.
DEFAULT_DISPATCH_VOCABULARY = {
    "applied": "applied",
    "rejected": "rejected",
    "unreachable": "unreachable",
    "timeout": "timeout",
    "not_capable": "not_capable",
    "accepted": "applied",
    "notsupported": "rejected",
}


_SEPARATORS = re.compile(r"[\s_-]+")


def status_key(word: str) -> str:
    """How dispatch_status words compare: without case, spaces, '_' or '-' (NotSupported = not_supported)."""
    return _SEPARATORS.sub("", word).casefold()
