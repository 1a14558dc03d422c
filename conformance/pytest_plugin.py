"""The pytest plugin face: `pytest cases/ --target conformance.toml` judges a live deployment.

Every live case in `cases/live/*.json` and every catalogue invariant becomes one test item, so JUnit XML
and pytest-html report per case. Procedures run first, then the checks judged on every response, then
the catalogue (which sums up all the 200s the run received). `hems-conformance run` is this plugin.
The hooks are here; the items and the run they share are in `conformance.live`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.cli import seed
from conformance.contract.spec import load_contract
from conformance.errors import UsageError
from conformance.live import report_plugin as reporting
from conformance.live.items import RUN_KEY, VERDICT_KEY, LiveCasesDir, unexercised_lines, verdict_line
from conformance.live.runner import PROFILES, LiveRun, RunOptions
from conformance.live.target import load_target

_ORDER = {"procedure": 0, "response_check": 1, "catalogue": 2, "last": 3}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hems-conformance", "judge a live HEMS session endpoint")
    group.addoption("--target", metavar="TOML", help="target configuration; turns on collection of cases/live")
    group.addoption("--hems-base-url", metavar="URL", help="override base_url of --target")
    group.addoption("--hems-profile", choices=PROFILES, default="ci", help="example budget (default: ci)")
    group.addoption("--hems-seed", type=seed, default=0, help="generation seed: same seed, same requests")
    group.addoption("--hems-strict", action="store_true", help="SHOULD findings fail the verdict too")
    group.addoption("--hems-workers", type=int, default=1, help="concurrent requests while fuzzing")
    group.addoption("--hems-spec", metavar="FILE", help="judge against this OpenAPI document")
    reporting.add_options(group)


def _enabled(config: pytest.Config) -> bool:
    """A run was handed over by `hems-conformance run`, or `--target` names a config file."""
    return RUN_KEY in config.stash or bool(config.getoption("target", default=None))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    run = config.stash.get(RUN_KEY, None) or _run_from_options(config)
    config.stash[RUN_KEY] = run
    if run.config.tenant.auth.grant == "none":
        run.ledger.note("auth.grant = none: the authentication checks are skipped")
    reporting.register(config, run)


def _run_from_options(config: pytest.Config) -> LiveRun:
    """`pytest --target FILE`: the run from the file and the --hems-* options."""
    try:
        contract = load_contract(config.getoption("hems_spec"))
        target = load_target(config.getoption("target"), default_token_url=contract.token_url)
        if config.getoption("hems_base_url"):
            target = target.with_base_url(config.getoption("hems_base_url"))
    except UsageError as exc:  # one line from pytest, not an INTERNALERROR traceback
        raise pytest.UsageError(str(exc)) from None
    options = RunOptions(profile=config.getoption("hems_profile"), seed=config.getoption("hems_seed"),
                         strict=config.getoption("hems_strict"), workers=max(1, config.getoption("hems_workers")))
    return LiveRun(target, contract, options)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.close()


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A `live` folder of case files is collected as one run: its cases, then the catalogue."""
    if _enabled(parent.config) and path.name == "live":
        return LiveCasesDir.from_parent(parent, path=path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Procedures first, then per-response checks, then the catalogue: each judges what came before."""
    items.sort(key=lambda item: _ORDER.get(getattr(item, "stage", ""), -1))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's exit code replaces pytest's, first, so the reports and the console all state the same one."""
    run = session.config.stash.get(RUN_KEY, None)
    if run is not None:
        session.exitstatus = run.exit_code(int(session.exitstatus))
        session.config.stash[VERDICT_KEY] = session.exitstatus


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The verdict in one line, last thing on the console: what CI logs show first."""
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    for note in run.ledger.notes:
        terminalreporter.write_line(f"hems-conformance: note: {note}")
    if not run.halted:
        for line in unexercised_lines(run):
            terminalreporter.write_line(f"hems-conformance: {line}")
    terminalreporter.write_line(f"hems-conformance: {verdict_line(run, config.stash.get(VERDICT_KEY, None))}",
                                bold=True)


