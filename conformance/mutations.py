"""Moved to `conformance.model.mutations`; this alias stays for one release (documented for partners)."""
from conformance.model.mutations import *  # noqa: F403
