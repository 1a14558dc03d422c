"""Shared by the tests that run the real CLI against the reference deployment (tests/live, tests/e2e): a
deployment on a free loopback port with its target config, `run` as a test calls it, and what it printed."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from reference_support import Misbehaving

from conformance.cli import main
from conformance.reference.dataset import build_fleet
from conformance.reference.faults import Faults
from conformance.reference.server import Deployment, start_in_thread, write_target_config
from conformance.reference.variants import Variants

PODERO = ["podero-token"]  # the variant that routes and encodes tokens as Podero's API does
REPORT_DIR = "reports-under-test"  # where run_cli writes its reports, under the test's working directory


@contextlib.contextmanager
def reference(tmp_path: Path, faults: Sequence[str] = (), variants: Sequence[str] = (),
              edit: Callable[[dict[str, Any]], None] = lambda target: None, rule: Any = None) -> Iterator[Path]:
    """A running reference deployment and the path of its target config (`edit` may change the config, `rule`
    answers some requests instead of the deployment: see reference_support.Misbehaving)."""
    deployment = Deployment(build_fleet(0), Faults(faults), variants=Variants(variants))
    if rule is not None:
        deployment.app = Misbehaving(deployment.app, rule)
    with start_in_thread(deployment) as url:
        path = tmp_path / "target.toml"
        target = deployment.target_config(url)
        edit(target)
        write_target_config(str(path), target)
        yield path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`run` with the quick profile, reports in REPORT_DIR: its exit code and everything it printed."""
    code = main(["run", "--profile", "quick", "--report-dir", REPORT_DIR, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def failed_checks(output: str) -> set[str]:
    """The checks the verdict line names as failed."""
    match = re.search(r"NON-CONFORMANT: \d+ check\(s\) failed \(([^)]*)\)", output)
    return set(match.group(1).split(", ")) if match else set()


def summary(tmp_path: Path) -> dict[str, Any]:
    """summary.json of the last run_cli in `tmp_path`."""
    loaded: dict[str, Any] = json.loads((tmp_path / REPORT_DIR / "summary.json").read_text())
    return loaded
