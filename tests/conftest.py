"""Every test starts from a neutral environment: a developer's HEMS_CONFORMANCE_* settings, or the CI job's own
GITHUB_ACTIONS / GITHUB_STEP_SUMMARY, would change what `run` and `check` do (options, annotations) and where
they write (the job's real summary)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _neutral_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HEMS_CONFORMANCE_") or name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(name)
