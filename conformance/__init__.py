"""hems-conformance: the contract and conformance suite for Podero's HEMS session endpoint."""

__version__ = "0.1.0"
