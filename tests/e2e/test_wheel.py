"""The wheel as a partner installs it: it carries the spec, the live cases and their schemas and `py.typed`, and
every face works from it (the command, the pytest plugin once, `-p no:hems_conformance`, the Schemathesis hook).

The wheel goes into a fresh venv without its dependencies, which it borrows from this interpreter's
site-packages through a `.pth` line; the project's own editable install is not seen there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    [built_wheel] = work.glob("hems_conformance-*.whl")
    return built_wheel


@pytest.fixture(scope="module")
def installed(wheel: Path) -> Path:
    """The `bin` folder of a fresh venv holding only the built wheel (and a path to the dependencies)."""
    env_dir = wheel.parent / "venv"
    venv.create(env_dir, with_pip=False)
    site = Path(subprocess.run([str(env_dir / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                                "--no-deps", "-q", str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return env_dir / "bin"


def run_in(bin_dir: Path, cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SCHEMATHESIS_"))}
    return subprocess.run([str(bin_dir / "python"), *argv], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=clean | env, check=False)


def test_the_wheel_is_typed_and_holds_no_removed_alias(wheel):
    """PEP 561: type checkers read the package's hints only if `py.typed` ships beside them (CHANGELOG.md:
    the aliases conformance.loop and conformance.mutations are gone)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "conformance/py.typed" in names and "conformance/strategies.py" in names
    assert not names & {"conformance/loop.py", "conformance/mutations.py"}


def test_the_wheel_carries_the_spec_and_the_live_cases(installed, tmp_path):
    probe = ("import json, conformance\n"
             "from conformance.contract.spec import load_contract\n"
             "from conformance.live.registry import load_checks\n"
             "from conformance.report.summary import SUMMARY_SCHEMA\n"
             "print(json.dumps([conformance.__file__, str(load_contract().path), len(load_checks()),\n"
             "                  json.loads(SUMMARY_SCHEMA.read_text())['title']]))")
    result = run_in(installed, tmp_path, "-c", probe)
    assert result.returncode == 0, result.stderr
    package, spec, checks, schema = json.loads(result.stdout)
    assert not package.startswith(str(ROOT)) and "_spec" in spec and checks >= 20
    assert schema == "hems-conformance-summary/1"  # summary.json's JSON Schema ships with the package


def test_check_runs_from_the_wheel(installed, tmp_path):
    result = run_in(installed, tmp_path, "-m", "conformance", "check", str(ROOT / "cases/payloads/base"),
                    "--report-dir", str(tmp_path / "reports"))
    assert result.returncode == 0, result.stderr
    assert "conformant" in result.stdout


def test_the_pytest_plugin_loads_once_and_can_be_turned_off(installed, tmp_path):
    on = run_in(installed, tmp_path, "-m", "pytest", "--help")
    off = run_in(installed, tmp_path, "-m", "pytest", "-p", "no:hems_conformance", "--help")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert on.stdout.count("--target=TOML") == 1
    assert "--target" not in off.stdout


def test_the_schemathesis_hook_registers_the_catalogue(installed, tmp_path):
    result = run_in(installed, tmp_path, "-m", "schemathesis.cli", "run", "--help",
                    SCHEMATHESIS_HOOKS="conformance.schemathesis_hooks")
    assert result.returncode == 0, result.stderr
    assert "hems_catalogue" in result.stdout


def test_the_documented_pytest_command_runs_the_installed_live_cases_from_an_empty_folder(installed, tmp_path):
    from conformance.reference.dataset import build_fleet
    from conformance.reference.server import Deployment, start_in_thread, write_target_config

    deployment = Deployment(build_fleet(0))
    with start_in_thread(deployment) as url:
        write_target_config(str(tmp_path / "conformance.toml"), deployment.target_config(url))
        result = run_in(installed, tmp_path, "-m", "pytest", "--target", "conformance.toml", "--hems-profile", "quick",
                        "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "hems-conformance: conformant" in result.stdout and "passed" in result.stdout
