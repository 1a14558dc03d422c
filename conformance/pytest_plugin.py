"""The pytest plugin face: `pytest --target conformance.toml` judges a live deployment.

Every live case in `cases/live/*.json` and every catalogue invariant becomes one test item, so JUnit XML
and pytest-html report per case. The installed package's live cases are collected unless the arguments
name a folder of live cases (`pytest cases/ --target ...` in a checkout). Procedures run first, then the
checks judged on every response, then the catalogue (which sums up all the 200s the run received).
`hems-conformance run` is this plugin.
The hooks are here; the items and the run they share are in `conformance.live`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

import pytest

from conformance.cli import seed
from conformance.contract.spec import load_contract
from conformance.errors import UsageError
from conformance.live import report_plugin as reporting
from conformance.live.console import closing_lines
from conformance.live.items import RUN_KEY, LiveCasesDir
from conformance.live.live_cases import bundled_cases_dir, known_check_ids
from conformance.live.runner import DEFAULT_WORKERS, PROFILES, LiveRun, RunOptions
from conformance.live.target import load_target
from conformance.report.baseline import load_baseline

_ORDER = {"procedure": 0, "response_check": 1, "catalogue": 2, "last": 3}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hems-conformance", "judge a live HEMS session endpoint")
    group.addoption("--target", metavar="TOML", help="target configuration; collects the bundled live cases (or the "
                    "live folder given) [ini hems_target]")
    group.addoption("--hems-base-url", metavar="URL", help="override base_url of --target [ini hems_base_url]")
    group.addoption("--hems-profile", choices=PROFILES,
                    help="requests generated, positive + negative: quick 25 + 25, ci 120 + 120, thorough 1000 + 1000 "
                    "(default: ci) [ini hems_profile]")
    group.addoption("--hems-seed", type=seed, help="generation seed: same seed, same requests [ini hems_seed]")
    group.addoption("--hems-strict", action="store_true", help="SHOULD findings fail the verdict too [ini hems_strict]")
    group.addoption("--hems-workers", type=int, help="requests in flight at once, halved by each 429 (default: 16) [ini hems_workers]")
    group.addoption("--hems-spec", metavar="FILE", help="judge against this OpenAPI document [ini hems_spec]")
    group.addoption("--hems-baseline", metavar="FILE", help="TOML file of accepted failures [ini hems_baseline]")
    for name, help_text in _INI.items():
        kind: Literal["bool", "string"] = "bool" if name == "hems_strict" else "string"
        parser.addini(name, help_text, type=kind)
    reporting.add_options(group)


# What pytest.ini / pyproject.toml ([tool.pytest.ini_options]) may set, the pytest-base-url way: the same values
# as `run`'s options and HEMS_CONFORMANCE_* variables; the command line wins.
_INI = {"hems_target": "target configuration (TOML) of the live cases", "hems_base_url": "override base_url",
        "hems_profile": "example budget: quick, ci or thorough", "hems_seed": "generation seed",
        "hems_strict": "SHOULD findings fail the verdict too", "hems_workers": "requests in flight at once",
        "hems_spec": "judge against this OpenAPI document", "hems_baseline": "TOML file of accepted failures"}


def _setting(config: pytest.Config, name: str, option: str | None = None) -> Any:
    """A setting from the command line, else from the ini file (None when neither sets it)."""
    value = config.getoption(option or name, default=None)
    if value is None or value is False:
        ini = config.getini(name)
        value = ini if ini not in ("", [], None) else value
    return value


def _enabled(config: pytest.Config) -> bool:
    """A run was handed over by `hems-conformance run`, or `--target` (or ini hems_target) names a config file."""
    return RUN_KEY in config.stash or bool(_setting(config, "hems_target", "target"))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    if RUN_KEY not in config.stash:
        config.stash[RUN_KEY] = _run_from_options(config)
        if not any(_names_live_cases(arg) for arg in config.args):
            config.args.append(str(bundled_cases_dir()))
    run = config.stash[RUN_KEY]
    if run.config.tenant.auth.grant == "none":
        run.ledger.note("auth.grant = none: the authentication checks are skipped")
    reporting.register(config, run)


def _names_live_cases(arg: str) -> bool:
    """An argument that is (or holds, or lies in) a `live` folder of case files."""
    path = Path(arg.split("::")[0])
    return path.name == "live" or path.parent.name == "live" or (path / "live").is_dir()


def _run_from_options(config: pytest.Config) -> LiveRun:
    """`pytest --target FILE`: the run from the file and the --hems-* options (or the ini file's hems_*)."""
    try:
        contract = load_contract(_setting(config, "hems_spec"))
        target = load_target(_setting(config, "hems_target", "target"), default_token_url=contract.token_url)
        if _setting(config, "hems_base_url"):
            target = target.with_base_url(_setting(config, "hems_base_url"))
        baseline = _setting(config, "hems_baseline")
        options = RunOptions(profile=_choice(_setting(config, "hems_profile") or "ci"),
                             seed=_parsed("hems_seed", seed, _setting(config, "hems_seed"), 0),
                             strict=bool(_setting(config, "hems_strict")),
                             workers=max(1, _parsed("hems_workers", int, _setting(config, "hems_workers"),
                                                    DEFAULT_WORKERS)),
                             baseline=load_baseline(baseline).known_checks(known_check_ids()) if baseline else None)
    except UsageError as exc:  # one line from pytest, not an INTERNALERROR traceback
        raise pytest.UsageError(str(exc)) from None
    return LiveRun(target, contract, options)


def _choice(profile: str) -> str:
    if profile not in PROFILES:
        raise UsageError(f"hems_profile: expected one of {', '.join(PROFILES)}, got {profile!r}")
    return profile


def _parsed(name: str, parse: Any, value: Any, default: int) -> int:
    """An ini value (text) or an option (already parsed) as an integer; UsageError naming it otherwise."""
    if value is None:
        return default
    try:
        return parse(value) if isinstance(value, str) else value
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise UsageError(f"{name}: {exc}") from None


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
    """The run's exit code replaces pytest's, first, so the reports and the console all state the same one;
    where pytest itself stopped the session (usage error, nothing collected) its exit code stands."""
    run = session.config.stash.get(RUN_KEY, None)
    code = run.conclude(int(session.exitstatus)) if run is not None else None
    if code is not None:
        session.exitstatus = code


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The run's closing lines (see conformance.live.console), the verdict last: what CI logs show first."""
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    plugin = config.pluginmanager.get_plugin(reporting.REPORT_PLUGIN)
    folder = plugin.report.folder if plugin is not None else None
    *lines, verdict = closing_lines(run, folder=folder, pytest_status=int(exitstatus))
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(verdict, bold=True)


