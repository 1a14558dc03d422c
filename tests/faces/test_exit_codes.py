"""The README's exit-code table is true: every row is walked with targets and inputs that must end in its code,
and each scenario's reason is named in the row (issue 12: the environment, hostile targets and bad input never
turn into the wrong code)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_support import CLIENT, drip, head, hostile, target_toml, terminated_run

from conformance.cli import main
from conformance.live.launch import RunRequest, run

README = Path(__file__).resolve().parents[2] / "README.md"


def table() -> dict[int, str]:
    section = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.*) \|$", section, re.MULTILINE)}


def cli(*argv: str) -> Callable[[Path], int]:
    return lambda tmp_path: main([*argv, "--report-dir", str(tmp_path / "r")] if argv[0] == "run" else list(argv))


def against(answer, *argv: str, auth=None, **settings) -> Callable[[Path], int]:
    """`run` against a hostile loopback server answering every request with `answer`."""

    def scenario(tmp_path: Path) -> int:
        with hostile(answer) as url:
            (tmp_path / "t.toml").write_text(target_toml(url, auth, **settings))
            return main(["run", "--config", str(tmp_path / "t.toml"), "--profile", "quick", "--report-dir",
                         str(tmp_path / "r"), *argv])

    return scenario


def config_text(text: bytes) -> Callable[[Path], int]:
    def scenario(tmp_path: Path) -> int:
        (tmp_path / "t.toml").write_bytes(text)
        return main(["run", "--config", str(tmp_path / "t.toml")])

    return scenario


def token_then(status: int, **headers: str):
    """A token endpoint (POST) that issues tokens, and sessions (GET) answered with `status`."""

    def answer(handler) -> None:
        if handler.command == "POST":
            body = json.dumps({"access_token": "a-fresh-token-0123456789", "token_type": "Bearer"}).encode()
        else:
            body = b'{"detail": "no"}'
        head(handler, 200 if handler.command == "POST" else status, Content_Length=str(len(body)), **headers)
        handler.wfile.write(body)

    return answer


def rate_limited(handler) -> None:
    head(handler, 429, Retry_After="0", Content_Length="0")


def huge_token(handler) -> None:
    body = json.dumps({"access_token": "t" * (100 * 1024), "token_type": "Bearer"}).encode()
    head(handler, Content_Length=str(len(body)))
    handler.wfile.write(body)


def only_some_checks(tmp_path: Path) -> int:
    return run(RunRequest(profile="quick", report_dir=str(tmp_path / "r"), extra_pytest_args=("-k", "TOK")))


CLOSED_PORT = "http://127.0.0.1:9"
SCENARIOS: dict[int, dict[str, tuple[str, Callable[[Path], int]]]] = {
    # code: {scenario: (the words of the README row that name it, how to get there)}
    0: {"the reference deployment": ("conformant", cli("run", "--profile", "quick"))},
    1: {"a cross-tenant leak": ("non-conformant", cli("run", "--fault", "cross-tenant-read", "--profile", "quick"))},
    2: {
        "a seed out of range": ("seed out of range", cli("run", "--seed", "-1")),
        "timeout_s = nan": ("a number", config_text(target_toml(CLOSED_PORT, timeout_s=float("nan")).encode())),
        "a port above 65535": ("port", config_text(target_toml("http://127.0.0.1:65536").encode())),
        "a config that is not UTF-8": ("not UTF-8", config_text(b'base_url = "\xff"\n')),
        "a config nested too deeply": ("nested too deeply", config_text(b"a = " + b"[" * 10**5 + b"]" * 10**5)),
        "a payload that is not UTF-8": ("not UTF-8", lambda tmp_path: main(["check", str(_write(tmp_path, b"\xff",
                                                                                      "p.json"))])),
        "credentials the target refuses": ("credentials the target refuses",
                                           against(token_then(401, WWW_Authenticate="Bearer"))),
        "checks deselected": ("deselected", only_some_checks),
    },
    3: {
        "a target that is down": ("down", lambda tmp_path: main(
            ["run", "--config", str(_write(tmp_path, target_toml(CLOSED_PORT))), "--report-dir", str(tmp_path / "r")])),
        "a dripping target": ("no complete answer within `timeout_s`", against(drip(every_s=0.3), timeout_s=1)),
        "the run reaching max_run_s": ("`max_run_s`", against(drip(every_s=0.3), timeout_s=60, max_run_s=1)),
        "a token over 64 KiB": ("a token over 64 KiB", against(huge_token, auth=CLIENT)),
        "fresh tokens refused": ("fresh tokens refused", against(token_then(401), auth=CLIENT)),
        "a rate-limited token endpoint": ("rate limited past the retry budget",
                                          against(rate_limited, auth=CLIENT, max_retries=1)),
    },
    130: {"SIGTERM": ("SIGTERM", lambda tmp_path: terminated_run(tmp_path, tmp_path / "r")[0])},
}


def _write(tmp_path: Path, content: str | bytes, name: str = "t.toml") -> Path:
    (tmp_path / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return tmp_path / name


def test_every_row_of_the_table_is_walked_and_names_its_scenarios():
    rows = table()
    assert sorted(rows) == sorted(SCENARIOS)
    for code, scenarios in SCENARIOS.items():
        for name, (words, _) in scenarios.items():
            assert words in rows[code], f"exit {code} ({name}): the README row does not say {words!r}"


@pytest.mark.parametrize(("code", "name"), [(code, name) for code, scenarios in SCENARIOS.items() for name in scenarios])
@pytest.mark.e2e
def test_each_scenario_ends_in_its_exit_code_in_one_line(tmp_path, capsys, monkeypatch, code, name):
    monkeypatch.chdir(tmp_path)
    try:
        got = SCENARIOS[code][name][1](tmp_path)
    except SystemExit as exit_:  # argparse's own way out
        got = exit_.code
    assert got == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code in (2, 3) and "hems-conformance: " in err:
        assert len([line for line in err.splitlines() if line.startswith("hems-conformance: ")]) == 1, err


def _every_parser() -> list:
    from conformance.cli import _parsers, build_parser

    return list(_parsers(build_parser()))


@pytest.mark.parametrize("parser", _every_parser(), ids=lambda parser: parser.prog)
def test_every_help_states_the_exit_codes_and_explains_every_option(parser):
    """Any subcommand, this one's or a later one's: its --help ends with its exit codes, and every option and
    argument says what it is for."""
    text = " ".join(parser.format_help().split())
    assert re.search(r"Exit codes: (see each subcommand's --help|0 [^.]+, 2 [^.]+)\.$", text), text[-300:]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):  # each subcommand's line in the list
            assert all(choice.help for choice in action._choices_actions), parser.prog
        else:
            assert action.help and action.help != argparse.SUPPRESS, (parser.prog, action.option_strings or action.dest)
