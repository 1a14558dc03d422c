"""Launching `hems-conformance run`: pick the target (a config file, or the bundled reference deployment
started on a free loopback port), then run pytest with the plugin over the live cases.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.contract.spec import load_contract
from conformance.errors import ConfigError
from conformance.live.cases import bundled_cases_dir
from conformance.live.runner import no_verdict
from conformance.live.target import load_target
from conformance.report.summary import HTML, JUNIT, ReportFolder, command_line


@dataclass(frozen=True)
class RunRequest:
    config: str | None = None
    base_url: str | None = None
    profile: str = "ci"
    seed: int = 0
    strict: bool = False
    workers: int = 1
    spec: str | None = None
    faults: Sequence[str] = ()  # only for the bundled reference deployment
    report_dir: str | None = None
    extra_pytest_args: Sequence[str] = field(default_factory=tuple)
    argv: Sequence[str] = ()  # the command's arguments, recorded in the reports as the way to reproduce the run


@contextlib.contextmanager
def _reference_target(seed: int, faults: Sequence[str]) -> Iterator[str]:
    """Start the bundled reference deployment and yield the path of its (temporary, 0600) target config."""
    from conformance.reference.dataset import build_fleet
    from conformance.reference.faults import Faults
    from conformance.reference.server import Deployment, start_in_thread, write_target_config

    deployment = Deployment(build_fleet(seed), Faults(faults))
    with start_in_thread(deployment) as url, tempfile.TemporaryDirectory(prefix="hems-target-") as folder:
        path = os.path.join(folder, "reference.toml")
        write_target_config(path, deployment.target_config(url))
        yield path


@contextlib.contextmanager
def _without_pytest_environment() -> Iterator[None]:
    """pytest takes options and plugins from PYTEST_ADDOPTS and PYTEST_PLUGINS: a CI image's `-k` or
    `--collect-only` would change the verdict. `run` passes only its own arguments (and extra_pytest_args)."""
    saved = {name: os.environ.pop(name) for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS") if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _cache_dir() -> Path:
    """Hypothesis' Unicode tables are built once per machine there, not in every working directory."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hems-conformance"


def run(request: RunRequest) -> int:
    """Validate the configuration (exit 2 before any request), then run the live cases under pytest."""
    with _terminate_as_interrupt():
        return _run(request)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, a stopped container) ends a run as Ctrl-C does: exit 130 and reports that say
    "interrupted". Only the main thread can take signals; elsewhere SIGTERM keeps its own handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(request: RunRequest) -> int:
    if request.faults and request.config:
        raise ConfigError("--fault applies to the bundled reference deployment only (drop --config)")
    contract = load_contract(request.spec)
    if request.config:  # fail fast, before pytest starts: the plugin reads the same file again
        target = load_target(request.config, default_token_url=contract.token_url)
        if request.base_url:
            target.with_base_url(request.base_url)
    elif request.base_url:
        raise ConfigError("--base-url needs --config (the bundled reference deployment picks its own port)")
    folder = ReportFolder.create(request.report_dir).started()
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_cache_dir() / "hypothesis"))
    context = contextlib.nullcontext(request.config) if request.config else _reference_target(request.seed, request.faults)
    with context as config_path:
        args = [str(bundled_cases_dir()), "--target", config_path, "--hems-profile", request.profile,
                "--hems-seed", str(request.seed), "--hems-workers", str(request.workers),
                "-p", "no:cacheprovider", "-o", "console_output_style=count", "--assert=plain",
                "-c", os.devnull, "--rootdir", str(Path.cwd())]  # the caller's own pytest config stays out
        args += ["--hems-base-url", request.base_url] if request.base_url else []
        args += ["--hems-spec", request.spec] if request.spec else []
        args += ["--hems-strict"] if request.strict else []
        args += ["--hems-report-dir", str(folder.path), "--hems-command", command_line(request.argv or ["run"]),
                 "--junitxml", str(folder.file(JUNIT)), "--html", str(folder.file(HTML)), "--self-contained-html"]
        args += list(request.extra_pytest_args)
        verdict = _Verdict()
        with _without_pytest_environment():
            code = int(pytest.main(args, plugins=[verdict]))
    folder.publish()
    return no_verdict(code) if verdict.code is None else verdict.code  # None: the run never started


class _Verdict:
    """Keeps the run's exit code, so pytest's own exit codes (3 is its INTERNAL_ERROR) cannot pose as ours."""

    code: int | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from conformance.pytest_plugin import VERDICT_KEY

        self.code = session.config.stash.get(VERDICT_KEY, None)
