"""Launching `hems-conformance run`: pick the target (a config file, or the bundled reference deployment
started on a free loopback port), then run pytest with the plugin over the live cases.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from conformance.contract.spec import Contract, load_contract
from conformance.errors import ConfigError
from conformance.live.console import closing_lines
from conformance.live.items import RUN_KEY
from conformance.live.live_cases import bundled_cases_dir, known_check_ids
from conformance.live.report_plugin import REPORT_PLUGIN
from conformance.live.runner import DEFAULT_WORKERS, EXIT_INTERRUPTED, LiveRun, ReportOptions, RunOptions, no_verdict
from conformance.live.target import TargetConfig, config_from_mapping, load_target
from conformance.report.baseline import BaselineDays, baseline_to_apply
from conformance.report.markdown import github_annotations
from conformance.report.summary import SUMMARY, ReportFolder, command_line
from conformance.report.writers import ALL, write_baseline


@dataclass(frozen=True)
class RunRequest:
    config: str | None = None
    base_url: str | None = None
    profile: str = "ci"
    seed: int = 0
    strict: bool = False
    workers: int | None = None  # None: DEFAULT_WORKERS
    spec: str | None = None
    faults: Sequence[str] = ()  # only for the bundled reference deployment
    report_dir: str | None = None
    baseline: str | None = None  # a TOML file of accepted failures
    baseline_update: str | None = None  # the baseline file to write after the verdict (--baseline-update)
    baseline_days: BaselineDays = BaselineDays()
    annotations: str = "none"  # "github": one ::error / ::warning line per failing check on stdout
    extra_pytest_args: Sequence[str] = field(default_factory=tuple)

    def reproduction(self) -> list[str]:
        """The arguments of a `run` that re-runs this judgement, whatever gave the options (flags,
        HEMS_CONFORMANCE_* variables, defaults): the target, profile, seed, strictness, spec, faults, baseline
        and pytest arguments, never where the reports go. Files as `command_line` names them."""
        argv = ["run", *(["--config", self.config] if self.config else []),
                *(["--base-url", self.base_url] if self.base_url else []),
                "--profile", self.profile, "--seed", str(self.seed), *(["--strict"] if self.strict else []),
                *(["--workers", str(self.workers)] if self.workers is not None else []),
                *(["--spec", self.spec] if self.spec else [])]
        argv += [part for fault in self.faults for part in ("--fault", fault)]
        argv += ["--baseline", self.baseline] if self.baseline else []
        return argv + (["--", *self.extra_pytest_args] if self.extra_pytest_args else [])


@contextlib.contextmanager
def _reference_target(seed: int, faults: Sequence[str], default_token_url: str) -> Iterator[TargetConfig]:
    """Start the bundled reference deployment and yield its target configuration (in memory, never on disk)."""
    from conformance.reference.dataset import build_fleet
    from conformance.reference.faults import Faults
    from conformance.reference.server import Deployment, start_in_thread

    deployment = Deployment(build_fleet(seed), Faults(faults))
    with start_in_thread(deployment) as url:
        yield config_from_mapping(deployment.target_config(url), default_token_url=default_token_url,
                                  source="the bundled reference deployment")


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
    """Read and validate the configuration once (exit 2 before any request), then run the live cases under
    pytest: the loaded run reaches the plugin through pytest's stash, not through argv."""
    if request.faults and request.config:
        raise ConfigError("--fault applies to the bundled reference deployment only (drop --config)")
    if request.base_url and not request.config:
        raise ConfigError("--base-url needs --config (the bundled reference deployment picks its own port)")
    contract = load_contract(request.spec)
    baseline = baseline_to_apply(request.baseline, request.baseline_update, known_check_ids())
    options = RunOptions(profile=request.profile, seed=request.seed, strict=request.strict,
                         workers=max(1, request.workers or DEFAULT_WORKERS), baseline=baseline,
                         baseline_days=request.baseline_days, record_failures=bool(request.baseline_update))
    if request.config:
        target = load_target(request.config, default_token_url=contract.token_url)
        target = target.with_base_url(request.base_url) if request.base_url else target
        context: contextlib.AbstractContextManager[TargetConfig] = contextlib.nullcontext(target)
    else:
        context = _reference_target(request.seed, request.faults, contract.token_url)
    folder = ReportFolder.create(request.report_dir).started(ALL)
    options = replace(options, reports=ReportOptions(folder.path, command_line(request.reproduction()), page=True))
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_cache_dir() / "hypothesis"))
    try:
        code, handover = _pytest_session(request, context, contract, options, folder)
    except KeyboardInterrupt:
        folder.interrupted_early()
        raise
    run = handover.run
    if run.verdict is None:  # the run never started: pytest said why
        exit_code = no_verdict(code)
        if exit_code == EXIT_INTERRUPTED:
            folder.interrupted_early()  # pytest stopped before its session reached the report plugin
        folder.publish()
        for line in _annotations(folder, run) if request.annotations == "github" else ():
            print(line, flush=True)
        return exit_code
    folder.publish()
    annotated = _annotations(folder, run) if request.annotations == "github" else []
    written = _update_baseline(request, run)
    for line in closing_lines(run, summary=handover.summary, folder=folder.path, annotations=annotated,
                              written=written):
        print(line, flush=True)
    return run.verdict


def _update_baseline(request: RunRequest, run: LiveRun) -> list[str]:
    """--baseline-update FILE, once the run reached a verdict: the line that says what was written (or why not)."""
    if not request.baseline_update or run.ledger.acceptance is None:
        return []
    if run.verdict not in (0, 1):
        return [f"hems-conformance: baseline: {request.baseline_update} not updated: the run reached no verdict"]
    update = run.ledger.acceptance.updated(run.ledger.records.values(), run.options.strict,
                                           expiry_days=request.baseline_days.expiry)
    return [write_baseline(request.baseline_update, update)]


def _pytest_session(request: RunRequest, context: contextlib.AbstractContextManager[TargetConfig],
                    contract: Contract, options: RunOptions, folder: ReportFolder) -> tuple[int, _Handover]:
    """Start the target if it is the bundled one, and run the live cases under pytest with the plugin."""
    with context as target:
        # the caller's pytest config stays out, and so does pytest's console: `run` prints its own
        args = [str(bundled_cases_dir()), "-p", "no:cacheprovider", "-p", "no:terminal", "--assert=plain",
                "-c", os.devnull, "--rootdir", str(Path.cwd())]
        args += [*request.extra_pytest_args]  # junit.xml is the report plugin's, as every other report
        handover = _Handover(LiveRun(target, contract, options))
        with _without_pytest_environment():
            return int(pytest.main(args, plugins=[handover])), handover


def _annotations(folder: ReportFolder, run: LiveRun) -> list[str]:
    """GitHub workflow annotations for the failing checks of the summary.json just written."""
    try:
        summary = json.loads(folder.file(SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # no summary (pytest stopped first): the exit code speaks
    return github_annotations(summary, run.redactor)


class _Handover:
    """Hands the loaded run to the plugin, and takes its summary back for the console. The exit code is the
    run's own (`LiveRun.verdict`), so pytest's (3 is its INTERNAL_ERROR) cannot pose as ours."""

    def __init__(self, run: LiveRun) -> None:
        self.run = run
        self.summary: dict[str, Any] = {}  # the run's summary.json, once the session finished

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[RUN_KEY] = self.run

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        reporter = session.config.pluginmanager.get_plugin(REPORT_PLUGIN)  # None if `-p no:` blocked its name
        self.summary = reporter.report.summary() if reporter is not None else {}
