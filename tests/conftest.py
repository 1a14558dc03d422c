"""The tests mirror the package's rooms (tests/contract, model, report, offline, reference, live, faces), plus
tests/e2e for the slow end-to-end tests (servers, whole runs, subprocesses), all marked `e2e` here, and
tests/support for the helpers they share (put on sys.path here, so `from hostile_support import ...` works in
every folder; bench/ imports them from there too). The fast lane is `pytest -m "not e2e"`.

Every test starts from a neutral environment: a developer's HEMS_CONFORMANCE_* settings, or the CI job's own
GITHUB_ACTIONS / GITHUB_STEP_SUMMARY, would change what `run` and `check` do (options, annotations) and where
they write (the job's real summary)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "support"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is end to end; elsewhere a slow test carries @pytest.mark.e2e itself."""
    for item in items:
        if (HERE / "e2e") in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _neutral_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HEMS_CONFORMANCE_") or name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(name)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test runs in its own tmp_path (reports and configs written relative to it land there); modules
    that want it for every test say `pytestmark = pytest.mark.usefixtures("in_tmp")`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
