"""Moved to `conformance.model.loop`; this alias stays for one release (documented for partners)."""
from conformance.model.loop import *  # noqa: F403
