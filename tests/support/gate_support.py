"""Shared by the release-gate tests: a reference deployment with fixed credentials serving on loopback, its
target config on disk, and the request log it writes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from reference_support import deployment

from conformance.reference.faults import Faults
from conformance.reference.server import start_in_thread, write_target_config


@contextlib.contextmanager
def served(config: Path, *faults: str, log: list[str] | None = None, seed: int = 0) -> Iterator[Path]:
    """A deployment (this seed, these faults) on a free loopback port; its target config written to `config`."""
    dep = deployment(seed, faults=Faults(faults), log=None if log is None else log.append)
    with start_in_thread(dep) as url:
        write_target_config(str(config), dep.target_config(url))
        yield config
