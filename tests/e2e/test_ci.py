"""The gate where teams run it: the composite action's shell steps run locally as GitHub would run them, the
action and the GitLab template validated as YAML, the example workflow of docs/ci.md against the action,
environment fallbacks, the pytest plugin's ini settings, and `run -- PYTEST_ARGS`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gate_support import served

from conformance.cli import build_parser, main
from conformance.live.live_cases import bundled_cases_dir

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
GITLAB = ROOT / "ci" / "gitlab" / "hems-conformance.yml"
CI_DOC = ROOT / "docs" / "ci.md"
RUN_OPTIONS = ("config", "base-url", "profile", "strict", "seed", "baseline", "report-dir")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def test_action_yml_is_a_composite_action_with_the_inputs_teams_need():
    doc = action()
    assert doc["name"] and doc["description"] and doc["runs"]["using"] == "composite"
    assert set(RUN_OPTIONS) | {"python-version", "version"} <= set(doc["inputs"])
    assert all(spec.get("description") and "default" in spec for spec in doc["inputs"].values())
    assert set(doc["outputs"]) == {"exit-code", "report-dir"}
    steps = doc["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and upload["with"]["path"] == "${{ inputs.report-dir }}"
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash" and step.get("id")
            assert "${{" not in step["run"], "expressions go through env:, never into the script (injection)"
            syntax = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True, timeout=30)
            assert syntax.returncode == 0, syntax.stderr
    run_step = next(s for s in steps if s.get("id") == "run")
    env = run_step["env"]
    for name in RUN_OPTIONS:  # each input reaches `run` through its environment fallback
        assert env[f"HEMS_CONFORMANCE_{name.replace('-', '_').upper()}"] == f"${{{{ inputs.{name} }}}}"


def test_the_gitlab_template_is_an_includable_job_with_junit_code_quality_and_an_exposed_html_report():
    doc = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    job = doc["hems-conformance"]
    assert job["stage"] and job["image"].startswith("python:")
    assert any(line.endswith("hems-conformance run") for line in job["script"])
    artifacts = job["artifacts"]
    folder = job["variables"]["HEMS_CONFORMANCE_REPORT_DIR"]
    assert artifacts["when"] == "always" and artifacts["expose_as"]
    assert artifacts["reports"]["junit"] == f"{folder}/junit.xml"
    assert artifacts["reports"]["codequality"] == f"{folder}/gl-code-quality-report.json"
    assert f"{folder}/report.html" in artifacts["paths"] and all("$" not in p for p in artifacts["paths"])


def _yaml_blocks(text: str) -> list[dict]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_the_example_workflow_in_docs_ci_md_uses_only_inputs_and_outputs_the_action_has():
    doc = action()
    workflow = next(b for b in _yaml_blocks(CI_DOC.read_text(encoding="utf-8")) if "jobs" in b)
    assert workflow[True] and workflow["jobs"]  # YAML 1.1 reads the key `on` as true
    [job] = workflow["jobs"].values()
    [gate] = [s for s in job["steps"] if "hems-conformance@" in s.get("uses", "")]
    assert set(gate["with"]) <= set(doc["inputs"]) and gate["id"]
    for used in re.findall(rf"steps\.{gate['id']}\.outputs\.([\w-]+)", yaml.safe_dump(workflow)):
        assert used in doc["outputs"]
    gitlab = next(b for b in _yaml_blocks(CI_DOC.read_text(encoding="utf-8")) if "include" in b)
    assert gitlab["include"][0]["remote"].endswith("/ci/gitlab/hems-conformance.yml")
    for line in CI_DOC.read_text(encoding="utf-8").splitlines():  # every variable in the table is a real option
        match = re.match(r"\| `(HEMS_CONFORMANCE_\w+)` \| `(--[\w-]+)`", line)
        if match:
            assert match.group(2) in _run_help(), line


def _run_help() -> str:
    parser = build_parser()
    return next(a for a in parser._subparsers._group_actions if a.dest == "command").choices["run"].format_help()


def _expand(value: str, context: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: context[m.group(1)], value)


def run_action_step(step_id: str, tmp_path: Path, inputs: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """One `run:` step of action.yml, as GitHub runs it: bash -eo pipefail, its env with the expressions filled in,
    GITHUB_ACTIONS=true and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY in temp files. The install step is stood in for by
    this test's own environment (its bin directory)."""
    doc = action()
    step = next(s for s in doc["runs"]["steps"] if s.get("id") == step_id)
    context = {f"inputs.{name}": str(spec["default"]) for name, spec in doc["inputs"].items()}
    context |= {f"inputs.{name}": value for name, value in inputs.items()}
    context |= {"steps.install.outputs.bin": str(Path(sys.executable).parent), "github.action_path": str(ROOT),
                "runner.temp": str(tmp_path)}
    script = tmp_path / f"{step_id}.sh"
    script.write_text(step["run"], encoding="utf-8")
    output = tmp_path / "github-output"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEMS_CONFORMANCE_", "GITHUB_", "PYTEST_"))}
    env |= {name: _expand(str(value), context) for name, value in step["env"].items()}
    env |= {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary")}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    return result.returncode, result.stdout + result.stderr, outputs


@pytest.mark.parametrize(("faults", "code"), [(("counters-off-by-one",), 1), ((), 0)])
def test_the_action_runs_the_gate_writes_the_job_summary_and_passes_the_exit_code(tmp_path, faults, code):
    with served(tmp_path / "target.toml", *faults) as config:
        returned, output, outputs = run_action_step("run", tmp_path, {"config": str(config), "profile": "quick"})
    assert returned == code, output
    assert outputs == {"exit-code": str(code), "report-dir": "hems-conformance-reports"}
    summary = (tmp_path / "step-summary").read_text(encoding="utf-8")
    verdict = "non-conformant" if code else "conformant"
    assert summary.startswith(f"## hems-conformance run: {verdict} (exit {code})")
    assert summary.strip() == (tmp_path / "hems-conformance-reports" / "summary.md").read_text(encoding="utf-8").strip()
    errors = [line for line in output.splitlines() if line.startswith("::error")]
    if code:
        assert "`CNT-002` MUST" in summary and errors and errors[0].startswith("::error title=CNT-002::CNT-002 MUST: ")
    else:
        assert errors == [] and "### Failing checks" not in summary
    assert "secret-a" not in output + summary  # the fixed client secret of reference_support


def test_the_action_writes_a_job_summary_line_when_the_run_writes_no_report(tmp_path):
    returned, output, outputs = run_action_step("run", tmp_path, {"config": str(tmp_path / "missing.toml")})
    assert returned == 2 and outputs["exit-code"] == "2"
    assert (tmp_path / "step-summary").read_text(encoding="utf-8").startswith("## hems-conformance: no report (exit 2)")


# --- environment fallbacks ---


def test_every_run_option_has_an_environment_fallback_named_in_help():
    text = " ".join(_run_help().split())
    for option in ("config", "base-url", "profile", "seed", "strict", "workers", "spec", "report-dir", "fault",
                   "baseline", "annotations"):
        assert f"[env HEMS_CONFORMANCE_{option.replace('-', '_').upper()}]" in text, option
    assert "-- PYTEST_ARGS" in text


def test_the_environment_fills_options_and_the_command_line_wins(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEMS_CONFORMANCE_PROFILE", "quick")
    monkeypatch.setenv("HEMS_CONFORMANCE_FAULT", "counters-off-by-one, missing-www-authenticate")
    monkeypatch.setenv("HEMS_CONFORMANCE_REPORT_DIR", "from-env")
    monkeypatch.setenv("HEMS_CONFORMANCE_STRICT", "true")
    monkeypatch.setenv("HEMS_CONFORMANCE_SEED", "")  # empty: unset
    assert main(["run", "--report-dir", "from-cli"]) == 1
    capsys.readouterr()
    meta = json.loads((tmp_path / "from-cli" / "summary.json").read_text(encoding="utf-8"))["metadata"]
    assert not (tmp_path / "from-env").exists()
    assert (meta["profile"], meta["strict"], meta["seed"]) == ("quick", True, 0)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("HEMS_CONFORMANCE_PROFILE", "fast", "HEMS_CONFORMANCE_PROFILE: invalid choice 'fast'"),
    ("HEMS_CONFORMANCE_SEED", "-1", "HEMS_CONFORMANCE_SEED: expected an integer from 0"),
    ("HEMS_CONFORMANCE_STRICT", "maybe", "HEMS_CONFORMANCE_STRICT: expected one of 1, true"),
    ("HEMS_CONFORMANCE_WORKERS", "two", "HEMS_CONFORMANCE_WORKERS: invalid literal"),
])
def test_a_bad_environment_value_is_exit_2_naming_the_variable(tmp_path, capsys, monkeypatch, name, value, says):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hems-conformance: error: ") and says in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_pytest_plugin_reads_its_settings_from_the_ini_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "baseline.toml").write_text('[[accept]]\ncheck = "CNT-002"\nreason = "known"\nexpires = 2099-01-01\n',
                                            encoding="utf-8")
    with served(tmp_path / "target.toml", "counters-off-by-one") as config:
        (tmp_path / "pytest.ini").write_text(f"[pytest]\nhems_target = {config}\nhems_profile = quick\n"
                                             f"hems_baseline = baseline.toml\n", encoding="utf-8")
        code = pytest.main([str(bundled_cases_dir()), "-p", "no:cacheprovider", "-q", "-c", str(tmp_path / "pytest.ini"),
                            "--rootdir", str(tmp_path), "--hems-report-dir", "r"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["metadata"]["profile"] == "quick" and summary["baseline"]["accepted"][0]["check"] == "CNT-002"


# --- pass-through ---


def test_arguments_after_a_double_dash_reach_the_pytest_session(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--profile", "quick", "--report-dir", "r", "--", "--junitxml", "pytest.xml",
                 "-o", "junit_suite_name=gate"]) == 0
    capsys.readouterr()
    assert '<testsuite name="gate"' in (tmp_path / "pytest.xml").read_text(encoding="utf-8")  # pytest's own, as asked
    assert '<testsuite name="hems-conformance"' in (tmp_path / "r" / "junit.xml").read_text(encoding="utf-8")  # ours
    with pytest.raises(SystemExit) as refused:  # without --: not an option of run
        main(["run", "--profile", "quick", "--report-dir", "r", "--alluredir", "x"])
    assert refused.value.code == 2 and "unrecognized arguments: --alluredir" in capsys.readouterr().err
